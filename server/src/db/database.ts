import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { Kysely, PostgresDialect, sql } from "kysely";
import { PGliteDialect } from "kysely-pglite-dialect";
import pg from "pg";
import type { DatabaseConfig } from "../config.js";
import { DatabaseUnavailableError } from "../errors.js";
import type { Database } from "./tables.js";

export type Db = Kysely<Database>;

/** DatabaseHandle owns the connection (pool or embedded instance) for the daemon's lifetime. */
export interface DatabaseHandle {
  readonly db: Db;
  /** A human description of where the data lives, without secrets. */
  readonly description: string;
  /** ping answers when the database serves a trivial query within timeoutMs, else throws. */
  ping(timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * openDatabase connects to Postgres (DB_URL / DB_HOST) or opens the embedded PGlite directory, and
 * proves the connection with one query so that an unreachable database stops the start with a clear
 * message instead of failing the first request.
 */
export async function openDatabase(config: DatabaseConfig): Promise<DatabaseHandle> {
  const handle = config.kind === "postgres" ? openPostgres(config) : await openPglite(config.directory);
  try {
    await handle.ping(config.kind === "postgres" ? config.connectTimeoutMs : 30_000);
  } catch (err) {
    await handle.destroy().catch(() => undefined);
    throw err;
  }
  return handle;
}

function openPostgres(config: Extract<DatabaseConfig, { kind: "postgres" }>): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: config.url,
    max: config.maxConnections,
    connectionTimeoutMillis: config.connectTimeoutMs,
  });
  // An idle client losing its server must not crash the daemon; the next query reports the failure.
  pool.on("error", () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const description = `postgres ${config.displayUrl}`;
  return {
    db,
    description,
    ping: (timeoutMs) => ping(db, description, timeoutMs ?? config.connectTimeoutMs),
    destroy: () => db.destroy(),
  };
}

async function openPglite(directory: string): Promise<DatabaseHandle> {
  await mkdir(directory, { recursive: true });
  const pglite = new PGlite(directory);
  try {
    await pglite.waitReady;
  } catch (cause) {
    throw new DatabaseUnavailableError(
      `cannot open the embedded database in ${directory}: ${errorText(cause)}; ` +
        `check that the directory is writable and not used by another daemon, or set DB_URL to use Postgres`,
      { cause },
    );
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  const description = `embedded PGlite in ${directory}`;
  let destroyed = false;
  return {
    db,
    description,
    ping: (timeoutMs) => {
      if (destroyed) return Promise.reject(new DatabaseUnavailableError(`${description} is closed`));
      return ping(db, description, timeoutMs ?? 5_000);
    },
    destroy: async () => {
      if (destroyed) return;
      destroyed = true;
      await db.destroy();
    },
  };
}

async function ping(db: Db, description: string, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DatabaseUnavailableError(`${description} did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([sql`select 1`.execute(db), timeout]);
  } catch (cause) {
    if (cause instanceof DatabaseUnavailableError) throw cause;
    throw new DatabaseUnavailableError(`cannot reach ${description}: ${errorText(cause)}`, { cause });
  } finally {
    clearTimeout(timer);
  }
}

function errorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return errorText(err.errors[0]);
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
