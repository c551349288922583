import type { Readable } from "node:stream";
import { promisify } from "node:util";
import { crc32, inflateRaw } from "node:zlib";
import { fromBuffer, type Entry, type ZipFile } from "yauzl";
import type { PackageArchive, PackageEntry } from "./archive.js";
import { PackageError } from "./errors.js";

/** The daemon's default MAX_PLUGIN_PACKAGE_SIZE (50 MiB), for the compressed package and its declared content. */
export const DEFAULT_MAX_PACKAGE_BYTES = 50 * 1024 * 1024;
export const DEFAULT_MAX_ENTRIES = 10_000;
export const DEFAULT_MAX_COMPRESSION_RATIO = 200;
export const DEFAULT_MAX_NAME_BYTES = 1024;
// Small files compress absurdly well (a 1 MiB run of spaces is ~1 KiB), so the ratio only counts above this size.
const RATIO_MIN_BYTES = 1024 * 1024;

/** Limits for decodeArchive. The Go daemon enforces only the first two; the others stop hostile archives early. */
export interface DecodeLimits {
  /** Largest package file accepted, in bytes (checked before anything is parsed). */
  readonly maxPackageBytes: number;
  /** Largest sum of the entries' declared uncompressed sizes; inflated bytes are held to what each entry declares. */
  readonly maxUncompressedBytes: number;
  /** Most entries in the central directory. Default 10,000. */
  readonly maxEntries?: number;
  /** Largest uncompressed/compressed ratio of one entry, for entries over 1 MiB. Default 200. */
  readonly maxCompressionRatio?: number;
  /** Longest entry name, in UTF-8 bytes. Default 1024. */
  readonly maxNameBytes?: number;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const FLAG_ENCRYPTED = 0x1;
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;
const METHOD_NAMES: Readonly<Record<number, string>> = {
  1: "shrink",
  6: "implode",
  9: "deflate64",
  12: "bzip2",
  14: "lzma",
  93: "zstd",
  95: "xz",
  98: "ppmd",
  99: "aes-encrypted",
};

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** One central-directory entry that passed every metadata check, with its decoded name. */
interface CheckedEntry {
  readonly entry: Entry;
  readonly name: string;
}

/**
 * decodeArchive turns untrusted package bytes into a PackageArchive, entirely in memory. It refuses anything
 * the Go daemon would fail on later (directory entries, `..`, `\`, bad sizes), anything that would be unsafe to
 * extract (absolute paths, symlinks, duplicates), and resource attacks (oversize input, zip bombs, huge entry
 * counts), each with its own PackageError problem. Entry metadata is checked for the whole archive before any
 * entry is inflated, and inflation is counted and cut off at each entry's declared size, so the headers are
 * never trusted for how much memory is used.
 */
export async function decodeArchive(bytes: Buffer, limits: DecodeLimits): Promise<PackageArchive> {
  const max = {
    packageBytes: limits.maxPackageBytes,
    uncompressedBytes: limits.maxUncompressedBytes,
    entries: limits.maxEntries ?? DEFAULT_MAX_ENTRIES,
    compressionRatio: limits.maxCompressionRatio ?? DEFAULT_MAX_COMPRESSION_RATIO,
    nameBytes: limits.maxNameBytes ?? DEFAULT_MAX_NAME_BYTES,
  };
  if (bytes.length > max.packageBytes) {
    throw new PackageError(
      "too_large",
      `package is too large: ${bytes.length} bytes, over the limit of ${max.packageBytes} bytes`,
      { limit: max.packageBytes },
    );
  }
  if (bytes.length === 0) throw new PackageError("not_zip", "not a valid difypkg: the file is empty");

  const zip = await openZip(bytes);
  try {
    if (zip.entryCount > max.entries) {
      throw new PackageError(
        "too_many_entries",
        `package has ${zip.entryCount} entries, over the limit of ${max.entries}`,
        { limit: max.entries },
      );
    }
    // With decodeStrings: false yauzl hands the comment over as raw bytes (its typings say string).
    const rawComment: unknown = zip.comment;
    const comment = Buffer.isBuffer(rawComment) ? rawComment.toString("utf8") : String(rawComment);

    const checked = await readCentralDirectory(zip, bytes, max);
    const entries: PackageEntry[] = [];
    for (const { entry, name } of checked) entries.push({ name, data: await readEntryData(zip, entry, name) });
    return { entries, comment };
  } finally {
    zip.close();
  }
}

function openZip(bytes: Buffer): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    // validateEntrySizes is off because readCentralDirectory and readEntryData do the same checks themselves,
    // where the message can name the entry (yauzl fails before the entry is handed over).
    const options = { lazyEntries: true, decodeStrings: false, validateEntrySizes: false, strictFileNames: false };
    try {
      fromBuffer(bytes, options, (err, zip) => (err ? reject(containerError(err, bytes, 1)) : resolve(zip)));
    } catch (err) {
      reject(containerError(err, bytes, 1));
    }
  });
}

