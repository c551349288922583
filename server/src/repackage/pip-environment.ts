/**
 * The environment pip runs in while repackaging. Building an sdist runs the package's own build code, so pip
 * gets an allowlist, not the daemon's environment (which holds SERVER_KEY and database passwords): what finds
 * the network (proxies, certificates) and pip's own PIP_* settings, which are the operator's to give.
 */
import { INSTALLER_ENV_ALLOWLIST } from "../runtimes/local/child-env.js";

/**
 * PIP_-named variables pip must not see: the daemon's own settings (not pip options), and PIP_NO_CACHE_DIR,
 * which pip honours whatever its value and which would turn off the HTTP cache the repackager shares between
 * runs (it passes --cache-dir itself).
 */
const NOT_FOR_PIP = new Set(["PIP_MIRROR_URL", "PIP_EXTRA_ARGS", "PIP_NO_CACHE_DIR"]);

export function pipEnvironment(extra: Readonly<Record<string, string>> = {}, source: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(source)) {
    if (value !== undefined && (INSTALLER_ENV_ALLOWLIST.includes(name) || (name.startsWith("PIP_") && !NOT_FOR_PIP.has(name)))) env[name] = value;
  }
  return { ...env, PIP_DISABLE_PIP_VERSION_CHECK: "1", PIP_NO_INPUT: "1", PYTHONUNBUFFERED: "1", ...extra };
}
