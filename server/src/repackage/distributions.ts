/**
 * Getting the distribution files a target resolved to, through a cache shared by every run (and every plugin:
 * ten plugins that need the same numpy download it once):
 *   <cache>/files/<sha256>/<file>            a downloaded distribution, by content hash
 *   <cache>/built/<sdist sha256>-cpXY/<whl>  a wheel built here from an sdist, by source hash and Python
 *   <cache>/pip/                             pip's own HTTP cache (index pages, metadata)
 * Misses are downloaded by pip itself (`pip download --no-deps <url>...`), so proxies, certificates and index
 * credentials work as the operator configured them; each file is checked against the hash pip resolved it with.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { RepackageError } from "./errors.js";
import { commonPipArguments, type PipSettings } from "./pip-options.js";
import { pipEnvironment } from "./pip-environment.js";
import type { ResolvedDistribution } from "./resolve.js";
import { runCommand } from "./run-command.js";
import { describeTarget, type Target, targetArguments } from "./targets.js";
import type { RepackageProgress } from "./types.js";

/** A wheel ready to bundle. */
export interface ObtainedWheel {
  readonly filename: string;
  /** Where it is in the cache. */
  readonly file: string;
  readonly size: number;
  readonly origin: "cache" | "download" | "built";
}

export interface ObtainContext {
  readonly settings: PipSettings;
  readonly onProgress?: (progress: RepackageProgress) => void;
  readonly signal?: AbortSignal;
}

const exists = (file: string): Promise<boolean> => stat(file).then(() => true, () => false);

