import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FailedPreconditionError } from "../../errors.js";
import type { PackageEntry } from "../../packaging/archive.js";
import { hasRequirements, planDependencies, pyprojectDependencies } from "./dependencies.js";
import { PythonEnvironmentError, prepareEnvironment, removeEnvironment, workingDirectoryOf } from "./environment.js";
import { entrypointOf, runnerVersionOf } from "./runner.js";
import { runStep } from "./run-step.js";
import { RUNTIME_FIXTURES, identifierOf, readEntries, recordingLogger } from "./testing.js";

const run = promisify(execFile);

// pip must not be helped by this machine's pip configuration or index settings: only what the daemon passes counts.
process.env["PIP_CONFIG_FILE"] = "/dev/null";
process.env["PIP_INDEX_URL"] = "http://127.0.0.1:9/simple";

const { logger } = recordingLogger();
let temp: string;
let echoEntries: PackageEntry[];

beforeAll(async () => {
  temp = await mkdtemp(path.join(tmpdir(), "runtime-env-"));
  echoEntries = await readEntries(path.join(RUNTIME_FIXTURES, "echo_plugin"));
});
afterAll(async () => {
  await rm(temp, { recursive: true, force: true });
});

const exists = (file: string): Promise<boolean> => stat(file).then(() => true, () => false);

/** withFiles is the echo plugin's entries with some files replaced or added. */
function withFiles(files: Record<string, string | Buffer>): PackageEntry[] {
  const replaced = echoEntries.filter((e) => !(e.name in files));
  const added = Object.entries(files).map(([name, data]) => ({ name, data: Buffer.isBuffer(data) ? data : Buffer.from(data) }));
  return [...replaced, ...added];
}

