import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import type { PackageArchive, PackageEntry } from "./archive.js";

/** The file a signer appends to say who signed; hashed and signed like every other entry. */
export const VERIFICATION_FILE = ".verification.dify.json";

/** Who vouches for a package: the official key (langgenius), or a third-party key with the category it wrote. */
export type AuthorizedCategory = "langgenius" | "partner" | "community";
export const AUTHORIZED_CATEGORIES: readonly AuthorizedCategory[] = ["langgenius", "partner", "community"];

/** A trusted public key and where it came from, so a verification can say which key vouched. */
export interface TrustedKey {
  readonly name: string;
  readonly key: KeyObject;
}

/** The outcome of checking a package's signature against the trusted keys. */
export type Verification =
  | { readonly verified: true; readonly category: AuthorizedCategory; readonly keyName: string; readonly signedAt: Date }
  | { readonly verified: false; readonly reason: string };

interface SignatureComment {
  readonly signature: Buffer;
  readonly time: number;
}

/**
 * signedMessage is what the Go signer signs: sha256 of every entry's bytes in zip order (names are not
 * included), then the signing time as ASCII decimal seconds.
 */
function signedMessage(entries: readonly PackageEntry[], time: number): Buffer {
  const parts = entries.map((e) => createHash("sha256").update(e.data).digest());
  parts.push(Buffer.from(String(time), "ascii"));
  return Buffer.concat(parts);
}

function parseComment(comment: string): SignatureComment | string {
  if (comment === "") return "the package is not signed (its zip comment is empty)";
  let parsed: unknown;
  try {
    parsed = JSON.parse(comment);
  } catch {
    return "the package's zip comment is not a signature (not JSON)";
  }
  const { signature, time } = (parsed ?? {}) as { signature?: unknown; time?: unknown };
  if (typeof signature !== "string" || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) {
    return "the package's signature is missing or not base64";
  }
  if (typeof time !== "number" || !Number.isSafeInteger(time)) return "the package's signature time is not a whole number";
  return { signature: Buffer.from(signature, "base64"), time };
}

function categoryOf(entries: readonly PackageEntry[]): AuthorizedCategory | string {
  const file = entries.find((e) => e.name === VERIFICATION_FILE);
  // Official packages signed before the verification file existed carry none: they count as langgenius.
  if (!file) return "langgenius";
  try {
    const { authorized_category: category } = JSON.parse(file.data.toString("utf8")) as { authorized_category?: unknown };
    if (AUTHORIZED_CATEGORIES.includes(category as AuthorizedCategory)) return category as AuthorizedCategory;
    return `${VERIFICATION_FILE} names an unknown category ${JSON.stringify(category)}`;
  } catch {
    return `${VERIFICATION_FILE} is not valid JSON`;
  }
}

/**
 * verifyArchive checks the RSA PKCS#1 v1.5 / SHA-256 signature in the zip comment against each trusted key;
 * any key that verifies is enough. A signature that does not verify is a result, not an error: the caller
 * decides whether unverified packages are allowed.
 */
export function verifyArchive(archive: PackageArchive, keys: readonly TrustedKey[]): Verification {
  const comment = parseComment(archive.comment);
  if (typeof comment === "string") return { verified: false, reason: comment };
  const message = signedMessage(archive.entries, comment.time);
  const signer = keys.find((k) => verify("sha256", message, k.key, comment.signature));
  if (!signer) {
    return { verified: false, reason: "the signature does not match the package content with any trusted key" };
  }
  const category = categoryOf(archive.entries);
  if (!AUTHORIZED_CATEGORIES.includes(category as AuthorizedCategory)) return { verified: false, reason: category };
  return { verified: true, category: category as AuthorizedCategory, keyName: signer.name, signedAt: new Date(comment.time * 1000) };
}

/**
 * signEntries returns the entries to write (the originals, plus a verification file naming `category`, minus
 * any earlier one so a re-signed package holds exactly one) and the zip comment that signs them.
 */
export function signEntries(
  entries: readonly PackageEntry[],
  privateKey: KeyObject,
  category: AuthorizedCategory,
  time = Math.floor(Date.now() / 1000),
): { entries: PackageEntry[]; comment: string } {
  const signedEntries = entries.filter((e) => e.name !== VERIFICATION_FILE);
  signedEntries.push({ name: VERIFICATION_FILE, data: Buffer.from(JSON.stringify({ authorized_category: category })) });
  const signature = sign("sha256", signedMessage(signedEntries, time), privateKey);
  // Keys in alphabetical order, as Go's encoding of a map writes them.
  return { entries: signedEntries, comment: JSON.stringify({ signature: signature.toString("base64"), time }) };
}

/** readPublicKey parses a PEM public key (PKCS#1 `RSA PUBLIC KEY`, as the official key, or SPKI) and checks it is RSA. */
export function readPublicKey(pem: string | Buffer, name: string): TrustedKey {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== "rsa") throw new Error(`${name}: not an RSA public key (${key.asymmetricKeyType})`);
  return { name, key };
}

/** readPrivateKey parses a PEM RSA private key (PKCS#1 as `dify signature generate` writes it, or PKCS#8). */
export function readPrivateKey(pem: string | Buffer, name: string): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== "rsa") throw new Error(`${name}: not an RSA private key (${key.asymmetricKeyType})`);
  return key;
}
