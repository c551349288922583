import { PGlite } from "@electric-sql/pglite";
import { Kysely } from "kysely";
import { PGliteDialect } from "kysely-pglite-dialect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../db/database.js";
import { migrateToLatest } from "../db/migrate.js";
import { issueDebuggingKey, tenantOfDebuggingKey } from "../db/repositories/debugging-keys.js";
import type { Database } from "../db/tables.js";
import { DEBUGGING_KEY_TTL_MS, createDatabaseDebuggingKeyStore } from "./debug-keys.js";

const A = "11111111-1111-4111-8111-111111111111";
const B = "22222222-2222-4222-8222-222222222222";
let db: Db;

beforeAll(async () => {
  db = new Kysely<Database>({ dialect: new PGliteDialect(new PGlite()) });
  await migrateToLatest(db);
});

afterAll(async () => {
  await db?.destroy();
});

describe("debugging keys in the database", () => {
  it("gives a tenant one key, the same on every request, with its expiry pushed out 2 h from the request", async () => {
    const store = createDatabaseDebuggingKeyStore(db);
    const before = Date.now();
    const first = await store.issue(A);
    expect(first.key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(first.expiresAt.getTime()).toBeGreaterThanOrEqual(before + DEBUGGING_KEY_TTL_MS - 1000);
    const second = await store.issue(A);
    expect(second.key).toBe(first.key);
    expect(second.expiresAt.getTime()).toBeGreaterThanOrEqual(first.expiresAt.getTime());
    const other = await store.issue(B);
    expect(other.key).not.toBe(first.key);
    expect(await store.tenantOf(first.key)).toBe(A);
    expect(await store.tenantOf(first.key.toUpperCase())).toBe(A);
    expect(await store.tenantOf(other.key)).toBe(B);
    expect(await store.tenantOf("00000000-0000-4000-8000-000000000000")).toBeUndefined();
    expect(await store.tenantOf("not a key")).toBeUndefined();
  });

  it("stops honouring a lapsed key and issues a new one in its place", async () => {
    const tenant = "33333333-3333-4333-8333-333333333333";
    const then = new Date(Date.now() - 3 * 60 * 60 * 1000);
    const old = await issueDebuggingKey(db, tenant, DEBUGGING_KEY_TTL_MS, then);
    expect(await tenantOfDebuggingKey(db, old.key)).toBeUndefined();
    const fresh = await issueDebuggingKey(db, tenant, DEBUGGING_KEY_TTL_MS);
    expect(fresh.key).not.toBe(old.key);
    expect(await tenantOfDebuggingKey(db, fresh.key)).toBe(tenant);
  });
});
