import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { pino } from "pino";
import { loadConfig, type Config } from "../src/config.js";
import { startDaemon, type Daemon } from "../src/main.js";

/**
 * Test harness: a real daemon on port 0 with its own data directory and its own database: a fresh
 * Postgres database when DB_URL is set (CI), a fresh PGlite directory otherwise.
 */

export const TEST_SERVER_KEY = "test-server-key";

/** TestDatabase is a database that exists only for one test file. */
export interface TestDatabase {
  /** Environment variables pointing the daemon at it (empty for PGlite: the default). */
  readonly env: Record<string, string>;
  /** The admin-side name, to drop or break it on purpose. */
  readonly name: string | null;
  drop(): Promise<void>;
}

/** createTestDatabase makes a fresh Postgres database from DB_URL, or nothing for PGlite. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.DB_URL;
  if (!adminUrl) return { env: {}, name: null, drop: async () => undefined };
  const name = `t_${randomBytes(6).toString("hex")}`;
  await withAdmin(adminUrl, (c) => c.query(`create database ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    env: { DB_URL: url.toString() },
    name,
    drop: () => withAdmin(adminUrl, (c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}

export async function withAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** TestDaemon is a started daemon plus everything to reach and remove it. */
export interface TestDaemon {
  /** The running daemon; replaced by restart(). */
  readonly daemon: Daemon;
  readonly config: Config;
  readonly baseUrl: string;
  readonly dataDir: string;
  readonly database: TestDatabase;
  /** restart stops the daemon and starts a new one on the same database and data directory. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestDaemon(env: Record<string, string> = {}): Promise<TestDaemon> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "daemon-test-"));
  const database = await createTestDatabase();
  const config = loadConfig({
    SERVER_HOST: "127.0.0.1",
    SERVER_PORT: "0",
    SERVER_KEY: TEST_SERVER_KEY,
    SERVER_SHUTDOWN_GRACE_MS: "500",
    // Each test daemon gets its own debug listener port, so test files running in parallel never collide on 5003.
    PLUGIN_REMOTE_INSTALLING_HOST: "127.0.0.1",
    PLUGIN_REMOTE_INSTALLING_PORT: "0",
    DATA_DIR: dataDir,
    ...database.env,
    ...env,
  });
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  let daemon = await startDaemon(config, logger);
  const handle: TestDaemon = {
    get daemon() {
      return daemon;
    },
    config,
    get baseUrl() {
      return `http://127.0.0.1:${daemon.port}`;
    },
    dataDir,
    database,
    restart: async () => {
      await daemon.stop();
      daemon = await startDaemon(config, logger);
    },
    stop: async () => {
      await daemon.stop();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}

/** The repository root, for commands the tests run as an operator would. */
export const REPO_ROOT = path.resolve(import.meta.dirname, "../..");
