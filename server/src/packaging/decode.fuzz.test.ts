import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { PackageArchive } from "./archive.js";
import { decodeArchive, type DecodeLimits } from "./decode.js";
import { describeArchive } from "./decode-package.js";
import { PackageError } from "./errors.js";
import { loadTrustedKeys } from "./trusted-keys.js";

// Thousands of mutated copies of a real package must each end, quickly, in a valid archive or a PackageError;
// never another exception, never a hang. Re-run a failure with FUZZ_SEED=<seed from the message>.
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_d1f7);
const CASES = 3000;
const CASE_TIMEOUT_MS = 2000;
const LIMITS: DecodeLimits = { maxPackageBytes: 50 * 1024 * 1024, maxUncompressedBytes: 50 * 1024 * 1024 };
const ORIGINAL = readFileSync(path.resolve(import.meta.dirname, "../../../../shared/fixtures/packages/dummy_plugin.difypkg"));

/** mulberry32: a tiny seeded PRNG, so every run mutates the same way. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = ReturnType<typeof prng>;
const int = (rand: Random, n: number) => Math.floor(rand() * n);
const pick = <T>(rand: Random, items: readonly T[]): T => items[int(rand, items.length)] as T;
const randomBytes = (rand: Random, n: number) => Buffer.from(Array.from({ length: n }, () => int(rand, 256)));

/** Values that tend to break parsers: zero, all ones, off-by-one of the old value, the file's length. */
function interesting(rand: Random, old: number, width: 2 | 4, fileLength: number): number {
  const max = width === 2 ? 0xffff : 0xffffffff;
  const value = pick(rand, [0, 1, max, max - 1, old + 1, old - 1, old * 2, fileLength, fileLength + 1, int(rand, max + 1)]);
  return Math.min(Math.max(value, 0), max);
}

function writeField(buf: Buffer, offset: number, width: 2 | 4, value: number): void {
  if (offset < 0 || offset + width > buf.length) return;
  if (width === 2) buf.writeUInt16LE(value, offset);
  else buf.writeUInt32LE(value >>> 0, offset);
}

function readField(buf: Buffer, offset: number, width: 2 | 4): number {
  if (offset < 0 || offset + width > buf.length) return 0;
  return width === 2 ? buf.readUInt16LE(offset) : buf.readUInt32LE(offset);
}

// Field offsets (and widths) inside each zip record.
const CENTRAL_FIELDS: readonly [number, 2 | 4][] = [
  [4, 2], [6, 2], [8, 2], [10, 2], [16, 4], [20, 4], [24, 4], [28, 2], [30, 2], [32, 2], [34, 2], [38, 4], [42, 4],
];
const LOCAL_FIELDS: readonly [number, 2 | 4][] = [[6, 2], [8, 2], [14, 4], [18, 4], [22, 4], [26, 2], [28, 2]];
const END_FIELDS: readonly [number, 2 | 4][] = [[4, 2], [6, 2], [8, 2], [10, 2], [12, 4], [16, 4], [20, 2]];

function signatureOffsets(buf: Buffer, signature: number): number[] {
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(signature, 0);
  const found: number[] = [];
  for (let at = buf.indexOf(magic); at !== -1; at = buf.indexOf(magic, at + 1)) found.push(at);
  return found;
}

/** mutate returns a mutated copy of `original` and a short description of what was done. */
function mutate(rand: Random, original: Buffer): { bytes: Buffer; how: string } {
  const buf = Buffer.from(original);
  const steps: string[] = [];
  const rounds = 1 + int(rand, 3);
  let out = buf;
  for (let round = 0; round < rounds; round++) {
    const kind = pick(rand, ["flip", "truncate", "insert", "duplicate", "delete", "central", "local", "end", "bytes"] as const);
    const at = int(rand, out.length + 1);
    switch (kind) {
      case "flip": {
        const flips = 1 + int(rand, 8);
        for (let i = 0; i < flips && out.length > 0; i++) {
          const p = int(rand, out.length);
          out[p] = (out[p] ?? 0) ^ (1 << int(rand, 8));
        }
        steps.push(`flip ${flips} bits`);
        break;
      }
      case "truncate":
        out = out.subarray(0, at);
        steps.push(`truncate to ${at}`);
        break;
      case "insert": {
        const n = 1 + int(rand, 64);
        out = Buffer.concat([out.subarray(0, at), randomBytes(rand, n), out.subarray(at)]);
        steps.push(`insert ${n} bytes at ${at}`);
        break;
      }
      case "duplicate": {
        const from = int(rand, out.length);
        const to = Math.min(out.length, from + 1 + int(rand, 512));
        out = Buffer.concat([out.subarray(0, at), out.subarray(from, to), out.subarray(at)]);
        steps.push(`duplicate [${from},${to}) at ${at}`);
        break;
      }
      case "delete": {
        const to = Math.min(out.length, at + 1 + int(rand, 64));
        out = Buffer.concat([out.subarray(0, at), out.subarray(to)]);
        steps.push(`delete [${at},${to})`);
        break;
      }
      case "central":
      case "local":
      case "end": {
        const [signature, fields] = {
          central: [0x02014b50, CENTRAL_FIELDS],
          local: [0x04034b50, LOCAL_FIELDS],
          end: [0x06054b50, END_FIELDS],
        }[kind] as [number, readonly [number, 2 | 4][]];
        const records = signatureOffsets(out, signature);
        if (records.length === 0) break;
        out = Buffer.from(out);
        const record = pick(rand, records);
        const [offset, width] = pick(rand, fields);
        const value = interesting(rand, readField(out, record + offset, width), width, out.length);
        writeField(out, record + offset, width, value);
        steps.push(`${kind} record @${record} field +${offset} = ${value}`);
        break;
      }
      case "bytes": {
        const n = 1 + int(rand, 16);
        out = Buffer.from(out);
        randomBytes(rand, n).copy(out, Math.min(at, Math.max(0, out.length - n)));
        steps.push(`overwrite ${n} bytes at ${at}`);
        break;
      }
    }
  }
  return { bytes: out, how: steps.join("; ") };
}

