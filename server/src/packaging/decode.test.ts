import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { deflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { buildZip, unixMode, type RawEntry } from "../../test/raw-zip.js";
import { decodeArchive, type DecodeLimits } from "./decode.js";
import { PackageError, type PackageProblem } from "./errors.js";

const FIXTURES = path.resolve(import.meta.dirname, "../../../../shared/fixtures/packages");
const FIXTURE_NAMES = ["dummy_plugin.difypkg", "openai.difypkg", "langgenius-agent_0.0.14.difypkg"] as const;
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name));
const LIMITS: DecodeLimits = { maxPackageBytes: 50 * 1024 * 1024, maxUncompressedBytes: 50 * 1024 * 1024 };

const file = (name: string | Buffer, data: string | Buffer = "x", more: Partial<RawEntry> = {}): RawEntry => ({ name, data, ...more });
const zipOf = (...entries: RawEntry[]) => buildZip(entries);

/** Deterministic "random" bytes: a sha256 chain, so the case is the same on every run. */
function noise(length: number): Buffer {
  const out: Buffer[] = [];
  let block = createHash("sha256").update("decode.test noise").digest();
  for (let n = 0; n < length; n += block.length) {
    out.push(block);
    block = createHash("sha256").update(block).digest();
  }
  return Buffer.concat(out).subarray(0, length);
}

interface BadCase {
  readonly what: string;
  readonly bytes: () => Buffer;
  readonly limits?: Partial<DecodeLimits>;
  readonly problem: PackageProblem;
  /** A distinctive part of the message. */
  readonly message: string | RegExp;
}

const ZEROS_8M = () => Buffer.alloc(8 * 1024 * 1024);

