/**
 * A plugin's working directory and Python environment (spec plugin-protocol §1.1-§1.2):
 * `<workingPath>/<author>/<name>-<version>@<checksum>` holds the extracted package and its `.venv`; the venv is
 * valid once `.venv/dify/plugin.json` exists, and a valid venv is reused as is.
 *
 * Where this differs from the reference daemon: the venv uses the configured interpreter (not a hard-coded
 * 3.12); pip is the installer unless `uv` is on PATH; a package carrying `wheels/` installs with `--no-index`
 * (fully offline, whatever the index settings say); installers get an allowlisted environment; an empty
 * requirements.txt skips pip entirely; a failed install removes the half-made venv; extraction is atomic.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, mkdir, readFile, readdir, rename, rm, rmdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "../../logger.js";
import type { PackageEntry } from "../../packaging/archive.js";
import { parseUniqueIdentifier } from "../../packaging/identifier.js";
import { installerEnvironment } from "./child-env.js";
import { findOnPath, findPython } from "./find-on-path.js";
import { type DependencyPlan, planDependencies } from "./dependencies.js";
import { runnerVersionOf } from "./runner.js";
import { type EnvironmentOptions, LOCAL_DEFAULTS } from "./options.js";
import { PythonEnvironmentError, runStep } from "./run-step.js";

export { PythonEnvironmentError } from "./run-step.js";

export interface PreparedEnvironment {
  readonly uniqueIdentifier: string;
  readonly workingDirectory: string;
  readonly venvPath: string;
  /** `<venv>/bin/python`, the interpreter the plugin runs with. */
  readonly pythonPath: string;
  /** True when a valid venv was already there and nothing was installed. */
  readonly reused: boolean;
  /** What was done and how long it took, for logs and benchmarks. */
  readonly timings: { readonly extractMs: number; readonly venvMs: number; readonly installMs: number };
}

const VENV = ".venv";
const MARKER = path.join(VENV, "dify", "plugin.json");

/** workingDirectoryOf is where a package is extracted: `<workingPath>/<author>/<name>-<version>@<checksum>`. */
export function workingDirectoryOf(workingPath: string, uniqueIdentifier: string): string {
  const id = parseUniqueIdentifier(uniqueIdentifier);
  return path.join(path.resolve(workingPath), id.author, `${id.name}-${id.version}@${id.checksum}`);
}

/** One setup or removal at a time per working directory (two tenants installing the same package at once). */
const locks = new Map<string, Promise<unknown>>();

async function exclusively<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = locks.get(key) ?? Promise.resolve();
  const current = previous.catch(() => undefined).then(work);
  locks.set(key, current);
  try {
    return await current;
  } finally {
    if (locks.get(key) === current) locks.delete(key);
  }
}

const exists = (file: string): Promise<boolean> =>
  access(file, constants.F_OK).then(
    () => true,
    () => false,
  );

/**
 * prepareEnvironment extracts a package (unless its directory is already there) and makes its venv ready,
 * installing its dependencies. It throws PythonEnvironmentError (a FailedPreconditionError) with the
 * installer's output when that fails, leaving no `.venv` behind.
 */
export async function prepareEnvironment(
  uniqueIdentifier: string,
  entries: readonly PackageEntry[],
  options: EnvironmentOptions,
  signal?: AbortSignal,
): Promise<PreparedEnvironment> {
  const workingDirectory = workingDirectoryOf(options.workingPath, uniqueIdentifier);
  return exclusively(workingDirectory, () => prepare(uniqueIdentifier, workingDirectory, entries, options, signal));
}

