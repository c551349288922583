import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixturePackage } from "./fixture-packages.js";
import { REPO_ROOT, TEST_SERVER_KEY, startTestDaemon, type TestDaemon } from "./harness.js";

// The operator's plugin commands against a running daemon, each read through its --json result.
const run = promisify(execFile);
let daemon: TestDaemon;
let scratch: string;

beforeAll(async () => {
  process.env.PIP_CONFIG_FILE = "/dev/null";
  scratch = await mkdtemp(path.join(os.tmpdir(), "cli-plugins-"));
  await writeFile(path.join(scratch, "echo.difypkg"), await buildFixturePackage("echo-tool"));
  daemon = await startTestDaemon({ FORCE_VERIFYING_SIGNATURE: "false" });
}, 60_000);
afterAll(async () => {
  await daemon?.stop();
  await rm(scratch, { recursive: true, force: true });
});

async function cli(...args: string[]): Promise<{ code: number; json: any; stderr: string }> {
  const argv = [path.join(REPO_ROOT, "clients/cli/bin.mjs"), ...args, "--url", daemon.baseUrl, "--tenant", "cli-tenant", "--json"];
  const env = { PATH: process.env.PATH ?? "", SERVER_KEY: TEST_SERVER_KEY };
  try {
    const { stdout, stderr } = await run(process.execPath, argv, { cwd: scratch, env, timeout: 120_000 });
    return { code: 0, json: JSON.parse(stdout), stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, json: e.stdout ? JSON.parse(e.stdout) : null, stderr: e.stderr };
  }
}

describe("dify-plugin-daemon plugin ...", () => {
  it("installs a package file, lists, invokes a tool, shows tasks, and uninstalls", async () => {
    const installed = await cli("plugin", "install", "echo.difypkg");
    expect(installed.code, installed.stderr).toBe(0);
    expect(installed.json).toMatchObject({ status: "success", total: 1, completed: 1 });

    const listed = await cli("plugin", "list");
    expect(listed.json).toHaveLength(1);
    expect(listed.json[0].plugin).toMatch(/^daemon-tests\/echo-tool:0\.1\.0@/);

    const invoked = await cli("plugin", "invoke-tool", "daemon-tests/echo-tool", "echo", "shout", "--params", '{"text":"hello cli"}');
    expect(invoked.json).toEqual([{ text: { text: "HELLO CLI" } }]);

    const tasks = await cli("tasks");
    expect(tasks.json).toHaveLength(1);
    expect(tasks.json[0]).toMatchObject({ status: "success", plugins: [{ status: "success", message: "installed" }] });

    const removed = await cli("plugin", "uninstall", listed.json[0].id);
    expect(removed.json).toEqual({ uninstalled: listed.json[0].id });
    expect((await cli("plugin", "list")).json).toEqual([]);
  });

  it("reports errors as one JSON document and a non-zero exit", async () => {
    const bad = await cli("plugin", "invoke-tool", "daemon-tests/echo-tool", "echo", "echo", "--params", "not json");
    expect(bad.code).toBe(2);
    expect(bad.json).toEqual({ error: "--params is not JSON: not json" });
    const missing = await cli("plugin", "uninstall", "00000000-0000-4000-8000-000000000000");
    expect(missing.code).toBe(1);
    expect(missing.json.error).toContain("not found");
  });
});
