import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import type { Db } from "../database.js";

/**
 * debugging_keys: one key per tenant (unique tenant_id, unique key). Issuing returns the tenant's live key and pushes
 * its expiry out by the TTL; an expired key is replaced by a fresh one in the same statement, as Redis would have
 * dropped it. Lookups ignore expired keys.
 */

export interface IssuedKey {
  readonly key: string;
  readonly expiresAt: Date;
}

/** issueDebuggingKey returns the tenant's key, creating or renewing it, valid for ttlMs from now. */
export async function issueDebuggingKey(db: Db, tenantId: string, ttlMs: number, now: Date = new Date()): Promise<IssuedKey> {
  const expiresAt = new Date(now.getTime() + ttlMs);
  const row = await db
    .insertInto("debugging_keys")
    .values({ tenant_id: tenantId, key: randomUUID(), expires_at: expiresAt })
    .onConflict((oc) =>
      oc.column("tenant_id").doUpdateSet({
        // Keep a live key; replace one that already expired.
        key: sql<string>`case when debugging_keys.expires_at > ${now} then debugging_keys.key else excluded.key end`,
        expires_at: expiresAt,
        updated_at: now,
      }),
    )
    .returning(["key", "expires_at"])
    .executeTakeFirstOrThrow();
  return { key: row.key, expiresAt: row.expires_at };
}

/** tenantOfDebuggingKey returns the tenant a live key belongs to, or undefined. */
export async function tenantOfDebuggingKey(db: Db, key: string, now: Date = new Date()): Promise<string | undefined> {
  const row = await db
    .selectFrom("debugging_keys")
    .select("tenant_id")
    .where("key", "=", key)
    .where("expires_at", ">", now)
    .executeTakeFirst();
  return row?.tenant_id;
}

/** deleteExpiredDebuggingKeys removes keys that lapsed before `now`; returns how many. */
export async function deleteExpiredDebuggingKeys(db: Db, now: Date = new Date()): Promise<number> {
  const rows = await db.deleteFrom("debugging_keys").where("expires_at", "<=", now).returning("id").execute();
  return rows.length;
}
