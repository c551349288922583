import { sql } from "kysely";
import type { Db } from "../database.js";
import type { JsonObject } from "../tables.js";

/** PluginCategoryName is a declaration's `category`, as the manifest decoder writes it. */
export type PluginCategoryName = "tool" | "model" | "extension" | "agent-strategy" | "datasource" | "trigger";

/** InstallationFilter narrows a tenant's installations; every field is optional. */
export interface InstallationFilter {
  readonly category?: PluginCategoryName;
  /** Case-insensitive substring of the plugin id or of the label in `language`. */
  readonly query?: string;
  readonly language?: string;
  /** Keep plugins that carry any of these tags. */
  readonly tags?: readonly string[];
}

/** InstallationRecord is an installation joined with its package row (declaration, checksum, version). */
export interface InstallationRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly pluginId: string;
  readonly pluginUniqueIdentifier: string;
  readonly runtimeType: string;
  readonly endpointsSetups: number;
  readonly endpointsActive: number;
  readonly source: string;
  readonly meta: JsonObject;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly version: string;
  readonly checksum: string;
  readonly declaration: JsonObject;
}

function selectInstallations(db: Db) {
  return db
    .selectFrom("plugin_installations as i")
    .innerJoin("plugins as p", "p.plugin_unique_identifier", "i.plugin_unique_identifier")
    .select([
      "i.id",
      "i.tenant_id",
      "i.plugin_id",
      "i.plugin_unique_identifier",
      "i.runtime_type",
      "i.endpoints_setups",
      "i.endpoints_active",
      "i.source",
      "i.meta",
      "i.created_at",
      "i.updated_at",
      "p.version",
      "p.checksum",
      "p.declaration",
    ]);
}

type Row = Awaited<ReturnType<ReturnType<typeof selectInstallations>["executeTakeFirstOrThrow"]>>;

function toRecord(row: Row): InstallationRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    pluginId: row.plugin_id,
    pluginUniqueIdentifier: row.plugin_unique_identifier,
    runtimeType: row.runtime_type,
    endpointsSetups: row.endpoints_setups,
    endpointsActive: row.endpoints_active,
    source: row.source,
    meta: row.meta,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
    checksum: row.checksum,
    declaration: row.declaration,
  };
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * listInstallations returns one page of a tenant's installations, oldest first (the order Dify shows),
 * and the total matching count so callers can tell whether more pages exist.
 */
export async function listInstallations(
  db: Db,
  tenantId: string,
  filter: InstallationFilter,
  page: { readonly offset: number; readonly limit: number },
): Promise<{ records: InstallationRecord[]; total: number }> {
  let query = selectInstallations(db).where("i.tenant_id", "=", tenantId);
  if (filter.category) query = query.where(sql<string>`p.declaration->>'category'`, "=", filter.category);
  if (filter.query) {
    const pattern = `%${escapeLike(filter.query)}%`;
    const language = filter.language || "en_US";
    query = query.where((eb) =>
      eb.or([
        eb("i.plugin_id", "ilike", pattern),
        eb(sql<string>`p.declaration->'label'->>${language}`, "ilike", pattern),
      ]),
    );
  }
  if (filter.tags && filter.tags.length > 0) {
    // `?|` is "has any of these keys/elements"; the array goes as one text[] parameter.
    query = query.where(sql<boolean>`coalesce(p.declaration->'tags', '[]'::jsonb) ?| ${sql.val([...filter.tags])}::text[]`);
  }
  const [rows, count] = await Promise.all([
    query.orderBy("i.created_at").orderBy("i.id").offset(page.offset).limit(page.limit).execute(),
    query.clearSelect().select((eb) => eb.fn.countAll<string | number>().as("n")).executeTakeFirstOrThrow(),
  ]);
  return { records: rows.map(toRecord), total: Number(count.n) };
}

/** findInstallation returns a tenant's installation by its id or its plugin id, or undefined. */
export async function findInstallation(
  db: Db,
  tenantId: string,
  by: { readonly id: string } | { readonly pluginId: string },
): Promise<InstallationRecord | undefined> {
  let query = selectInstallations(db).where("i.tenant_id", "=", tenantId);
  query = "id" in by ? query.where("i.id", "=", by.id) : query.where("i.plugin_id", "=", by.pluginId);
  const row = await query.executeTakeFirst();
  return row && toRecord(row);
}

/** findInstallationsByPluginIds returns a tenant's installations of the given plugin ids, with their package rows. */
export async function findInstallationsByPluginIds(db: Db, tenantId: string, pluginIds: readonly string[]): Promise<InstallationRecord[]> {
  if (pluginIds.length === 0) return [];
  const rows = await selectInstallations(db).where("i.tenant_id", "=", tenantId).where("i.plugin_id", "in", [...pluginIds]).execute();
  return rows.map(toRecord);
}
