/**
 * The repackager's settings from the environment, with the daemon's variable names so that one set of
 * settings serves the daemon (RepackageService) and the CLI: MARKETPLACE_API_URL, GITHUB_API_URL,
 * PIP_MIRROR_URL, PIP_EXTRA_ARGS, MAX_PLUGIN_PACKAGE_SIZE, PYTHON_INTERPRETER_PATH, REPACKAGE_CACHE_DIR, and
 * THIRD_PARTY_SIGNATURE_VERIFICATION_ENABLED/_PUBLIC_KEYS (keys, besides the official one, that the source
 * package's signature is checked against for the report).
 */
import os from "node:os";
import path from "node:path";
import { InvalidArgumentError } from "../errors.js";

export interface RepackageSettings {
  readonly marketplaceUrl: string;
  readonly githubUrl: string;
  readonly indexUrl: string;
  readonly pipExtraArgs: readonly string[];
  readonly maxPackageBytes: number;
  readonly pythonInterpreter: string;
  readonly cacheDir: string;
}

/** thirdPartyKeyFilesFromEnv: the daemon's rule, the key list counts only when verification is enabled. */
export function thirdPartyKeyFilesFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  if (!/^(true|1)$/i.test(env["THIRD_PARTY_SIGNATURE_VERIFICATION_ENABLED"] ?? "")) return [];
  return (env["THIRD_PARTY_SIGNATURE_VERIFICATION_PUBLIC_KEYS"] ?? "")
    .split(",")
    .map((f) => f.trim())
    .filter((f) => f !== "")
    .map((f) => path.resolve(f));
}

/** The CLI's cache when REPACKAGE_CACHE_DIR is unset: the user's cache directory (the daemon uses DATA_DIR). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env["XDG_CACHE_HOME"] || path.join(os.homedir(), ".cache"), "dify-plugin-daemon", "repackage");
}

function httpUrl(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const value = env[name] || fallback;
  if (value !== "" && !/^https?:\/\/\S+$/.test(value)) throw new InvalidArgumentError(`${name}=${JSON.stringify(value)}: give an http(s) URL`);
  return value;
}

export function repackageSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): RepackageSettings {
  const size = env["MAX_PLUGIN_PACKAGE_SIZE"] || "52428800";
  if (!/^[1-9][0-9]*$/.test(size)) throw new InvalidArgumentError(`MAX_PLUGIN_PACKAGE_SIZE=${JSON.stringify(size)}: give a positive number of bytes`);
  return {
    marketplaceUrl: httpUrl(env, "MARKETPLACE_API_URL", "https://marketplace.dify.ai"),
    githubUrl: httpUrl(env, "GITHUB_API_URL", "https://github.com"),
    indexUrl: httpUrl(env, "PIP_MIRROR_URL", ""),
    pipExtraArgs: (env["PIP_EXTRA_ARGS"] ?? "").split(/\s+/).filter((a) => a !== ""),
    maxPackageBytes: Number(size),
    pythonInterpreter: env["PYTHON_INTERPRETER_PATH"] || "python3",
    cacheDir: path.resolve(env["REPACKAGE_CACHE_DIR"] || defaultCacheDir(env)),
  };
}
