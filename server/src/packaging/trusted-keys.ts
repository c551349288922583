import { readFileSync } from "node:fs";
import { readPublicKey, type TrustedKey } from "./signature.js";

/** The official Langgenius public key ships with the daemon, as the Go daemon embeds it. */
const OFFICIAL_KEY_FILE = new URL("./keys/langgenius-official-public-key.pem", import.meta.url);

export const OFFICIAL_KEY_NAME = "langgenius official";

/**
 * loadTrustedKeys returns the official key plus each configured third-party key file. Unlike the Go daemon,
 * which quietly treats an unreadable key as "not verified", a key file that cannot be read or parsed stops the
 * start with its path: an operator who configured a key wants to know it is not in effect.
 */
export function loadTrustedKeys(thirdPartyKeyFiles: readonly string[]): TrustedKey[] {
  const keys = [readPublicKey(readFileSync(OFFICIAL_KEY_FILE), OFFICIAL_KEY_NAME)];
  for (const file of thirdPartyKeyFiles) {
    try {
      keys.push(readPublicKey(readFileSync(file), file));
    } catch (err) {
      throw new Error(
        `THIRD_PARTY_SIGNATURE_VERIFICATION_PUBLIC_KEYS: cannot use ${file}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }
  return keys;
}