/** entryReader returns a function that reads the next central-directory entry, or undefined at the end. */
function entryReader(zip: ZipFile, bytes: Buffer): () => Promise<Entry | undefined> {
  let pending: { resolve: (entry: Entry | undefined) => void; reject: (err: unknown) => void } | undefined;
  let failure: unknown;
  const settle = (fn: (p: NonNullable<typeof pending>) => void) => {
    const p = pending;
    pending = undefined;
    if (p) fn(p);
  };
  // Listeners stay for the zip's lifetime: an 'error' with no listener would crash the process.
  zip.on("entry", (entry: Entry) => settle((p) => p.resolve(entry)));
  zip.on("end", () => settle((p) => p.resolve(undefined)));
  zip.on("error", (err: unknown) => {
    failure = containerError(err, bytes, zip.entriesRead + 1);
    settle((p) => p.reject(failure));
  });
  return () =>
    new Promise((resolve, reject) => {
      if (failure !== undefined) return reject(failure);
      pending = { resolve, reject };
      zip.readEntry();
    });
}

/** containerError translates a yauzl error about the archive as a whole (or entry #index's header) to a PackageError. */
function containerError(err: unknown, bytes: Buffer, index: number): unknown {
  if (err instanceof PackageError || !(err instanceof Error)) return err;
  const m = err.message;
  if (m.includes("End of central directory record signature not found")) {
    if (bytes.subarray(0, 4).equals(LOCAL_HEADER_MAGIC)) {
      return new PackageError(
        "truncated",
        "not a valid difypkg: the archive is truncated (it starts like a zip but has no end-of-central-directory " +
          "record; was the download or upload cut short?)",
      );
    }
    const hint = looksLikeHtml(bytes) ? " (it looks like an HTML page, e.g. a saved error page, not a package)" : "";
    return new PackageError("not_zip", `not a valid difypkg: no zip end-of-central-directory record found${hint}`);
  }
  if (m.includes("multi-disk")) {
    return new PackageError("multi_disk", `not a valid difypkg: multi-disk (split) zip archives are not supported (${m})`);
  }
  if (m.includes("strong encryption")) {
    return new PackageError("encrypted_entry", `entry #${index} is encrypted (strong encryption); packages must not be encrypted`);
  }
  if (m.includes("unexpected EOF")) {
    return new PackageError(
      "truncated",
      "not a valid difypkg: the archive is truncated (its central directory points past the end of the file)",
    );
  }
  // Invalid comment length, bad central-directory signature, bad zip64 records, malformed extra fields, …
  return new PackageError("not_zip", `not a valid difypkg: ${m}`);
}

const LOCAL_HEADER_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/** looksLikeHtml spots the usual wrong download: an HTML or XML error page saved under the package's name. */
function looksLikeHtml(bytes: Buffer): boolean {
  return bytes.subarray(0, 512).toString("latin1").trimStart().startsWith("<");
}

