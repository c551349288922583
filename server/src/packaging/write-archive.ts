import { ZipFile } from "yazl";
import type { PackageEntry } from "./archive.js";

// A fixed timestamp makes the same files produce the same bytes; the checksum ignores times anyway.
const ENTRY_TIME = new Date("2000-01-01T00:00:00Z");

/**
 * writeArchive writes entries, in the order given, as a Deflate zip with `comment` as its archive comment
 * (where a signature goes). No directory entries, as the official packager writes them.
 */
export async function writeArchive(entries: readonly PackageEntry[], comment = ""): Promise<Buffer> {
  const zip = new ZipFile();
  for (const entry of entries) {
    zip.addBuffer(entry.data, entry.name, { mtime: ENTRY_TIME, mode: 0o100644, compress: true });
  }
  zip.end({ comment, forceZip64Format: false });
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
