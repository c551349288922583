/** The pip options every repackaging step shares: quiet machine-readable output, the shared cache, the index. */
import path from "node:path";

export interface PipSettings {
  readonly cacheDir: string;
  readonly indexUrl: string;
  readonly extraArgs: readonly string[];
  readonly allowPrerelease: boolean;
}

export function commonPipArguments(settings: PipSettings): string[] {
  return [
    "--disable-pip-version-check",
    "--no-input",
    "--progress-bar",
    "off",
    "--cache-dir",
    path.join(settings.cacheDir, "pip"),
    ...(settings.indexUrl ? ["--index-url", settings.indexUrl] : []),
    ...(settings.allowPrerelease ? ["--pre"] : []),
    ...settings.extraArgs,
  ];
}
