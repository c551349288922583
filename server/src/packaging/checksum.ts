import { createHash } from "node:crypto";
import type { PackageEntry } from "./archive.js";

function sha256(data: Buffer | string): Buffer {
  return createHash("sha256").update(data).digest();
}

/**
 * packageChecksum is the Go daemon's package checksum, byte for byte: for each file, sha256 of its path (UTF-8)
 * followed by sha256 of its bytes, concatenated over paths sorted by their UTF-8 bytes, then sha256 of that,
 * as lowercase hex. Byte order, not JS string order: the two differ for characters outside the BMP, and a
 * different order would give a different identifier than the Marketplace's for the same package.
 */
export function packageChecksum(entries: readonly Pick<PackageEntry, "name" | "data">[]): string {
  const named = entries.map((e) => ({ key: Buffer.from(e.name, "utf8"), data: e.data }));
  named.sort((a, b) => Buffer.compare(a.key, b.key));
  const digest = createHash("sha256");
  for (const { key, data } of named) {
    digest.update(sha256(key));
    digest.update(sha256(data));
  }
  return digest.digest("hex");
}
