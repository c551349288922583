import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { buildPackage } from "../src/packaging/build-package.js";
import { loadTrustedKeys } from "../src/packaging/trusted-keys.js";
import { repackage } from "../src/repackage/repackage.js";
import { fixtureTree } from "../test/fixture-packages.js";
import { buildDistributions, hermeticPipEnv, startSimpleIndex, type TinyProject } from "../test/python-index.js";
import { median, printFigure, ratio } from "./stats.js";

const run = promisify(execFile);
const RUNS = 3;
const DEPENDENCIES = 20;


/**
 * benchRepackageTime: repackaging a plugin whose requirements.txt names 20 distributions (each ~200 KiB, a few
 * depending on others) from a local PEP 503 index, against bare `pip download -r requirements.txt` of the same
 * requirements from the same index, in the same run. The repackager is timed cold (empty cache: resolve,
 * download, rewrite, pack, offline proof), cold without the proof, and warm (every file from the shared cache).
 */
export async function benchRepackageTime(): Promise<void> {
  const savedConfig = process.env.PIP_CONFIG_FILE;
  process.env.PIP_CONFIG_FILE = "/dev/null";
  const scratch = await mkdtemp(path.join(os.tmpdir(), "bench-repackage-"));
  const projects: TinyProject[] = Array.from({ length: DEPENDENCIES }, (_, i) => ({
    name: `bench-dep-${i}`,
    version: "1.0.0",
    paddingBytes: 200 * 1024,
    ...(i % 5 === 0 && i + 1 < DEPENDENCIES ? { dependencies: [`bench-dep-${i + 1}>=1`] } : {}),
  }));
  await buildDistributions(path.join(scratch, "index"), projects);
  const index = await startSimpleIndex(path.join(scratch, "index"));
  try {
    const requirements = `${projects.map((p) => `${p.name}==${p.version}`).join("\n")}\n`;
    await writeFile(path.join(scratch, "requirements.txt"), requirements);
    const tree = await fixtureTree("echo-tool");
    await writeFile(path.join(tree.dir, "requirements.txt"), requirements);
    const bytes = (await buildPackage(tree.dir, { maxBytes: 50 * 1024 * 1024 })).bytes;
    await tree.cleanup();

    const once = (cacheDir: string, skipOfflineProof: boolean) =>
      repackage({
        source: { kind: "bytes", bytes },
        platforms: [],
        suffix: "offline",
        maxPackageBytes: 200 * 1024 * 1024,
        indexUrl: index.url,
        // As with PyPI over https, pip may cache this http index's files (resolution and download share them).
        pipExtraArgs: ["--trusted-host", "127.0.0.1"],
        allowPrerelease: false,
        skipOfflineProof,
        cacheDir,
        pythonInterpreter: "python3",
        marketplaceUrl: "http://127.0.0.1:9",
        githubUrl: "http://127.0.0.1:9",
        trustedKeys: loadTrustedKeys([]),
      });

    const cold: number[] = [];
    const coldNoProof: number[] = [];
    const warm: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const cache = path.join(scratch, `cache-${i}`);
      let t0 = performance.now();
      const outcome = await once(cache, false);
      cold.push(performance.now() - t0);
      if (outcome.proof.status !== "passed") throw new Error(`bench repackage proof ${outcome.proof.status}`);

      t0 = performance.now();
      await once(cache, false);
      warm.push(performance.now() - t0);

      t0 = performance.now();
      await once(path.join(scratch, `cache-noproof-${i}`), true);
      coldNoProof.push(performance.now() - t0);

      const target = path.join(scratch, `download-${i}`);
      t0 = performance.now();
      await run(
        "python3",
        ["-m", "pip", "download", "--disable-pip-version-check", "--no-cache-dir", "--progress-bar", "off", "-d", target, "--index-url", index.url, "-r", path.join(scratch, "requirements.txt")],
        { env: hermeticPipEnv() },
      );
      bare.push(performance.now() - t0);
    }
    const baseline = median(bare);
    const toBaseline = (ms: number) => ratio(ms, baseline);
    printFigure({
      figure: "repackage_time_20_dependencies",
      unit: "ms",
      repackager: {
        cold: { what: "empty cache: fetch, decode, resolve, download, rewrite, pack, offline proof in a fresh venv", medianMs: Math.round(median(cold)), ratio: toBaseline(median(cold)) },
        coldWithoutProof: { what: "the same with --no-proof", medianMs: Math.round(median(coldNoProof)), ratio: toBaseline(median(coldNoProof)) },
        warm: { what: "every distribution from the shared cache, proof included", medianMs: Math.round(median(warm)), ratio: toBaseline(median(warm)) },
        runs: RUNS,
      },
      baseline: { what: "pip download -r requirements.txt from the same local index (no cache)", medianMs: Math.round(baseline), runs: RUNS },
    });
  } finally {
    await index.close();
    await rm(scratch, { recursive: true, force: true });
    if (savedConfig === undefined) delete process.env.PIP_CONFIG_FILE;
    else process.env.PIP_CONFIG_FILE = savedConfig;
  }
}
