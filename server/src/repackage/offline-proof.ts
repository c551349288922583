/**
 * The proof that an offline package is offline: the packed output, extracted (so an ignore rule that dropped
 * wheels, or a requirements file it includes, would show), its requirements installed into a fresh venv with
 * every road to an index closed, then every installed distribution's top-level modules imported. pip comes from the host interpreter
 * (`pip --python <venv>`), which spares the venv its own pip and keeps the check to what the package brings.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { PackageEntry } from "../packaging/archive.js";
import { declaresRequirements, OFFLINE_REQUIREMENTS_HEADER } from "./dependency-files.js";
import { pipEnvironment } from "./pip-environment.js";
import { lastJsonLine, runCommand } from "./run-command.js";
import type { Target } from "./targets.js";
import type { OfflineProof } from "./types.js";

// Unreachable on purpose: were pip to look for an index or a proxy, it would fail here, not quietly succeed.
const NOWHERE = "http://127.0.0.1:9/offline-proof";
const CLOSED_NETWORK = {
  PIP_CONFIG_FILE: "/dev/null",
  PIP_INDEX_URL: NOWHERE,
  HTTP_PROXY: NOWHERE,
  HTTPS_PROXY: NOWHERE,
  http_proxy: NOWHERE,
  https_proxy: NOWHERE,
};
/** Settings that would give pip another way to packages than the package's own wheels/. */
const OTHER_SOURCES = ["PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_TRUSTED_HOST", "NO_PROXY", "no_proxy"];

function closedNetworkEnvironment(tmpDir: string): NodeJS.ProcessEnv {
  const env = pipEnvironment({ ...CLOSED_NETWORK, TMPDIR: tmpDir });
  for (const name of OTHER_SOURCES) delete env[name];
  return env;
}

/** Top-level names that are packaging noise rather than the distribution's API. */
const NOT_MODULES = ["tests", "test", "docs", "examples", "benchmarks"];

// Imports every top-level module of every distribution installed in this venv; prints JSON.
const IMPORT_CHECK = `
import importlib, importlib.metadata as md, json, sys
skip = set(${JSON.stringify(NOT_MODULES)})
imported, failed = [], []
for dist in md.distributions():
    if not str(dist.locate_file("")).startswith(sys.prefix):
        continue
    top = (dist.read_text("top_level.txt") or "").split()
    if not top:
        top = sorted({f.parts[0][:-3] if f.parts[0].endswith(".py") else f.parts[0] for f in (dist.files or [])
                      if f.parts and (len(f.parts) > 1 or f.parts[0].endswith(".py"))
                      and not f.parts[0].endswith((".dist-info", ".data")) and f.parts[0] not in ("..", "__pycache__")})
    for name in top:
        if name in skip or not name.isidentifier():
            continue
        try:
            importlib.import_module(name)
            imported.append(name)
        except Exception as err:
            failed.append("%s (from %s): %s: %s" % (name, dist.metadata["Name"], type(err).__name__, err))
print(json.dumps({"imported": sorted(imported), "failed": failed}))
`;

export async function proveOffline(entries: readonly PackageEntry[], target: Target, workDir: string, signal?: AbortSignal): Promise<OfflineProof> {
  const where = { platform: target.platform, pythonVersion: target.pythonVersion };
  const requirements = entries.find((e) => e.name === "requirements.txt");
  if (!requirements) return { status: "skipped", ...where, message: "the package has no requirements.txt: nothing to install" };
  const text = requirements.data.toString("utf8");
  if (!declaresRequirements(text.split(/\r?\n/))) return { status: "skipped", ...where, message: "the plugin declares no dependencies: nothing to install" };
  if (!text.startsWith(OFFLINE_REQUIREMENTS_HEADER)) {
    return { status: "failed", ...where, message: `requirements.txt does not start with ${OFFLINE_REQUIREMENTS_HEADER}` };
  }

  const root = path.join(workDir, "offline-proof");
  const packageDir = path.join(root, "package");
  for (const entry of entries) {
    const file = path.resolve(packageDir, entry.name);
    if (!file.startsWith(packageDir + path.sep)) continue;
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, entry.data);
  }
  const venv = path.join(root, "venv");
  const env = closedNetworkEnvironment(path.join(workDir, "tmp"));
  const options = { cwd: packageDir, env, ...(signal ? { signal } : {}) };

  const created = await runCommand(target.interpreter, ["-m", "venv", "--without-pip", venv], options);
  if (created.code !== 0) return { status: "skipped", ...where, message: `cannot create a venv with ${target.interpreter}: ${created.output}` };
  const python = path.join(venv, "bin", "python");

  const installed = await runCommand(
    target.interpreter,
    ["-m", "pip", "--python", python, "install", "--disable-pip-version-check", "--no-input", "--no-cache-dir", "--progress-bar", "off", "-r", "requirements.txt"],
    options,
  );
  if (installed.code !== 0) {
    return { status: "failed", ...where, message: `installing with no index failed: ${installed.output.split("\n").slice(-6).join("\n")}` };
  }

  const checked = await runCommand(python, ["-c", IMPORT_CHECK], options);
  if (checked.code !== 0) return { status: "failed", ...where, message: `the import check did not run: ${checked.output}` };
  const outcome = lastJsonLine<{ imported: string[]; failed: string[] }>(checked.output);
  if (!outcome) return { status: "failed", ...where, message: `the import check printed no verdict: ${checked.output}` };
  if (outcome.failed.length > 0) {
    return { status: "failed", ...where, message: `installed with no index, but importing failed: ${outcome.failed.join("; ")}` };
  }
  return { status: "passed", ...where, imported: outcome.imported };
}