const BAD: readonly BadCase[] = [
  // container
  { what: "empty file", bytes: () => Buffer.alloc(0), problem: "not_zip", message: "not a valid difypkg: the file is empty" },
  { what: "random bytes", bytes: () => noise(4096), problem: "not_zip", message: /^not a valid difypkg: no zip end-of-central-directory record found$/ },
  {
    what: "HTML error page",
    bytes: () => Buffer.from("<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>\n"),
    problem: "not_zip",
    message: "it looks like an HTML page",
  },
  {
    what: "truncated real package (first half)",
    bytes: () => fixture("openai.difypkg").subarray(0, 25_000),
    problem: "truncated",
    message: "the archive is truncated",
  },
  {
    what: "truncated real package (last 10 bytes cut)",
    bytes: () => {
      const whole = fixture("openai.difypkg");
      return whole.subarray(0, whole.length - 10);
    },
    problem: "truncated",
    message: "was the download or upload cut short?",
  },
  {
    what: "bytes after the end record",
    bytes: () => Buffer.concat([zipOf(file("a")), Buffer.from("trailing")]),
    problem: "not_zip",
    message: /not a valid difypkg: Invalid comment length/,
  },
  {
    what: "central directory beyond the end of the file",
    bytes: () => {
      const zip = zipOf(file("a"));
      zip.writeUInt32LE(0x7fff_0000, zip.length - 6); // central directory offset
      return zip;
    },
    problem: "truncated",
    message: "central directory points past the end of the file",
  },
  {
    what: "compressed package over the limit",
    bytes: () => fixture("dummy_plugin.difypkg"),
    limits: { maxPackageBytes: 1000 },
    problem: "too_large",
    message: /package is too large: 2233 bytes, over the limit of 1000 bytes/,
  },
  {
    what: "declared uncompressed sizes over the limit",
    bytes: () => zipOf(file("a", "a".repeat(600)), file("b", "b".repeat(600))),
    limits: { maxUncompressedBytes: 1000 },
    problem: "uncompressed_too_large",
    message: 'declare more than 1000 bytes (the limit) by entry "b"',
  },
  {
    what: "declared uncompressed size lies (inflates beyond it)",
    bytes: () => zipOf(file("bomb.bin", ZEROS_8M(), { uncompressedSize: 1000 })),
    problem: "size_mismatch",
    message: 'entry "bomb.bin" inflates to more than its declared 1000 bytes',
  },
  {
    what: "inflates to fewer bytes than declared",
    bytes: () => zipOf(file("short.txt", "hello", { uncompressedSize: 50 })),
    problem: "size_mismatch",
    message: 'entry "short.txt" inflates to 5 bytes, fewer than the 50 it declares',
  },
  {
    what: "stored entry whose sizes disagree",
    bytes: () => zipOf(file("stored.txt", "hello", { method: 0, compressedSize: 5, uncompressedSize: 9 })),
    problem: "size_mismatch",
    message: 'entry "stored.txt" is stored uncompressed but declares 5 compressed and 9 uncompressed bytes',
  },
  {
    what: "compression ratio bomb (8 MiB of zeros)",
    bytes: () => buildZip([{ name: "zeros.bin", data: ZEROS_8M() }]),
    problem: "compression_ratio",
    message: /entry "zeros\.bin" would inflate \d+ bytes to 8388608 \(ratio \d+:1, over the limit of 200:1\)/,
  },
  {
    what: "too many entries",
    bytes: () => zipOf(file("a"), file("b"), file("c"), file("d")),
    limits: { maxEntries: 3 },
    problem: "too_many_entries",
    message: "package has 4 entries, over the limit of 3",
  },
  {
    what: "bzip2 (method 12) entry",
    bytes: () => zipOf(file("main.py", "print(1)", { method: 12 })),
    problem: "unsupported_compression",
    message: 'entry "main.py" uses compression method 12 (bzip2); only 0 (stored) and 8 (deflate) are supported',
  },
  {
    what: "encrypted entry (flag bit 0)",
    bytes: () => zipOf(file("secret.py", "x", { flags: 0x0801 })),
    problem: "encrypted_entry",
    message: 'entry "secret.py" is encrypted',
  },
  {
    what: "strongly encrypted entry (flag bit 6)",
    bytes: () => zipOf(file("a"), file("secret.py", "x", { flags: 0x0841 })),
    problem: "encrypted_entry",
    message: "entry #2 is encrypted (strong encryption)",
  },
  {
    what: "multi-disk archive",
    bytes: () => buildZip([file("a")], { diskNumber: 1 }),
    problem: "multi_disk",
    message: "multi-disk (split) zip archives are not supported",
  },
  {
    what: "corrupt deflate data",
    bytes: () => zipOf(file("main.py", "print(1)", { payload: Buffer.from([0xff, 0xff, 0xff, 0xff]) })),
    problem: "corrupt_entry",
    message: 'entry "main.py" is corrupt: its deflate data is invalid (invalid block type)',
  },
  {
    what: "deflate data cut short",
    bytes: () => {
      const payload = deflateRawSync(noise(5000)).subarray(0, 1000);
      return zipOf(file("main.py", noise(5000), { payload }));
    },
    problem: "corrupt_entry",
    message: 'entry "main.py" is corrupt: its deflate data is invalid (unexpected end of file)',
  },
  {
    what: "bad CRC-32",
    bytes: () => zipOf(file("main.py", "print(1)", { crc32: 0xdeadbeef })),
    problem: "corrupt_entry",
    message: /entry "main\.py" is corrupt: CRC-32 is 0x[0-9a-f]{8} but the header says 0xdeadbeef/,
  },
  {
    what: "local header offset pointing at garbage",
    bytes: () => {
      const zip = zipOf(file("a"), file("b"));
      const central = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
      zip.writeUInt32LE(3, central + 42); // first entry's local header offset
      return zip;
    },
    problem: "corrupt_entry",
    message: 'entry "a" is corrupt: invalid local file header signature',
  },
  // names
  { what: "../x", bytes: () => zipOf(file("../x")), problem: "path_traversal", message: 'entry "../x" has a `..` segment' },
  {
    what: "a/../../x",
    bytes: () => zipOf(file("a/../../x")),
    problem: "path_traversal",
    message: 'entry "a/../../x" has a `..` segment; illegal file path in plugin package',
  },
  { what: "/etc/passwd", bytes: () => zipOf(file("/etc/passwd")), problem: "absolute_path", message: 'entry "/etc/passwd" has an absolute path' },
  { what: "C:/x", bytes: () => zipOf(file("C:/x")), problem: "absolute_path", message: 'entry "C:/x" has an absolute path' },
  { what: "a\\b", bytes: () => zipOf(file("a\\b")), problem: "backslash_path", message: 'entry "a\\\\b" uses `\\` in its path' },
  { what: "NUL in name", bytes: () => zipOf(file("main.py\0.txt")), problem: "invalid_name", message: 'entry "main.py\\u0000.txt" has a NUL byte' },
  {
    what: "control character in name",
    bytes: () => zipOf(file("a\u001bb")),
    problem: "invalid_name",
    message: "has a control character (U+001B)",
  },
  {
    what: "invalid UTF-8 name",
    bytes: () => zipOf(file(Buffer.from([0x61, 0xff, 0xfe, 0x62]))),
    problem: "invalid_name",
    message: "entry #1 has a name that is not valid UTF-8 (bytes 61fffe62)",
  },
  { what: "a//b", bytes: () => zipOf(file("a//b")), problem: "invalid_name", message: 'entry "a//b" has an empty or `.` path segment' },
  { what: "./a", bytes: () => zipOf(file("./a")), problem: "invalid_name", message: 'entry "./a" has an empty or `.` path segment' },
  { what: "empty name", bytes: () => zipOf(file("a"), file("")), problem: "invalid_name", message: "entry #2 has an empty name" },
  {
    what: "overlong name",
    bytes: () => zipOf(file("a".repeat(1025))),
    problem: "name_too_long",
    message: "has a 1025-byte name, over the limit of 1024 bytes",
  },
  {
    what: "directory entry",
    bytes: () => zipOf(file("manifest.yaml"), file("provider/", "")),
    problem: "directory_entry",
    message: /entry "provider\/" is a directory entry; the Go daemon fails on .* `dify plugin package` or our `package` command/,
  },
  {
    what: "directory by Unix mode, without a trailing slash",
    bytes: () => zipOf(file("provider", "", { externalAttributes: unixMode(0o040755) })),
    problem: "directory_entry",
    message: 'entry "provider" is a directory entry',
  },
  {
    what: "symlink entry",
    bytes: () => zipOf(file("link", "/etc/passwd", { externalAttributes: unixMode(0o120777) })),
    problem: "symlink_entry",
    message: 'entry "link" is a symbolic link',
  },
  {
    what: "exact duplicate",
    bytes: () => zipOf(file("main.py", "a"), file("main.py", "b")),
    problem: "duplicate_entry",
    message: 'entry "main.py" appears more than once',
  },
  {
    what: "NFC/NFD duplicate (é composed vs decomposed)",
    bytes: () => zipOf(file("caf\u00e9.txt"), file("cafe\u0301.txt")),
    problem: "duplicate_entry",
    message: "appears more than once as \"caf\u00e9.txt\" after Unicode NFC normalisation",
  },
  {
    what: "a file and a directory of the same name",
    bytes: () => zipOf(file("tools"), file("tools/a.yaml")),
    problem: "duplicate_entry",
    message: 'entry "tools" is a file, but entry "tools/a.yaml" uses it as a directory',
  },
];

