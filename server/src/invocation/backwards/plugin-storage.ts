import { sql } from "kysely";
import type { Db } from "../../db/database.js";
import { FailedPreconditionError, InvalidArgumentError } from "../../errors.js";

/** A `storage` backwards invocation as the SDK sends it: value is hex. */
export interface StorageRequest {
  readonly opt: "get" | "set" | "del" | "exist";
  readonly key: string;
  readonly value?: string;
}

const MAX_KEY = 256;

/**
 * handleStorage serves the per tenant + plugin key/value store plugins reach through backwards invocation.
 * `limitBytes` is the manifest's storage.size: the total of a tenant's values for the plugin, checked and
 * updated in the same transaction as the write so concurrent sets cannot overshoot it.
 */
export async function handleStorage(
  db: Db,
  scope: { readonly tenantId: string; readonly pluginId: string; readonly limitBytes: number },
  request: StorageRequest,
): Promise<Record<string, unknown>> {
  const key = request.key;
  if (typeof key !== "string" || key === "" || key.length > MAX_KEY) {
    throw new InvalidArgumentError(`storage key must be 1 to ${MAX_KEY} characters`);
  }
  const where = { tenant_id: scope.tenantId, plugin_id: scope.pluginId, key };
  switch (request.opt) {
    case "get": {
      const row = await db.selectFrom("plugin_storage").select("value").where("tenant_id", "=", where.tenant_id).where("plugin_id", "=", where.plugin_id).where("key", "=", key).executeTakeFirst();
      if (!row) throw new InvalidArgumentError(`storage key ${JSON.stringify(key)} not found`);
      return { data: Buffer.from(row.value).toString("hex") };
    }
    case "exist": {
      const row = await db.selectFrom("plugin_storage").select("id").where("tenant_id", "=", where.tenant_id).where("plugin_id", "=", where.plugin_id).where("key", "=", key).executeTakeFirst();
      return { data: row !== undefined, exist_num: row ? 1 : 0 };
    }
    case "del": {
      return db.transaction().execute(async (tx) => {
        const removed = await tx.deleteFrom("plugin_storage").where("tenant_id", "=", where.tenant_id).where("plugin_id", "=", where.plugin_id).where("key", "=", key).returning("size").executeTakeFirst();
        if (removed) {
          await tx.updateTable("tenant_storage").set({ size: sql`size - ${removed.size}`, updated_at: new Date() }).where("tenant_id", "=", where.tenant_id).where("plugin_id", "=", where.plugin_id).execute();
        }
        return { data: "ok", deleted_num: removed ? 1 : 0 };
      });
    }
    case "set": {
      if (typeof request.value !== "string" || !/^(?:[0-9a-fA-F]{2})*$/.test(request.value)) {
        throw new InvalidArgumentError("storage set needs value as hex");
      }
      const value = Buffer.from(request.value, "hex");
      return db.transaction().execute(async (tx) => {
        await tx.insertInto("tenant_storage").values({ tenant_id: where.tenant_id, plugin_id: where.plugin_id, size: 0 }).onConflict((oc) => oc.columns(["tenant_id", "plugin_id"]).doNothing()).execute();
        // Lock the tenant's usage row: the quota check and the write are one step.
        const usage = await tx.selectFrom("tenant_storage").select("size").where("tenant_id", "=", where.tenant_id).where("plugin_id", "=", where.plugin_id).forUpdate().executeTakeFirstOrThrow();
        const old = await tx.selectFrom("plugin_storage").select("size").where("tenant_id", "=", where.tenant_id).where("plugin_id", "=", where.plugin_id).where("key", "=", key).executeTakeFirst();
        const next = usage.size - (old?.size ?? 0) + value.length;
        if (next > scope.limitBytes) {
          throw new FailedPreconditionError(`plugin storage is full: ${next} bytes would exceed the ${scope.limitBytes} bytes its manifest allows`);
        }
        await tx
          .insertInto("plugin_storage")
          .values({ ...where, value })
          .onConflict((oc) => oc.columns(["tenant_id", "plugin_id", "key"]).doUpdateSet({ value, updated_at: new Date() }))
          .execute();
        await tx.updateTable("tenant_storage").set({ size: next, updated_at: new Date() }).where("tenant_id", "=", where.tenant_id).where("plugin_id", "=", where.plugin_id).execute();
        return { data: "ok" };
      });
    }
    default:
      throw new InvalidArgumentError(`unknown storage opt ${JSON.stringify((request as { opt?: unknown }).opt)}: use get, set, del or exist`);
  }
}
