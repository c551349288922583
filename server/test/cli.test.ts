import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrations } from "../src/db/migrations/index.js";
import { REPO_ROOT, createTestDatabase, startTestDaemon, type TestDatabase } from "./harness.js";

// The operator CLI as an operator runs it from a clone: `npm run cli -- <command>`, here without npm's banner.
const run = promisify(execFile);
const CLI = [path.join(REPO_ROOT, "clients/cli/bin.mjs")];

async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...CLI, ...args], {
      env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// A fresh PGlite directory always; a fresh Postgres database too when DB_URL is set (CI).
const targets: [string, () => Promise<TestDatabase>][] = [
  ["a fresh PGlite directory", async () => ({ env: {}, name: null, drop: async () => undefined })],
];
if (process.env.DB_URL) targets.push(["a fresh Postgres database", createTestDatabase]);

describe.each(targets)("dify-plugin-daemon migrate on %s", (_label, createDatabase) => {
  let dataDir: string;
  let database: TestDatabase;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "cli-migrate-"));
    database = await createDatabase();
  });
  afterAll(async () => {
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("applies every migration once, then nothing, with one JSON result each time", async () => {
    const env = { DATA_DIR: dataDir, ...database.env };
    const where = database.name ? `/${database.name}` : dataDir;
    const first = await cli(["migrate", "--json"], env);
    expect(first.code, first.stderr).toBe(0);
    const names = Object.keys(migrations);
    expect(JSON.parse(first.stdout)).toMatchObject({ applied: names, latest: names.at(-1) });
    expect(JSON.parse(first.stdout).database).toContain(where);

    const second = await cli(["migrate", "--json"], env);
    expect(JSON.parse(second.stdout)).toMatchObject({ applied: [], latest: names.at(-1) });
    const human = await cli(["migrate"], env);
    expect(human.stdout).toContain("nothing to apply");
  });

  it("reports a bad configuration as a JSON error and a non-zero exit", async () => {
    const result = await cli(["migrate", "--json"], { DATA_DIR: dataDir, DB_PORT: "postgres" });
    expect(result.code).not.toBe(0);
    expect(JSON.parse(result.stdout).error).toContain('DB_PORT="postgres"');
  });
});

describe("dify-plugin-daemon health", () => {
  it("says SERVING for a running daemon, and fails clearly when nothing listens", async () => {
    const daemon = await startTestDaemon();
    try {
      const ok = await cli(["health", "--json", "--url", daemon.baseUrl], {});
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toEqual({ url: daemon.baseUrl, service: "", status: "SERVING" });
    } finally {
      await daemon.stop();
    }
    const down = await cli(["health", "--json", "--url", daemon.baseUrl], {});
    expect(down.code).toBe(1);
    expect(JSON.parse(down.stdout).error).toContain(`cannot ask ${daemon.baseUrl} for its health`);
  });
});