async function prepare(
  uniqueIdentifier: string,
  workingDirectory: string,
  entries: readonly PackageEntry[],
  options: EnvironmentOptions,
  signal: AbortSignal | undefined,
): Promise<PreparedEnvironment> {
  const logger = options.logger.child({ component: "runtime.local.environment", plugin: uniqueIdentifier });
  const venvPath = path.join(workingDirectory, VENV);
  const pythonPath = path.join(venvPath, "bin", "python");
  const started = Date.now();

  await extractOnce(workingDirectory, entries);
  const extractMs = Date.now() - started;

  if ((await exists(path.join(workingDirectory, MARKER))) && (await exists(pythonPath))) {
    logger.debug({ workingDirectory }, "reusing the ready python environment");
    return { uniqueIdentifier, workingDirectory, venvPath, pythonPath, reused: true, timings: { extractMs, venvMs: 0, installMs: 0 } };
  }
  // A venv without the marker is a leftover of an interrupted setup: start over.
  await rm(venvPath, { recursive: true, force: true });

  const plan = planDependencies(
    await readOptional(path.join(workingDirectory, "requirements.txt")),
    await readOptional(path.join(workingDirectory, "pyproject.toml")),
  );
  const wheels = path.join(workingDirectory, "wheels");
  const offline = await stat(wheels).then(
    (s) => s.isDirectory(),
    () => false,
  );
  const uv = options.uvPath === null ? undefined : (options.uvPath ?? (await findOnPath("uv")));
  const deadline = started + (options.installTimeoutMs ?? LOCAL_DEFAULTS.installTimeoutMs);
  const step = {
    cwd: workingDirectory,
    deadline,
    inactivityMs: options.installInactivityMs ?? LOCAL_DEFAULTS.installInactivityMs,
    logger,
    ...(signal ? { signal } : {}),
  };
  const env = installerEnvironment(
    venvPath,
    uv ? { UV_CACHE_DIR: path.join(path.resolve(options.workingPath), ".uv-cache") } : {},
  );
  const interpreter = options.pythonInterpreter ?? (await interpreterFor(entries, logger));

  try {
    const venvStarted = Date.now();
    const needsPip = plan.kind !== "none" && !uv;
    if (uv) {
      await runStep(uv, ["venv", VENV, "--python", interpreter], {
        ...step,
        env,
        name: "uv venv",
        what: `creating the venv of ${uniqueIdentifier}`,
      });
    } else {
      // Without dependencies the venv needs no pip, which saves seconds of ensurepip per plugin.
      const args = ["-m", "venv", ...(needsPip ? [] : ["--without-pip"]), VENV];
      await runStep(interpreter, args, {
        ...step,
        env,
        name: `${interpreter} -m venv`,
        what: `creating the venv of ${uniqueIdentifier}`,
      });
    }
    const venvMs = Date.now() - venvStarted;

    const installStarted = Date.now();
    if (plan.kind === "none") {
      logger.info({ reason: plan.reason }, "no dependencies to install");
    } else {
      const args = installArguments(plan, options, offline ? wheels : undefined, uv ? "uv" : "pip");
      const [command, prefix] = uv ? [uv, ["pip", "install", "--python", pythonPath]] : [pythonPath, ["-m", "pip", "install"]];
      logger.info({ command, args: [...prefix, ...args], offline }, "installing dependencies");
      await runStep(command, [...prefix, ...args], {
        ...step,
        env,
        name: uv ? "uv pip" : "pip",
        what: `installing the dependencies of ${uniqueIdentifier} (from ${plan.file}${offline ? ", offline from wheels/" : ""})`,
      });
    }
    const installMs = Date.now() - installStarted;

    await mkdir(path.dirname(path.join(workingDirectory, MARKER)), { recursive: true });
    await writeFile(
      path.join(workingDirectory, MARKER),
      `${JSON.stringify({ timestamp: Math.floor(Date.now() / 1000), installer: uv ? "uv" : "pip", offline })}\n`,
    );
    logger.info({ venvMs, installMs, offline }, "python environment ready");
    return { uniqueIdentifier, workingDirectory, venvPath, pythonPath, reused: false, timings: { extractMs, venvMs, installMs } };
  } catch (err) {
    await rm(venvPath, { recursive: true, force: true });
    throw err instanceof PythonEnvironmentError
      ? err
      : new PythonEnvironmentError(`setting up the python environment of ${uniqueIdentifier} failed: ${String(err)}`);
  }
}

/** installArguments are pip's (and uv pip's) arguments after `install`. */
function installArguments(
  plan: Exclude<DependencyPlan, { kind: "none" }>,
  options: EnvironmentOptions,
  wheelsDirectory: string | undefined,
  installer: "pip" | "uv",
): string[] {
  // uv never prompts nor checks its own version; the two flags are pip's.
  const args = installer === "pip" ? ["--disable-pip-version-check", "--no-input"] : [];
  if (wheelsDirectory) args.push("--no-index", "--find-links", wheelsDirectory);
  else if (options.pipMirrorUrl) args.push("-i", options.pipMirrorUrl);
  if (plan.kind === "requirements-file") args.push("-r", plan.file);
  else args.push(...plan.requirements);
  const extra = (options.pipExtraArgs ?? "").split(/\s+/).filter((a) => a !== "");
  return [...args, ...extra];
}

/**
 * interpreterFor picks the python the manifest asks for (`meta.runner.version`, e.g. "3.12" → `python3.12`)
 * when it is on PATH, and the default interpreter otherwise (with a warning: the plugin may still work).
 */
async function interpreterFor(entries: readonly PackageEntry[], logger: Logger): Promise<string> {
  const version = runnerVersionOf(entries);
  if (version === undefined) return LOCAL_DEFAULTS.pythonInterpreter;
  const found = await findPython(version);
  if (found) return found;
  logger.warn({ wanted: `python${version}`, using: LOCAL_DEFAULTS.pythonInterpreter }, "the python version the plugin asks for is not installed");
  return LOCAL_DEFAULTS.pythonInterpreter;
}

async function readOptional(file: string): Promise<string | undefined> {
  return readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
}

/**
 * extractOnce writes the entries into the working directory unless it already holds files (the reference's rule:
 * never re-extract over an existing directory). It extracts into a sibling temporary directory and renames it
 * into place, so an interrupted extraction never looks complete.
 */
async function extractOnce(workingDirectory: string, entries: readonly PackageEntry[]): Promise<void> {
  const present = await readdir(workingDirectory).then(
    (names) => names.length > 0,
    () => false,
  );
  if (present) return;
  const staging = `${workingDirectory}.extract-${randomBytes(6).toString("hex")}`;
  try {
    await mkdir(staging, { recursive: true });
    for (const entry of entries) {
      const target = path.resolve(staging, entry.name);
      // Entries come from the decoder, already checked; confine them anyway.
      if (!target.startsWith(staging + path.sep)) {
        throw new PythonEnvironmentError(`package entry ${JSON.stringify(entry.name)} would be written outside its working directory`);
      }
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, entry.data);
    }
    await rm(workingDirectory, { recursive: true, force: true });
    await rename(staging, workingDirectory);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}

/** removeEnvironment deletes a package's working directory, venv included (uninstall of its last user). */
export async function removeEnvironment(workingPath: string, uniqueIdentifier: string): Promise<void> {
  const workingDirectory = workingDirectoryOf(workingPath, uniqueIdentifier);
  await exclusively(workingDirectory, async () => {
    await rm(workingDirectory, { recursive: true, force: true });
    // Drop the author directory when this was its last package; a concurrent install may refill it, so ignore errors.
    const parent = path.dirname(workingDirectory);
    if (parent !== path.resolve(workingPath)) {
      await rmdir(parent).catch(() => undefined);
    }
  });
}
