import { crc32, deflateRawSync } from "node:zlib";

/**
 * A test-only zip writer for hostile archives that yazl refuses to make: any name bytes, any method, flags,
 * attributes, and declared sizes or CRC that disagree with the data. Every field not given is a correct,
 * ordinary value, so each test case states only the one thing that is wrong.
 */
export interface RawEntry {
  /** The name; a Buffer is written byte for byte (invalid UTF-8, NUL, …). */
  readonly name: string | Buffer;
  /** The file's real content (default empty). */
  readonly data?: string | Buffer;
  /** Compression method: 8 deflates `data`; any other value stores `data` as is under that method number. */
  readonly method?: number;
  /** The payload bytes written after the local header, instead of what `method` makes of `data`. */
  readonly payload?: Buffer;
  /** General purpose bit flags (bit 0 = encrypted). Default 0x0800 (UTF-8 names). */
  readonly flags?: number;
  /** External file attributes. Default a Unix regular file, mode 0644. */
  readonly externalAttributes?: number;
  /** Declared values, in both headers, instead of the real ones. */
  readonly crc32?: number;
  readonly compressedSize?: number;
  readonly uncompressedSize?: number;
}

export interface RawZipOptions {
  readonly comment?: string | Buffer;
  /** "Number of this disk" in the end record; non-zero marks a multi-disk archive. */
  readonly diskNumber?: number;
}

const UNIX_REGULAR_0644 = (0o100644 << 16) >>> 0;
const MADE_BY_UNIX = (3 << 8) | 20;
const DOS_DATE_1980_01_01 = 0x21;

/** unixMode gives the external attributes of a Unix file with `mode` (e.g. 0o120777 for a symlink). */
export function unixMode(mode: number): number {
  return (mode << 16) >>> 0;
}

/** buildZip writes the entries, in order, as one zip archive. */
export function buildZip(entries: readonly RawEntry[], opts: RawZipOptions = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = typeof e.name === "string" ? Buffer.from(e.name, "utf8") : e.name;
    const data = typeof e.data === "string" ? Buffer.from(e.data, "utf8") : (e.data ?? Buffer.alloc(0));
    const method = e.method ?? 8;
    const payload = e.payload ?? (method === 8 ? deflateRawSync(data) : data);
    const flags = e.flags ?? 0x0800;
    const crc = e.crc32 ?? crc32(data);
    const compressedSize = e.compressedSize ?? payload.length;
    const uncompressedSize = e.uncompressedSize ?? data.length;

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10); // time
    local.writeUInt16LE(DOS_DATE_1980_01_01, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressedSize, 18);
    local.writeUInt32LE(uncompressedSize, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28); // extra length
    locals.push(local, name, payload);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(MADE_BY_UNIX, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(DOS_DATE_1980_01_01, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressedSize, 20);
    central.writeUInt32LE(uncompressedSize, 24);
    central.writeUInt16LE(name.length, 28);
    // 30 extra length, 32 comment length, 34 disk number start, 36 internal attributes: all 0
    central.writeUInt32LE(e.externalAttributes ?? UNIX_REGULAR_0644, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);

    offset += local.length + name.length + payload.length;
  }

  const directory = Buffer.concat(centrals);
  const comment = typeof opts.comment === "string" ? Buffer.from(opts.comment, "utf8") : (opts.comment ?? Buffer.alloc(0));
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(opts.diskNumber ?? 0, 4);
  end.writeUInt16LE(0, 6); // disk where the central directory starts
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(comment.length, 20);
  return Buffer.concat([...locals, directory, end, comment]);
}