describe("decodeArchive refuses malformed packages", () => {
  it("has a case for every container and name problem it can report", () => {
    const covered = new Set(BAD.map((c) => c.problem));
    const expected: PackageProblem[] = [
      "not_zip", "truncated", "too_large", "uncompressed_too_large", "too_many_entries", "compression_ratio",
      "size_mismatch", "unsupported_compression", "encrypted_entry", "multi_disk", "corrupt_entry", "path_traversal",
      "absolute_path", "backslash_path", "invalid_name", "name_too_long", "directory_entry", "symlink_entry",
      "duplicate_entry",
    ];
    expect([...covered].sort()).toEqual(expected.sort());
    expect(BAD.length).toBeGreaterThanOrEqual(25);
  });

  it.each(BAD.map((c) => [c.what, c] as const))("%s", async (_what, c) => {
    const err = await decodeArchive(c.bytes(), { ...LIMITS, ...c.limits }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PackageError);
    const { problem, message } = err as PackageError;
    expect({ problem, message }).toEqual({ problem: c.problem, message: expect.stringMatching(typeof c.message === "string" ? escape(c.message) : c.message) });
  });
});

function escape(text: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
}

describe("decodeArchive reads good packages", () => {
  // What Python's zipfile sees in each fixture: every entry's name and the sha256 of its bytes, in zip order.
  const python = JSON.parse(
    execFileSync("python3", [
      "-c",
      `import hashlib, json, sys, zipfile
out = {}
for p in sys.argv[1:]:
    z = zipfile.ZipFile(p)
    out[p] = [[i.filename, hashlib.sha256(z.read(i)).hexdigest()] for i in z.infolist()]
print(json.dumps(out))`,
      ...FIXTURE_NAMES.map((n) => path.join(FIXTURES, n)),
    ]).toString(),
  ) as Record<string, [string, string][]>;

  it.each(FIXTURE_NAMES)("%s: same entries, bytes and order as Python's zipfile", async (name) => {
    const archive = await decodeArchive(fixture(name), LIMITS);
    const expected = python[path.join(FIXTURES, name)];
    expect(expected?.length).toBeGreaterThanOrEqual(7);
    expect(archive.entries.map((e) => [e.name, createHash("sha256").update(e.data).digest("hex")])).toEqual(expected);
  });

  it("returns the signed package's comment: JSON with signature and time", async () => {
    const archive = await decodeArchive(fixture("langgenius-agent_0.0.14.difypkg"), LIMITS);
    const comment = JSON.parse(archive.comment) as Record<string, unknown>;
    expect(typeof comment.signature).toBe("string");
    expect(typeof comment.time).toBe("number");
    const unsigned = await decodeArchive(fixture("dummy_plugin.difypkg"), LIMITS);
    expect(unsigned.comment).toBe("");
  });

  it("reads what the raw test writer makes when nothing is wrong (so the bad cases fail for their stated reason)", async () => {
    const big = noise(2 * 1024 * 1024);
    const bytes = buildZip(
      [
        { name: "manifest.yaml", data: "type: plugin\n" },
        { name: "stored/é.txt", data: "stored", method: 0 },
        { name: "empty.txt", data: "" },
        { name: "big.bin", data: big },
      ],
      { comment: "{\"time\":1}" },
    );
    const archive = await decodeArchive(bytes, LIMITS);
    expect(archive.entries.map((e) => [e.name, e.data.length])).toEqual([
      ["manifest.yaml", 13],
      ["stored/é.txt", 6],
      ["empty.txt", 0],
      ["big.bin", 2 * 1024 * 1024],
    ]);
    expect(archive.entries[3]?.data.equals(big)).toBe(true);
    expect(archive.comment).toBe("{\"time\":1}");
  });

  it("never touches the filesystem: the decoder imports no fs module, and these tests write no files", () => {
    const source = readFileSync(path.join(import.meta.dirname, "decode.ts"), "utf8");
    const imports = [...source.matchAll(/from "([^"]+)"/g)].map((m) => m[1] ?? "");
    expect(imports).toContain("yauzl");
    expect(imports.filter((m) => /(^|:)fs(\/|$)/.test(m))).toEqual([]);
  });
});
