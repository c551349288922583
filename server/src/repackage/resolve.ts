/**
 * Resolving a plugin's dependencies for one target with pip's own resolver (`pip install --dry-run --report`):
 * pip knows markers, version specifiers, tags and indexes; the report tells exactly which file of which
 * distribution it would install, with its hash. Nothing is installed; the files are fetched afterwards, through
 * the shared cache (distributions.ts).
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { RepackageError } from "./errors.js";
import { commonPipArguments, type PipSettings } from "./pip-options.js";
import { pipEnvironment } from "./pip-environment.js";
import { runCommand } from "./run-command.js";
import { describeTarget, type Target, targetArguments } from "./targets.js";

/** One distribution file pip chose for a target. */
export interface ResolvedDistribution {
  readonly name: string;
  readonly version: string;
  readonly url: string;
  readonly filename: string;
  /** Hex SHA-256 when the index (or pip, for local files) told it. */
  readonly sha256?: string;
  readonly isWheel: boolean;
}

interface ReportItem {
  readonly metadata?: { readonly name?: string; readonly version?: string };
  readonly download_info?: { readonly url?: string; readonly archive_info?: { readonly hashes?: Record<string, string> }; readonly dir_info?: unknown; readonly vcs_info?: unknown };
}

export interface ResolveInput {
  readonly requirementsFile: string;
  readonly constraintsFile?: string;
  /** A scratch directory of this run. */
  readonly workDir: string;
}

export async function resolveTarget(target: Target, input: ResolveInput, settings: PipSettings, signal?: AbortSignal): Promise<ResolvedDistribution[]> {
  const id = randomBytes(4).toString("hex");
  const report = path.join(input.workDir, `report-${id}.json`);
  const args = [
    "-m",
    "pip",
    "install",
    "--dry-run",
    "--ignore-installed",
    "--report",
    report,
    // Required by pip with platform options; with --dry-run nothing is written there.
    "--target",
    path.join(input.workDir, `never-installed-${id}`),
    ...targetArguments(target),
    ...commonPipArguments(settings),
    "-r",
    input.requirementsFile,
    ...(input.constraintsFile ? ["-c", input.constraintsFile] : []),
  ];
  const result = await runCommand(target.interpreter, args, { env: pipEnvironment({ TMPDIR: settings.tmpDir }), ...(signal ? { signal } : {}) });
  if (result.code !== 0) throw resolutionError(target, result.output, settings.indexUrl);

  const parsed = JSON.parse(await readFile(report, "utf8")) as { install?: ReportItem[] };
  return (parsed.install ?? []).map((item) => distributionOf(item, target));
}

function distributionOf(item: ReportItem, target: Target): ResolvedDistribution {
  const name = item.metadata?.name ?? "?";
  const version = item.metadata?.version ?? "?";
  const info = item.download_info;
  if (!info?.url || info.dir_info !== undefined || info.vcs_info !== undefined) {
    throw new RepackageError(
      `${name} ${version} comes from ${info?.url ?? "an unknown place"} (a directory or version-control checkout), not from an index; ` +
        `only index or URL distributions can be bundled for ${describeTarget(target)}: publish it as a wheel or list it by name`,
    );
  }
  const url = info.url;
  const filename = decodeURIComponent(new URL(url).pathname.split("/").pop() ?? "");
  const sha256 = info.archive_info?.hashes?.["sha256"];
  return { name, version, url, filename, ...(sha256 ? { sha256 } : {}), isWheel: filename.endsWith(".whl") };
}

/** resolutionError turns pip's failure into what to do about it, keeping pip's words as the detail. */
export function resolutionError(target: Target, output: string, indexUrl: string): RepackageError {
  const where = describeTarget(target);
  // An unreachable index also ends in "No matching distribution": what to fix is the index, not the version.
  if (/NewConnectionError|Max retries exceeded|Could not fetch URL|Name or service not known|Connection refused/.test(output)) {
    return new RepackageError(
      `cannot reach the Python package index${indexUrl ? ` ${indexUrl}` : ""} while resolving for ${where}; set PIP_MIRROR_URL to an index this machine can reach`,
      output,
    );
  }
  const missing = /No matching distribution found for (.+)$/m.exec(output)?.[1]?.trim();
  if (missing) {
    const offered = new RegExp(`requirement ${escapeRegExp(missing)} \\(from versions: ([^)]*)\\)`).exec(output)?.[1]?.trim();
    const hint = target.native
      ? "the index has no file of it that this Python can install"
      : "this target takes wheels only (an sdist can only be built on the machine and Python it is for): choose a version that publishes a wheel for it, or repackage on such a machine without --platform";
    return new RepackageError(
      `no wheel of ${missing} for ${where}: ${hint}${offered && offered !== "none" ? ` (versions that fit: ${offered})` : ""}`,
      output,
    );
  }
  const conflict = /ResolutionImpossible|conflicting dependencies|Cannot install/.test(output);
  const lastError = output
    .split("\n")
    .filter((line) => line.startsWith("ERROR:"))
    .pop();
  const firstLine = output.split("\n").find((line) => line.trim() !== "");
  return new RepackageError(
    `${conflict ? "the dependencies conflict" : "pip could not resolve the dependencies"} for ${where}: ${lastError?.replace(/^ERROR:\s*/, "") ?? firstLine ?? "no output"}`,
    output,
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
