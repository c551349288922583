/**
 * Environments of the processes the local runtime starts. Each is built from an allowlist: the daemon's own
 * environment holds its secrets (SERVER_KEY, DB_PASSWORD, storage keys), and the reference daemon hands all of
 * it to every plugin. Here a plugin sees only what it needs to run and reach the network.
 */
import path from "node:path";

const PROXY_VARIABLES = ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"];
const TLS_VARIABLES = ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"];

/** What a plugin process inherits from the daemon, when set. */
export const PLUGIN_ENV_ALLOWLIST: readonly string[] = [
  "PATH",
  "HOME",
  "LANG",
  "LC_ALL",
  "TZ",
  ...PROXY_VARIABLES,
  ...TLS_VARIABLES,
];

/** What pip (or uv) inherits from the daemon, when set. PIP_CONFIG_FILE lets operators (and tests) pin pip's config. */
export const INSTALLER_ENV_ALLOWLIST: readonly string[] = [
  "PATH",
  "HOME",
  "TMPDIR",
  ...PROXY_VARIABLES,
  ...TLS_VARIABLES,
  "PIP_CONFIG_FILE",
];

function pick(source: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = source[name];
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}

/** pluginEnvironment is the environment of a plugin instance: the allowlist, the venv first on PATH, extraEnv last. */
export function pluginEnvironment(
  venvPath: string,
  extraEnv: Readonly<Record<string, string>>,
  source: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env = pick(source, PLUGIN_ENV_ALLOWLIST);
  const venvBin = path.join(venvPath, "bin");
  env["PATH"] = env["PATH"] ? `${venvBin}${path.delimiter}${env["PATH"]}` : venvBin;
  return { ...env, INSTALL_METHOD: "local", PYTHONUNBUFFERED: "1", ...extraEnv };
}

/** installerEnvironment is the environment of venv creation and dependency installation. */
export function installerEnvironment(
  venvPath: string,
  extra: Readonly<Record<string, string>> = {},
  source: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  return { ...pick(source, INSTALLER_ENV_ALLOWLIST), VIRTUAL_ENV: venvPath, ...extra };
}
