/** The pip options every repackaging step shares: quiet machine-readable output, the shared cache, the index. */
import path from "node:path";

export interface PipSettings {
  readonly cacheDir: string;
  /** TMPDIR of every pip step: inside the run's scratch directory, so pip's leftovers go with it. */
  readonly tmpDir: string;
  readonly indexUrl: string;
  readonly extraArgs: readonly string[];
  readonly allowPrerelease: boolean;
}

/**
 * PIP_EXTRA_ARGS is the daemon's setting for `pip install`; resolving is a `pip install --dry-run` and takes it
 * whole. `pip download` and `pip wheel` reject install-only options (--break-system-packages, --user, ...), so
 * they get only the options that say where and how to fetch, which they share with install.
 */
const FETCH_OPTIONS_WITH_VALUE = new Set(["-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--trusted-host", "--cert", "--client-cert", "--proxy", "--timeout", "--retries"]);
const FETCH_FLAGS = new Set(["--no-index", "--pre", "--prefer-binary", "--isolated"]);

export function fetchOptions(extraArgs: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < extraArgs.length; i++) {
    const arg = extraArgs[i] ?? "";
    const name = arg.split("=")[0] ?? "";
    if (FETCH_FLAGS.has(arg) || (arg.includes("=") && FETCH_OPTIONS_WITH_VALUE.has(name))) {
      kept.push(arg);
    } else if (FETCH_OPTIONS_WITH_VALUE.has(arg) && i + 1 < extraArgs.length) {
      kept.push(arg, extraArgs[++i] ?? "");
    }
  }
  return kept;
}

export function commonPipArguments(settings: PipSettings, step: "resolve" | "download" = "resolve"): string[] {
  return [
    "--disable-pip-version-check",
    "--no-input",
    "--progress-bar",
    "off",
    "--cache-dir",
    path.join(settings.cacheDir, "pip"),
    ...(settings.indexUrl ? ["--index-url", settings.indexUrl] : []),
    ...(settings.allowPrerelease ? ["--pre"] : []),
    ...(step === "resolve" ? settings.extraArgs : fetchOptions(settings.extraArgs)),
  ];
}