/** readCentralDirectory reads and checks every entry's metadata, before any data is inflated. */
async function readCentralDirectory(
  zip: ZipFile,
  bytes: Buffer,
  max: { uncompressedBytes: number; compressionRatio: number; nameBytes: number },
): Promise<CheckedEntry[]> {
  const next = entryReader(zip, bytes);
  const checked: CheckedEntry[] = [];
  const byNormalName = new Map<string, string>();
  let declaredBytes = 0;
  for (let entry = await next(); entry !== undefined; entry = await next()) {
    const name = checkName(entry.fileNameRaw, checked.length + 1, max.nameBytes);
    const file = { file: name };
    const quoted = JSON.stringify(name);

    const type = (entry.externalFileAttributes >>> 16) & S_IFMT;
    if (type === S_IFLNK) {
      throw new PackageError("symlink_entry", `entry ${quoted} is a symbolic link; packages may only contain regular files`, file);
    }
    if (type === S_IFDIR) throw directoryEntry(name);
    if (entry.generalPurposeBitFlag & FLAG_ENCRYPTED) {
      throw new PackageError("encrypted_entry", `entry ${quoted} is encrypted; packages must not be encrypted`, file);
    }
    const method = entry.compressionMethod;
    if (method !== METHOD_STORED && method !== METHOD_DEFLATE) {
      const label = METHOD_NAMES[method] ? ` (${METHOD_NAMES[method]})` : "";
      throw new PackageError(
        "unsupported_compression",
        `entry ${quoted} uses compression method ${method}${label}; only 0 (stored) and 8 (deflate) are supported`,
        file,
      );
    }
    if (method === METHOD_STORED && entry.compressedSize !== entry.uncompressedSize) {
      throw new PackageError(
        "size_mismatch",
        `entry ${quoted} is stored uncompressed but declares ${entry.compressedSize} compressed and ` +
          `${entry.uncompressedSize} uncompressed bytes`,
        file,
      );
    }

    declaredBytes += entry.uncompressedSize;
    if (declaredBytes > max.uncompressedBytes) {
      throw new PackageError(
        "uncompressed_too_large",
        `package is too large uncompressed: its files declare more than ${max.uncompressedBytes} bytes ` +
          `(the limit) by entry ${quoted}`,
        { file: name, limit: max.uncompressedBytes },
      );
    }
    if (entry.uncompressedSize > RATIO_MIN_BYTES) {
      const ratio = entry.uncompressedSize / Math.max(entry.compressedSize, 1);
      if (ratio > max.compressionRatio) {
        throw new PackageError(
          "compression_ratio",
          `entry ${quoted} would inflate ${entry.compressedSize} bytes to ${entry.uncompressedSize} ` +
            `(ratio ${Math.round(ratio)}:1, over the limit of ${max.compressionRatio}:1); refusing a likely zip bomb`,
          { file: name, limit: max.compressionRatio },
        );
      }
    }

    const normal = name.normalize("NFC");
    const earlier = byNormalName.get(normal);
    if (earlier !== undefined) {
      const how = earlier === name ? "" : ` as ${JSON.stringify(earlier)} after Unicode NFC normalisation`;
      throw new PackageError("duplicate_entry", `entry ${quoted} appears more than once${how}`, file);
    }
    byNormalName.set(normal, name);
    checked.push({ entry, name });
  }
  checkFileDirectoryClashes(byNormalName);
  return checked;
}

/**
 * checkName checks one raw entry name and returns it decoded. Names are UTF-8 whatever the zip flags say, as in
 * the Go daemon (archive/zip never transcodes); the rules are those of Go's fs.ValidPath plus what an extractor
 * needs: no `\`, no drive letters, no control characters.
 */
function checkName(raw: Buffer, index: number, maxBytes: number): string {
  if (raw.length === 0) throw new PackageError("invalid_name", `entry #${index} has an empty name`);
  if (raw.length > maxBytes) {
    const start = raw.subarray(0, 40).toString("utf8");
    throw new PackageError(
      "name_too_long",
      `entry #${index} (${JSON.stringify(start)}…) has a ${raw.length}-byte name, over the limit of ${maxBytes} bytes`,
      { limit: maxBytes },
    );
  }
  let name: string;
  try {
    name = utf8.decode(raw);
  } catch {
    throw new PackageError(
      "invalid_name",
      `entry #${index} has a name that is not valid UTF-8 (bytes ${raw.subarray(0, 64).toString("hex")})`,
    );
  }
  const quoted = JSON.stringify(name);
  const file = { file: name };
  if (name.includes("\0")) throw new PackageError("invalid_name", `entry ${quoted} has a NUL byte in its name`, file);
  const control = /[\u0001-\u001f\u007f-\u009f]/.exec(name);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
    throw new PackageError("invalid_name", `entry ${quoted} has a control character (U+${code}) in its name`, file);
  }
  if (name.includes("\\")) {
    throw new PackageError(
      "backslash_path",
      `entry ${quoted} uses \`\\\` in its path; zip paths must use \`/\` (the Go daemon cannot open such entries)`,
      file,
    );
  }
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) {
    throw new PackageError("absolute_path", `entry ${quoted} has an absolute path; paths must be relative to the plugin root`, file);
  }
  const segments = name.split("/");
  if (segments.includes("..")) {
    throw new PackageError("path_traversal", `entry ${quoted} has a \`..\` segment; illegal file path in plugin package`, file);
  }
  if (name.endsWith("/")) throw directoryEntry(name);
  if (segments.some((s) => s === "" || s === ".")) {
    throw new PackageError("invalid_name", `entry ${quoted} has an empty or \`.\` path segment`, file);
  }
  return name;
}