type Outcome = { kind: "archive"; archive: PackageArchive } | { kind: "refused"; err: PackageError } | { kind: "other"; err: unknown };

async function decodeWithin(bytes: Buffer, ms: number): Promise<Outcome | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  const decoded = decodeArchive(bytes, LIMITS).then(
    (archive): Outcome => ({ kind: "archive", archive }),
    (err: unknown): Outcome => (err instanceof PackageError ? { kind: "refused", err } : { kind: "other", err }),
  );
  try {
    return await Promise.race([decoded, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe("decodeArchive under fuzzing", () => {
  it(`ends every one of ${CASES} mutated packages in an archive or a PackageError (seed ${SEED})`, async () => {
    const rand = prng(SEED);
    const problems = new Map<string, number>();
    let accepted = 0;
    for (let i = 0; i < CASES; i++) {
      const { bytes, how } = mutate(rand, ORIGINAL);
      const outcome = await decodeWithin(bytes, CASE_TIMEOUT_MS);
      const where = `seed ${SEED}, case ${i}: ${how}`;
      if (outcome === "timeout") expect.fail(`${where}: no result within ${CASE_TIMEOUT_MS} ms`);
      if (outcome.kind === "other") {
        const err = outcome.err;
        expect.fail(`${where}: threw ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
      if (outcome.kind === "archive") {
        accepted++;
        for (const entry of outcome.archive.entries) expect(Buffer.isBuffer(entry.data), where).toBe(true);
      } else {
        problems.set(outcome.err.problem, (problems.get(outcome.err.problem) ?? 0) + 1);
      }
    }
    // The mutations must actually reach the parser's checks, not just bounce off at the first one.
    expect(problems.size, `seed ${SEED}: ${JSON.stringify([...problems])}`).toBeGreaterThanOrEqual(6);
    expect(accepted, `seed ${SEED}`).toBeGreaterThan(0);
  });
});

describe("declaration loading under fuzzing", () => {
  // A zip can be perfectly valid and still carry hostile YAML: mutate the declaration files themselves.
  it(`ends every one of 1500 packages with mutated YAML in a declaration or a PackageError (seed ${SEED})`, async () => {
    const rand = prng(SEED ^ 0x9e3779b9);
    const original = await decodeArchive(ORIGINAL, LIMITS);
    const yamlIndexes = original.entries.flatMap((e, i) => (e.name.endsWith(".yaml") ? [i] : []));
    const keys = loadTrustedKeys([]);
    let loaded = 0;
    for (let i = 0; i < 1500; i++) {
      const index = pick(rand, yamlIndexes);
      const target = original.entries[index]!;
      const data = Buffer.from(target.data);
      const how: string[] = [];
      for (let m = 0; m <= int(rand, 4); m++) {
        const at = int(rand, Math.max(1, data.length));
        const kind = pick(rand, ["flip", "yaml", "truncate"] as const);
        if (kind === "flip") data[at] = int(rand, 256);
        // Characters that change YAML structure rather than just text.
        else if (kind === "yaml") data[at] = pick(rand, [":", "-", "[", "{", "&", "*", "!", "|", ">", "\n", " ", "'", '"', "#"]).charCodeAt(0);
        how.push(`${kind}@${at}`);
      }
      const bytes = how.some((h) => h.startsWith("truncate")) ? data.subarray(0, int(rand, data.length)) : data;
      const entries = original.entries.map((e, j) => (j === index ? { name: e.name, data: bytes } : e));
      const where = `seed ${SEED}, case ${i}: ${target.name} ${how.join(",")}`;
      try {
        describeArchive({ entries, comment: "" }, { trustedKeys: keys });
        loaded++;
      } catch (err) {
        if (!(err instanceof PackageError)) expect.fail(`${where}: threw ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
    }
    expect(loaded, `seed ${SEED}`).toBeGreaterThan(0);
  });
});
