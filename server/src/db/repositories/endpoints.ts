import { sql } from "kysely";
import type { Db } from "../database.js";
import type { EndpointRow, JsonObject } from "../tables.js";
import type { Tx } from "./lifecycle.js";

/**
 * The `endpoints` table and the counters it keeps on `plugin_installations` (endpoints_setups = rows,
 * endpoints_active = enabled rows). Every write that changes a count changes the counter in the same transaction,
 * and only when the state really changed, so the counters always equal what a count(*) would say.
 */

export interface EndpointRecord {
  readonly id: string;
  readonly hookId: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly pluginId: string;
  readonly name: string;
  /** As stored: what Dify's encrypt call returned. */
  readonly settings: JsonObject;
  readonly enabled: boolean;
  readonly expiredAt: Date;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

function toRecord(row: EndpointRow): EndpointRecord {
  return {
    id: row.id,
    hookId: row.hook_id,
    tenantId: row.tenant_id,
    userId: row.user_id,
    pluginId: row.plugin_id,
    name: row.name,
    settings: row.settings,
    enabled: row.enabled,
    expiredAt: row.expired_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

async function moveCounters(tx: Tx, tenantId: string, pluginId: string, setups: number, active: number): Promise<void> {
  if (setups === 0 && active === 0) return;
  await tx
    .updateTable("plugin_installations")
    .set({
      endpoints_setups: sql`greatest(endpoints_setups + ${setups}, 0)`,
      endpoints_active: sql`greatest(endpoints_active + ${active}, 0)`,
      updated_at: new Date(),
    })
    .where("tenant_id", "=", tenantId)
    .where("plugin_id", "=", pluginId)
    .execute();
}

/** insertEndpoint creates an enabled endpoint and counts it on the installation. The id is the caller's. */
export async function insertEndpoint(
  db: Db,
  input: { id: string; hookId: string; tenantId: string; userId: string; pluginId: string; name: string; settings: JsonObject },
): Promise<EndpointRecord> {
  return db.transaction().execute(async (tx) => {
    const row = await tx
      .insertInto("endpoints")
      .values({
        id: input.id,
        hook_id: input.hookId,
        tenant_id: input.tenantId,
        user_id: input.userId,
        plugin_id: input.pluginId,
        name: input.name,
        settings: JSON.stringify(input.settings),
        enabled: true,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await moveCounters(tx, input.tenantId, input.pluginId, 1, 1);
    return toRecord(row);
  });
}

export async function findEndpoint(db: Db, tenantId: string, endpointId: string): Promise<EndpointRecord | undefined> {
  const row = await db.selectFrom("endpoints").selectAll().where("tenant_id", "=", tenantId).where("id", "=", endpointId).executeTakeFirst();
  return row && toRecord(row);
}

export async function findEndpointByHook(db: Db, hookId: string): Promise<EndpointRecord | undefined> {
  const row = await db.selectFrom("endpoints").selectAll().where("hook_id", "=", hookId).executeTakeFirst();
  return row && toRecord(row);
}

/** listEndpoints returns one page of a tenant's endpoints (of one plugin when pluginId is given), oldest first. */
export async function listEndpoints(
  db: Db,
  tenantId: string,
  filter: { readonly pluginId?: string },
  page: { readonly offset: number; readonly limit: number },
): Promise<EndpointRecord[]> {
  let query = db.selectFrom("endpoints").selectAll().where("tenant_id", "=", tenantId);
  if (filter.pluginId !== undefined) query = query.where("plugin_id", "=", filter.pluginId);
  const rows = await query.orderBy("created_at").orderBy("id").offset(page.offset).limit(page.limit).execute();
  return rows.map(toRecord);
}

/** updateEndpoint renames an endpoint and replaces its (encrypted) settings; undefined when there is no such endpoint. */
export async function updateEndpoint(
  db: Db,
  tenantId: string,
  endpointId: string,
  change: { readonly name: string; readonly settings: JsonObject },
): Promise<EndpointRecord | undefined> {
  const row = await db
    .updateTable("endpoints")
    .set({ name: change.name, settings: JSON.stringify(change.settings), updated_at: new Date() })
    .where("tenant_id", "=", tenantId)
    .where("id", "=", endpointId)
    .returningAll()
    .executeTakeFirst();
  return row && toRecord(row);
}

/** deleteEndpoint removes an endpoint and uncounts it; undefined when there was none. */
export async function deleteEndpoint(db: Db, tenantId: string, endpointId: string): Promise<EndpointRecord | undefined> {
  return db.transaction().execute(async (tx) => {
    const row = await tx.deleteFrom("endpoints").where("tenant_id", "=", tenantId).where("id", "=", endpointId).returningAll().executeTakeFirst();
    if (!row) return undefined;
    await moveCounters(tx, row.tenant_id, row.plugin_id, -1, row.enabled ? -1 : 0);
    return toRecord(row);
  });
}

/**
 * setEndpointEnabled enables or disables an endpoint (row locked, so two toggles cannot both count); the active
 * counter moves only when the state changed. Undefined when there is no such endpoint.
 */
export async function setEndpointEnabled(db: Db, tenantId: string, endpointId: string, enabled: boolean): Promise<EndpointRecord | undefined> {
  return db.transaction().execute(async (tx) => {
    const current = await tx
      .selectFrom("endpoints")
      .selectAll()
      .where("tenant_id", "=", tenantId)
      .where("id", "=", endpointId)
      .forUpdate()
      .executeTakeFirst();
    if (!current) return undefined;
    if (current.enabled === enabled) return toRecord(current);
    const row = await tx
      .updateTable("endpoints")
      .set({ enabled, updated_at: new Date() })
      .where("id", "=", endpointId)
      .returningAll()
      .executeTakeFirstOrThrow();
    await moveCounters(tx, row.tenant_id, row.plugin_id, 0, enabled ? 1 : -1);
    return toRecord(row);
  });
}