async function sha256Of(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** stagingDirectory is a fresh directory on the cache's file system, for files about to be renamed into it. */
async function stagingDirectory(cacheDir: string): Promise<string> {
  const dir = path.join(cacheDir, "tmp", `staging-${process.pid}-${randomBytes(6).toString("hex")}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

function cachedPath(cacheDir: string, dist: ResolvedDistribution): string {
  // Without a hash from the index, the URL names the file (index file names are immutable on PyPI).
  const key = dist.sha256 ?? `url-${createHash("sha256").update(dist.url).digest("hex")}`;
  return path.join(cacheDir, "files", key, dist.filename);
}

/** obtainWheels returns one wheel per resolved distribution of the target, downloading and building what the cache lacks. */
export async function obtainWheels(target: Target, dists: readonly ResolvedDistribution[], context: ObtainContext): Promise<ObtainedWheel[]> {
  const { settings, onProgress } = context;
  const total = dists.length;
  let completed = 0;
  const report = (message: string): void => onProgress?.({ stage: "download", message, platform: target.platform, completed, total });

  const files = new Map<ResolvedDistribution, { file: string; origin: "cache" | "download" }>();
  const misses: ResolvedDistribution[] = [];
  for (const dist of dists) {
    const file = cachedPath(settings.cacheDir, dist);
    if (await exists(file)) {
      files.set(dist, { file, origin: "cache" });
      if (dist.isWheel) {
        completed++;
        report(`${dist.filename} (cached)`);
      }
    } else {
      misses.push(dist);
    }
  }

  if (misses.length > 0) {
    for (const [dist, file] of await downloadMisses(target, misses, context, (dist) => {
      completed++;
      report(`${dist.filename} (downloaded)`);
    })) {
      files.set(dist, { file, origin: "download" });
    }
  }

  const wheels: ObtainedWheel[] = [];
  for (const dist of dists) {
    const got = files.get(dist);
    if (!got) throw new RepackageError(`internal: ${dist.filename} was neither cached nor downloaded`);
    if (dist.isWheel) {
      wheels.push({ filename: dist.filename, file: got.file, size: (await stat(got.file)).size, origin: got.origin });
      continue;
    }
    wheels.push(await buildWheel(target, dist, got.file, context));
    completed++;
    report(`${wheels.at(-1)?.filename} (built from ${dist.filename})`);
  }
  return wheels;
}

/**
 * downloadMisses has pip fetch the files the cache lacks, checks each against the hash it was resolved with and
 * moves it into the cache. Files are staged inside the cache, so the move is a rename on one file system (a
 * scratch directory under /tmp is often another: tmpfs, or a container layer while the cache is a volume).
 */
async function downloadMisses(
  target: Target,
  misses: readonly ResolvedDistribution[],
  context: ObtainContext,
  onWheel: (dist: ResolvedDistribution) => void,
): Promise<Map<ResolvedDistribution, string>> {
  const { settings } = context;
  const incoming = await stagingDirectory(settings.cacheDir);
  try {
    const args = ["-m", "pip", "download", "--no-deps", "-d", incoming, ...targetArguments(target), ...commonPipArguments(settings, "download"), ...misses.map((d) => d.url)];
    const byName = new Map(misses.map((d) => [d.filename, d]));
    const result = await runCommand(target.interpreter, args, {
      env: pipEnvironment({ TMPDIR: settings.tmpDir }),
      ...(context.signal ? { signal: context.signal } : {}),
      onLine: (line) => {
        const saved = /^Saved (.+)$/.exec(line.trim())?.[1];
        const dist = saved ? byName.get(path.basename(saved)) : undefined;
        if (dist?.isWheel) onWheel(dist);
      },
    });
    if (result.code !== 0) {
      throw new RepackageError(`downloading ${misses.length} distribution(s) for ${describeTarget(target)} failed: ${lastLine(result.output)}`, result.output);
    }
    const cached = new Map<ResolvedDistribution, string>();
    for (const dist of misses) {
      const downloaded = path.join(incoming, dist.filename);
      if (!(await exists(downloaded))) {
        throw new RepackageError(`pip reported success but did not save ${dist.filename} for ${describeTarget(target)}`, result.output);
      }
      if (dist.sha256 && (await sha256Of(downloaded)) !== dist.sha256) {
        throw new RepackageError(`${dist.filename} does not match the sha256 the index published (${dist.sha256}); the download or the index is corrupt`);
      }
      const file = cachedPath(settings.cacheDir, dist);
      await mkdir(path.dirname(file), { recursive: true });
      await rename(downloaded, file);
      cached.set(dist, file);
    }
    return cached;
  } finally {
    await rm(incoming, { recursive: true, force: true });
  }
}

/** buildWheel turns an sdist into a wheel with the target's own interpreter; only native targets get here. */
async function buildWheel(target: Target, dist: ResolvedDistribution, sdist: string, context: ObtainContext): Promise<ObtainedWheel> {
  if (!target.native) {
    throw new RepackageError(`${dist.name} ${dist.version} has only an sdist for ${describeTarget(target)}, and sdists are built for this machine only`);
  }
  // A wheel built here fits this interpreter and machine: a cache shared by other machines must not hand it out.
  const key = `${dist.sha256 ?? (await sha256Of(sdist))}-cp${target.pythonVersion.replace(".", "")}-${target.platform}`;
  const builtDir = path.join(context.settings.cacheDir, "built", key);
  const cached = (await readdir(builtDir).catch(() => [] as string[])).find((f) => f.endsWith(".whl"));
  if (cached) {
    const file = path.join(builtDir, cached);
    return { filename: cached, file, size: (await stat(file)).size, origin: "cache" };
  }
  context.onProgress?.({ stage: "download", message: `building a wheel from ${dist.filename}`, platform: target.platform });
  const out = await stagingDirectory(context.settings.cacheDir);
  try {
    const result = await runCommand(
      target.interpreter,
      ["-m", "pip", "wheel", "--no-deps", "-w", out, ...commonPipArguments(context.settings, "download"), sdist],
      { env: pipEnvironment({ TMPDIR: context.settings.tmpDir }), ...(context.signal ? { signal: context.signal } : {}) },
    );
    const built = (await readdir(out).catch(() => [] as string[])).find((f) => f.endsWith(".whl"));
    if (result.code !== 0 || !built) {
      throw new RepackageError(
        `building a wheel of ${dist.name} ${dist.version} from its sdist failed for ${describeTarget(target)}: ${lastLine(result.output)}; ` +
          "its build may need system libraries or a compiler, or a build backend the index lacks",
        result.output,
      );
    }
    await mkdir(builtDir, { recursive: true });
    const file = path.join(builtDir, built);
    await rename(path.join(out, built), file);
    return { filename: built, file, size: (await stat(file)).size, origin: "built" };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

function lastLine(output: string): string {
  const errors = output.split("\n").filter((l) => l.startsWith("ERROR:"));
  return (errors.pop() ?? output.split("\n").pop() ?? "no output").replace(/^ERROR:\s*/, "");
}
