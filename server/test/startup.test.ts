import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "./harness.js";

// Only what a shell gives any process: the daemon must need nothing else to start.
const BARE_ENV = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root" };

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: Record<string, string>, cwd = REPO_ROOT): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
  });
}

const daemonEntry = ["--import", "tsx", "server/src/main.ts"];

describe("starting the daemon", () => {
  const scratch: string[] = [];
  afterAll(async () => Promise.all(scratch.map((d) => rm(d, { recursive: true, force: true }))));

  it("refuses a bad SERVER_PORT, naming the variable and the accepted values", async () => {
    const result = await run(process.execPath, daemonEntry, { ...BARE_ENV, SERVER_PORT: "http" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('SERVER_PORT="http"');
    expect(result.stderr).toContain("1-65535");
  });

  it("refuses an unreachable DB_URL, naming the database and the reason", async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "daemon-start-"));
    scratch.push(dataDir);
    const result = await run(process.execPath, daemonEntry, {
      ...BARE_ENV,
      SERVER_PORT: "0",
      DATA_DIR: dataDir,
      DB_URL: "postgres://postgres:secret@127.0.0.1:1/nowhere",
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("cannot reach postgres postgres://postgres:***@127.0.0.1:1/nowhere");
    expect(result.stderr).toContain("ECONNREFUSED");
    expect(result.stderr + result.stdout).not.toContain("secret");
  });

  it("`npm start` with no environment serves health on port 5002 and stops on SIGTERM", async () => {
    const child = spawn("npm", ["start"], { cwd: REPO_ROOT, env: BARE_ENV, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let output = "";
    child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    try {
      const health = await pollHealth("http://127.0.0.1:5002", child, 45_000);
      expect(health, output).toEqual({ status: "SERVING" });
    } finally {
      const exited = new Promise<string>((resolve) => child.on("close", (code, signal) => resolve(signal ?? `exit ${code}`)));
      // The terminal's Ctrl-C or a supervisor's stop reaches the whole group: npm and the daemon under it.
      process.kill(-child.pid!, "SIGTERM");
      const how = await exited;
      // The daemon drained and closed its database; npm itself re-raises the signal it got, so it ends by
      // SIGTERM (or exit 0 when it lost the race), never by a non-zero code.
      expect(output).toContain('"msg":"stopped"');
      expect(["SIGTERM", "exit 0"]).toContain(how);
      await expect(fetch("http://127.0.0.1:5002/grpc.health.v1.Health/Check", { method: "POST" })).rejects.toThrow();
    }
  });
});

async function pollHealth(baseUrl: string, child: ChildProcess, timeoutMs: number): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`daemon exited early with ${child.exitCode}`);
    try {
      const res = await fetch(`${baseUrl}/grpc.health.v1.Health/Check`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      return await res.json();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
