import { readFileSync } from "node:fs";
import { readPrivateKey } from "../packaging/signature.js";
import type { SigningKey } from "./types.js";

/**
 * loadSigningKey reads REPACKAGE_SIGNING_KEY at start: a daemon configured to sign must not discover at the
 * first request that it cannot, so an unreadable or malformed key stops the start with the file named.
 */
export function loadSigningKey(file: string): Omit<SigningKey, "category"> {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (err) {
    throw new Error(`REPACKAGE_SIGNING_KEY=${file}: cannot read it (${(err as Error).message})`);
  }
  return { key: readPrivateKey(pem, file), name: file };
}
