import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { decodeArchive } from "../src/packaging/decode.js";
import { decodePackage } from "../src/packaging/decode-package.js";
import { loadTrustedKeys } from "../src/packaging/trusted-keys.js";
import { writeArchive } from "../src/packaging/write-archive.js";
import { median, printFigure, ratio } from "./stats.js";

const FIXTURE = path.resolve(import.meta.dirname, "../../../shared/fixtures/packages/dummy_plugin.difypkg");
const LIMIT = 50 * 1024 * 1024;
const RUNS = 8;

/** A real plugin plus ~48 MB of incompressible files: the size of package the default limit allows. */
async function buildLargePackage(): Promise<Buffer> {
  const base = await decodeArchive(readFileSync(FIXTURE), { maxPackageBytes: LIMIT, maxUncompressedBytes: LIMIT });
  const filler = Array.from({ length: 12 }, (_, i) => ({ name: `data/blob-${i}.bin`, data: randomBytes(4 * 1024 * 1024) }));
  return writeArchive([...base.entries, ...filler]);
}

/**
 * Peak memory of one decode, in a fresh process so earlier work does not count: RSS sampled every
 * millisecond while the work runs (decode yields to the event loop while zlib inflates on the thread pool),
 * minus RSS just before it, with the package bytes already loaded.
 */
async function peakMemory(file: string): Promise<{ baselineAddedMb: number; decodeAddedMb: number }> {
  const script = `
    import { readFileSync } from "node:fs";
    import { decodePackage } from ${JSON.stringify(path.resolve(import.meta.dirname, "../src/packaging/decode-package.ts"))};
    import { loadTrustedKeys } from ${JSON.stringify(path.resolve(import.meta.dirname, "../src/packaging/trusted-keys.ts"))};
    const bytes = readFileSync(process.argv[1]);
    const keys = loadTrustedKeys([]);
    globalThis.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 1);
    let kept;
    if (process.argv[2] === "decode") kept = await decodePackage(bytes, { limits: { maxPackageBytes: ${LIMIT}, maxUncompressedBytes: ${LIMIT} }, trustedKeys: keys });
    else kept = (await import("node:crypto")).createHash("sha256").update(bytes).digest();
    await new Promise((r) => setTimeout(r, 5));
    peak = Math.max(peak, process.memoryUsage().rss);
    clearInterval(sampler);
    console.log(JSON.stringify({ before, peak, kept: Boolean(kept) }));`;
  const run = async (mode: string) => {
    const { stdout } = await promisify(execFile)(process.execPath, ["--expose-gc", "--import", "tsx", "--input-type=module", "-e", script, file, mode]);
    return JSON.parse(stdout) as { before: number; peak: number };
  };
  const mb = (r: { before: number; peak: number }) => Math.round((r.peak - r.before) / (1024 * 1024));
  return { baselineAddedMb: mb(await run("sha256")), decodeAddedMb: mb(await run("decode")) };
}

/** benchPackageDecode: decode + declaration + checksum + signature check of a ~50 MB package vs raw sha256. */
export async function benchPackageDecode(): Promise<void> {
  const bytes = await buildLargePackage();
  const keys = loadTrustedKeys([]);
  const options = { limits: { maxPackageBytes: LIMIT, maxUncompressedBytes: LIMIT }, trustedKeys: keys };
  const decodeMs: number[] = [];
  const shaMs: number[] = [];
  await decodePackage(bytes, options);
  for (let i = 0; i < RUNS; i++) {
    let t0 = performance.now();
    await decodePackage(bytes, options);
    decodeMs.push(performance.now() - t0);
    t0 = performance.now();
    createHash("sha256").update(bytes).digest();
    shaMs.push(performance.now() - t0);
  }
  const mb = bytes.length / (1024 * 1024);
  const daemonMbps = mb / (median(decodeMs) / 1000);
  const baselineMbps = mb / (median(shaMs) / 1000);
  const dir = await mkdtemp(path.join(os.tmpdir(), "bench-decode-"));
  try {
    const file = path.join(dir, "large.difypkg");
    await writeFile(file, bytes);
    const memory = await peakMemory(file);
    printFigure({
      figure: "package_decode_verify_throughput",
      unit: "MB/s",
      packageMb: Math.round(mb * 10) / 10,
      daemon: { what: "unzip within limits + manifest + checksum + signature", medianMs: Math.round(median(decodeMs)), mbPerS: Math.round(daemonMbps) },
      baseline: { what: "sha256 of the same bytes", medianMs: Math.round(median(shaMs)), mbPerS: Math.round(baselineMbps) },
      throughputRatio: ratio(daemonMbps, baselineMbps),
    });
    printFigure({
      figure: "package_decode_peak_memory",
      unit: "MB",
      packageMb: Math.round(mb * 10) / 10,
      daemon: { what: "peak RSS rise while a fresh process, holding the bytes, decodes the package once", addedMb: memory.decodeAddedMb },
      baseline: { what: "peak RSS rise while the same kind of process sha256s the bytes", addedMb: memory.baselineAddedMb },
      addedPerPackageMb: ratio(memory.decodeAddedMb, mb),
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