function directoryEntry(name: string): PackageError {
  return new PackageError(
    "directory_entry",
    `entry ${JSON.stringify(name)} is a directory entry; the Go daemon fails on packages that contain them ` +
      "(e.g. made with `zip -r`). Re-create the package with `dify plugin package` or our `package` command",
    { file: name },
  );
}

/** checkFileDirectoryClashes refuses `a` next to `a/b`: no extractor can write both a file and a directory `a`. */
function checkFileDirectoryClashes(byNormalName: ReadonlyMap<string, string>): void {
  for (const [normal, name] of byNormalName) {
    for (let slash = normal.indexOf("/"); slash !== -1; slash = normal.indexOf("/", slash + 1)) {
      const file = byNormalName.get(normal.slice(0, slash));
      if (file !== undefined) {
        throw new PackageError(
          "duplicate_entry",
          `entry ${JSON.stringify(file)} is a file, but entry ${JSON.stringify(name)} uses it as a directory`,
          { file: name },
        );
      }
    }
  }
}

/**
 * readEntryData inflates one entry in memory. The compressed bytes are already in memory, so they are inflated
 * in one call on libuv's thread pool (not the event loop), with zlib itself capped one byte past the declared
 * size: a lying header stops zlib at the cap instead of filling memory. Then the size and CRC-32 must match.
 */
async function readEntryData(zip: ZipFile, entry: Entry, name: string): Promise<Buffer> {
  const quoted = JSON.stringify(name);
  const declared = entry.uncompressedSize;
  let data: Buffer;
  try {
    const raw = await readAll(await openRaw(zip, entry));
    data = entry.compressionMethod === METHOD_DEFLATE ? await inflate(raw, { maxOutputLength: declared + 1, chunkSize: inflateChunkSize(declared) }) : raw;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") throw tooLarge(quoted, declared, name);
    throw entryError(err, name);
  }
  if (data.length > declared) throw tooLarge(quoted, declared, name);
  if (data.length < declared) {
    throw new PackageError("size_mismatch", `entry ${quoted} inflates to ${data.length} bytes, fewer than the ${declared} it declares`, {
      file: name,
    });
  }
  const crc = crc32(data);
  if (crc !== entry.crc32) {
    throw new PackageError(
      "corrupt_entry",
      `entry ${quoted} is corrupt: CRC-32 is ${hex32(crc)} but the header says ${hex32(entry.crc32)}`,
      { file: name },
    );
  }
  return data;
}

const inflate = promisify(inflateRaw) as (data: Buffer, options: { maxOutputLength: number; chunkSize: number }) => Promise<Buffer>;

// zlib's default 16 KiB output chunks cost one buffer and one copy each; one chunk near the declared size is
// several times faster for multi-megabyte entries, bounded so a lying header cannot make zlib allocate much.
function inflateChunkSize(declared: number): number {
  return Math.min(Math.max(declared + 1, 64 * 1024), 4 * 1024 * 1024);
}

function tooLarge(quoted: string, declared: number, name: string): PackageError {
  return new PackageError(
    "size_mismatch",
    `entry ${quoted} inflates to more than its declared ${declared} bytes; refusing it (a zip bomb or a corrupt header)`,
    { file: name, limit: declared },
  );
}

async function readAll(source: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk as Buffer);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** openRaw opens an entry's compressed bytes; inflation is ours so we own (and can destroy) the zlib stream. */
function openRaw(zip: ZipFile, entry: Entry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, { decodeFileData: false }, (err, stream) => (err ? reject(err) : resolve(stream)));
  });
}

/** entryError translates a yauzl or zlib failure while reading one entry's data; anything else is a bug. */
function entryError(err: unknown, name: string): unknown {
  if (err instanceof PackageError || !(err instanceof Error)) return err;
  const quoted = JSON.stringify(name);
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === "string" && code.startsWith("Z_")) {
    return new PackageError("corrupt_entry", `entry ${quoted} is corrupt: its deflate data is invalid (${err.message})`, {
      file: name,
    });
  }
  const m = err.message;
  if (/local file header|overflows file bounds|bytes in the stream|unexpected EOF/.test(m)) {
    return new PackageError("corrupt_entry", `entry ${quoted} is corrupt: ${m}`, { file: name });
  }
  return err;
}

function hex32(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, "0")}`;
}