describe("prepareEnvironment", () => {
  it("extracts into <author>/<name>-<version>@<checksum>, skips pip for a comment-only requirements.txt, and reuses the ready venv", async () => {
    const workingPath = path.join(temp, "reuse");
    const id = identifierOf("daemon-tests", "echo_plugin", "0.0.1", echoEntries);
    const first = await prepareEnvironment(id, echoEntries, { workingPath, logger });
    expect(first.reused).toBe(false);
    expect(first.workingDirectory).toBe(path.join(workingPath, "daemon-tests", `echo_plugin-0.0.1@${id.split("@")[1]}`));
    expect(await readFile(path.join(first.workingDirectory, "main.py"), "utf8")).toContain("stdio protocol");
    expect(await exists(path.join(first.venvPath, "bin", "pip"))).toBe(false); // no dependencies: no pip at all
    const marker = JSON.parse(await readFile(path.join(first.venvPath, "dify", "plugin.json"), "utf8")) as { timestamp: number };
    expect(marker.timestamp).toBeGreaterThan(1_700_000_000);

    const started = Date.now();
    const second = await prepareEnvironment(id, echoEntries, { workingPath, logger, pythonInterpreter: "/nonexistent/python" });
    expect(second.reused).toBe(true); // the marker is honoured: the (broken) interpreter is never run
    expect(Date.now() - started).toBeLessThan(500);

    await removeEnvironment(workingPath, id);
    expect(await exists(first.workingDirectory)).toBe(false);
    expect(await exists(path.join(workingPath, "daemon-tests"))).toBe(false);
  });

  it("installs a requirement offline from the package's wheels/, whatever index is configured", async () => {
    // Build a wheel of a tiny local project with pip itself, offline, the way a repackaged plugin carries it.
    const project = path.join(temp, "tinydep-src");
    await cp(path.join(RUNTIME_FIXTURES, "tinydep"), project, { recursive: true });
    const wheelDir = path.join(temp, "wheelhouse");
    await run("python3", ["-m", "pip", "wheel", "--disable-pip-version-check", "--no-index", "--no-deps", "-w", wheelDir, project]);
    const wheel = "tinydep-0.1.0-py3-none-any.whl";
    const entries = withFiles({
      "requirements.txt": "# offline dependency\ntinydep==0.1.0\n",
      [`wheels/${wheel}`]: await readFile(path.join(wheelDir, wheel)),
    });
    const workingPath = path.join(temp, "offline");
    const id = identifierOf("daemon-tests", "echo_plugin", "0.0.1", entries);
    const prepared = await prepareEnvironment(id, entries, {
      workingPath,
      logger,
      pipMirrorUrl: "http://127.0.0.1:9/simple", // unreachable: any network use would fail the install
    });
    expect(prepared.reused).toBe(false);
    const { stdout } = await run(prepared.pythonPath, ["-c", "import tinydep; print(tinydep.VALUE)"]);
    expect(stdout.trim()).toBe("tinydep 0.1.0 installed offline");

  });

  it("fails with pip's own message when a requirement cannot be installed, and leaves no .venv", async () => {
    const entries = withFiles({ "requirements.txt": "surely-no-such-package-exists==9.9.9\n" });
    const workingPath = path.join(temp, "failing");
    const id = identifierOf("daemon-tests", "echo_plugin", "0.0.1", entries);
    const error = await prepareEnvironment(id, entries, { workingPath, logger, pipExtraArgs: " --no-index  --retries 0 " }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(PythonEnvironmentError);
    expect(error).toBeInstanceOf(FailedPreconditionError);
    const message = (error as Error).message;
    expect(message).toContain(`installing the dependencies of ${id}`);
    expect(message).toMatch(/pip exited with code 1; output: ERROR: /);
    expect(message).toMatch(/No matching distribution found for surely-no-such-package-exists==9\.9\.9/);
    expect(await exists(path.join(workingDirectoryOf(workingPath, id), ".venv"))).toBe(false);
    expect(await exists(path.join(workingDirectoryOf(workingPath, id), "main.py"))).toBe(true);
  });
});

describe("runStep", () => {
  it("kills a step that prints nothing for the inactivity limit and says so", async () => {
    const started = Date.now();
    const error = await runStep("python3", ["-c", "import time; time.sleep(30)"], {
      what: "a silent step",
      cwd: temp,
      env: { PATH: process.env["PATH"] ?? "" },
      deadline: Date.now() + 60_000,
      inactivityMs: 300,
      logger,
    }).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(error?.message).toMatch(/a silent step failed: python3 was killed because it printed nothing for 0.3 s/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("kills a step that outlives the overall deadline, output or not", async () => {
    const error = await runStep("python3", ["-u", "-c", "import time\nwhile True:\n print('busy')\n time.sleep(0.05)"], {
      what: "a busy step",
      cwd: temp,
      env: { PATH: process.env["PATH"] ?? "" },
      deadline: Date.now() + 400,
      inactivityMs: 10_000,
      logger,
    }).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(error?.message).toMatch(/install time limit/);
  });
});

describe("dependency files", () => {
  it("treats a requirements.txt of blanks and comments as empty", () => {
    expect(hasRequirements("# nothing\n\n   # still nothing\n")).toBe(false);
    expect(hasRequirements("requests==2.0 # pinned\n")).toBe(true);
    expect(planDependencies("# none\n", "[project]\ndependencies=['x']")).toEqual({
      kind: "none",
      reason: "requirements.txt lists no requirement",
    });
  });

  it("reads [project].dependencies from pyproject.toml, and only that table's", () => {
    const toml = [
      "[tool.other]",
      'dependencies = ["not-this"]',
      "[project]",
      'name = "p"',
      "dependencies = [",
      '  "dify_plugin>=0.4.0,<0.5.0",  # the SDK',
      "  'requests[socks] ; python_version >= \"3.8\"',",
      "]",
      "[project.optional-dependencies]",
      'dev = ["pytest"]',
    ].join("\n");
    expect(pyprojectDependencies(toml)).toEqual(["dify_plugin>=0.4.0,<0.5.0", 'requests[socks] ; python_version >= "3.8"']);
    expect(planDependencies(undefined, toml)).toMatchObject({ kind: "requirements", file: "pyproject.toml" });
    expect(pyprojectDependencies("[project]\ndependencies = []\n")).toEqual([]);
  });

  it("reads the layout of the reference's pyproject fixture plugin", () => {
    const toml = [
      "[project]",
      'name = "pyproject-test-plugin"',
      'version = "0.0.1"',
      "dependencies = [",
      '    "dify-plugin>=0.1.0,<0.2.0",',
      "]",
      "",
      "[build-system]",
      'requires = ["setuptools>=42", "wheel"]',
    ].join("\n");
    expect(pyprojectDependencies(toml)).toEqual(["dify-plugin>=0.1.0,<0.2.0"]);
  });
});

describe("manifest runner", () => {
  const manifest = (runner: string): PackageEntry[] => [{ name: "manifest.yaml", data: Buffer.from(`meta:\n  runner:\n${runner}`) }];

  it("reads the entrypoint and python version, defaulting to main", () => {
    expect(entrypointOf(manifest("    entrypoint: plugin.main\n    version: '3.12'\n"))).toBe("plugin.main");
    expect(runnerVersionOf(manifest("    entrypoint: main\n    version: '3.12'\n"))).toBe("3.12");
    expect(entrypointOf([])).toBe("main");
    expect(runnerVersionOf(manifest("    version: '3.12; rm -rf /'\n"))).toBeUndefined();
    // Unquoted, YAML would read 3.10 as the number 3.1.
    expect(runnerVersionOf(manifest("    version: 3.10\n"))).toBe("3.10");
  });

  it("refuses an entrypoint that is not a module name", () => {
    expect(() => entrypointOf(manifest("    entrypoint: '-c import os'\n"))).toThrow(/is not a python module name/);
  });
});
