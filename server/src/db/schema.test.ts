import { randomUUID } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import { Kysely, PostgresDialect, sql } from "kysely";
import { PGliteDialect } from "kysely-pglite-dialect";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateDownAll, migrateToLatest } from "./migrate.js";
import { migrations } from "./migrations/index.js";
import type { Database } from "./tables.js";

const EXPECTED_TABLES = [
  "agent_strategy_installations",
  "ai_model_installations",
  "datasource_installations",
  "debugging_keys",
  "endpoints",
  "install_task_plugins",
  "install_tasks",
  "plugin_installations",
  "plugin_readmes",
  "plugin_storage",
  "plugins",
  "serverless_runtimes",
  "tenant_storage",
  "tool_installations",
  "trigger_installations",
];

interface Target {
  db: Kysely<Database>;
  close(): Promise<void>;
}

async function openPglite(): Promise<Target> {
  const db = new Kysely<Database>({ dialect: new PGliteDialect(new PGlite()) });
  return { db, close: () => db.destroy() };
}

/** A fresh database on the server DB_URL points at, dropped again on close. */
async function openPostgres(url: string): Promise<Target> {
  const name = `schema_test_${randomUUID().replaceAll("-", "")}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const target = new URL(url);
  target.pathname = `/${name}`;
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: target.toString(), max: 2 }) }),
  });
  return {
    db,
    close: async () => {
      await db.destroy();
      await admin.query(`drop database if exists ${name}`);
      await admin.end();
    },
  };
}

async function userTables(db: Kysely<Database>): Promise<string[]> {
  const { rows } = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = current_schema() and table_type = 'BASE TABLE' and table_name not like 'kysely_%'
    order by table_name`.execute(db);
  return rows.map((r) => r.table_name);
}

/** The Postgres error code (SQLSTATE) a promise rejects with. */
async function sqlState(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  throw new Error("expected the statement to fail");
}

const targets: [string, () => Promise<Target>][] = [["PGlite", openPglite]];
const dbUrl = process.env.DB_URL;
if (dbUrl) targets.push(["Postgres (DB_URL)", () => openPostgres(dbUrl)]);

describe.each(targets)("schema on %s", (_label, open) => {
  let target: Target;
  let db: Kysely<Database>;

  beforeAll(async () => {
    target = await open();
    db = target.db;
  });
  afterAll(async () => {
    await target?.close();
  });

  it("migrates a fresh database to the latest schema", async () => {
    const outcome = await migrateToLatest(db);
    expect(outcome.applied).toEqual(Object.keys(migrations));
    expect(await userTables(db)).toEqual(EXPECTED_TABLES);
  });

  it("applies nothing on a second run", async () => {
    const outcome = await migrateToLatest(db);
    expect(outcome.applied).toEqual([]);
    expect(outcome.latest).toBe(Object.keys(migrations).at(-1));
  });

  it("keeps one installation per tenant and plugin", async () => {
    const identifier = `langgenius/openai:0.0.1@${"a".repeat(64)}`;
    await db
      .insertInto("plugins")
      .values({
        plugin_unique_identifier: identifier,
        plugin_id: "langgenius/openai",
        version: "0.0.1",
        checksum: "a".repeat(64),
        declaration: JSON.stringify({ name: "openai", tags: ["llm"] }),
        verification: "langgenius",
        runtime_type: "local",
        debug_tenant_id: null,
      })
      .execute();
    const installation = {
      tenant_id: randomUUID(),
      plugin_id: "langgenius/openai",
      plugin_unique_identifier: identifier,
      runtime_type: "local" as const,
      meta: JSON.stringify({ repo: "x" }),
    };
    await db.insertInto("plugin_installations").values(installation).execute();
    expect(await sqlState(db.insertInto("plugin_installations").values(installation).execute())).toBe("23505");

    const row = await db.selectFrom("plugin_installations").selectAll().executeTakeFirstOrThrow();
    expect(row.meta).toEqual({ repo: "x" });
    expect(row.endpoints_setups).toBe(0);
    expect(row.created_at).toBeInstanceOf(Date);
  });

  it("rejects an install task status outside the known states", async () => {
    const bad = db
      .insertInto("install_tasks")
      .values({ tenant_id: randomUUID(), total_plugins: 1, status: "installing" as never })
      .execute();
    expect(await sqlState(bad)).toBe("23514");

    const task = await db
      .insertInto("install_tasks")
      .values({ tenant_id: randomUUID(), total_plugins: 1, status: "running" })
      .returning("id")
      .executeTakeFirstOrThrow();
    const badPlugin = db
      .insertInto("install_task_plugins")
      .values({
        task_id: task.id,
        position: 0,
        plugin_unique_identifier: "a/b:1.0.0@" + "0".repeat(32),
        plugin_id: "a/b",
        source: "package",
        status: "done" as never,
      })
      .execute();
    expect(await sqlState(badPlugin)).toBe("23514");
  });

  it("reverts every migration and leaves no tables", async () => {
    const outcome = await migrateDownAll(db);
    expect(outcome.applied).toEqual(Object.keys(migrations).reverse());
    expect(await userTables(db)).toEqual([]);
  });
});
