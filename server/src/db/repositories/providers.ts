import { sql } from "kysely";
import type { Db } from "../database.js";
import type { AuthorizedCategory, JsonObject, RuntimeType } from "../tables.js";
import type { PluginCategoryName } from "./installations.js";

/**
 * Read-side queries behind PluginService's per-category provider listings, model bindings, batch and missing
 * installation lookups, and the README cache. Everything here is tenant-scoped except what is about a package
 * itself (whether anyone installed it, its READMEs), which is shared by every tenant as the package row is.
 */

/** ProviderKind names a per-category projection by the declaration section that feeds it. */
export type ProviderKind = "tool" | "model" | "agent_strategy" | "datasource" | "trigger";

const TABLES = {
  tool: "tool_installations",
  model: "ai_model_installations",
  agent_strategy: "agent_strategy_installations",
  datasource: "datasource_installations",
  trigger: "trigger_installations",
} as const satisfies Record<ProviderKind, string>;

/** ProviderRecord is one provider row with its provider-level declaration (and the plugin's manifest meta). */
export interface ProviderRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly pluginId: string;
  readonly pluginUniqueIdentifier: string;
  readonly provider: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** `declaration[kind]` of the installed package; null only if the stored declaration lacks the section. */
  readonly declaration: JsonObject | null;
  /** `declaration.meta` of the installed package. */
  readonly meta: JsonObject | null;
}

function selectProviders(db: Db, kind: ProviderKind) {
  // The five tables share one shape; kysely sees them through one name so the query types stay simple.
  const table = `${TABLES[kind]} as r` as "tool_installations as r";
  return db
    .selectFrom(table)
    .innerJoin("plugins as p", "p.plugin_unique_identifier", "r.plugin_unique_identifier")
    .select([
      "r.id",
      "r.tenant_id",
      "r.plugin_id",
      "r.plugin_unique_identifier",
      "r.provider",
      "r.created_at",
      "r.updated_at",
      sql<JsonObject | null>`p.declaration -> ${sql.lit(kind)}`.as("section"),
      sql<JsonObject | null>`p.declaration -> 'meta'`.as("meta"),
    ]);
}

type ProviderRow = Awaited<ReturnType<ReturnType<typeof selectProviders>["executeTakeFirstOrThrow"]>>;

function toProviderRecord(row: ProviderRow): ProviderRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    pluginId: row.plugin_id,
    pluginUniqueIdentifier: row.plugin_unique_identifier,
    provider: row.provider,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    declaration: row.section ?? null,
    meta: row.meta ?? null,
  };
}

/** listProviders returns one page of a tenant's providers of one kind, oldest first (stable across pages). */
export async function listProviders(
  db: Db,
  kind: ProviderKind,
  tenantId: string,
  page: { readonly offset: number; readonly limit: number },
): Promise<ProviderRecord[]> {
  const rows = await selectProviders(db, kind)
    .where("r.tenant_id", "=", tenantId)
    .orderBy("r.created_at")
    .orderBy("r.id")
    .offset(page.offset)
    .limit(page.limit)
    .execute();
  return rows.map(toProviderRecord);
}

/** findProvider returns a tenant's provider of one kind by plugin id and short provider name, or undefined. */
export async function findProvider(
  db: Db,
  kind: ProviderKind,
  tenantId: string,
  pluginId: string,
  provider: string,
): Promise<ProviderRecord | undefined> {
  const row = await selectProviders(db, kind)
    .where("r.tenant_id", "=", tenantId)
    .where("r.plugin_id", "=", pluginId)
    .where("r.provider", "=", provider)
    .executeTakeFirst();
  return row && toProviderRecord(row);
}

/** existingToolProviders returns the `plugin_id/provider` keys among `pluginIds` that a tenant has as tool providers. */
export async function existingToolProviders(db: Db, tenantId: string, pluginIds: readonly string[]): Promise<Set<string>> {
  if (pluginIds.length === 0) return new Set();
  const rows = await db
    .selectFrom("tool_installations")
    .select(["plugin_id", "provider"])
    .where("tenant_id", "=", tenantId)
    .where("plugin_id", "in", [...pluginIds])
    .execute();
  return new Set(rows.map((r) => `${r.plugin_id}/${r.provider}`));
}

/** ModelBindingRecord is a model provider with the installation that provides it. */
export interface ModelBindingRecord {
  readonly provider: string;
  readonly installationId: string;
  readonly pluginId: string;
  readonly pluginUniqueIdentifier: string;
  readonly runtimeType: RuntimeType;
  readonly source: string;
  readonly version: string;
  readonly verification: AuthorizedCategory | null;
}

/** listModelBindings lists a tenant's model providers with their installations, newest installation first. */
export async function listModelBindings(db: Db, tenantId: string): Promise<ModelBindingRecord[]> {
  const rows = await db
    .selectFrom("ai_model_installations as m")
    .innerJoin("plugin_installations as i", (join) =>
      join.onRef("i.tenant_id", "=", "m.tenant_id").onRef("i.plugin_id", "=", "m.plugin_id"),
    )
    .innerJoin("plugins as p", "p.plugin_unique_identifier", "i.plugin_unique_identifier")
    .select([
      "m.provider",
      "i.id as installation_id",
      "i.plugin_id",
      "i.plugin_unique_identifier",
      "i.runtime_type",
      "i.source",
      "p.version",
      "p.verification",
    ])
    .where("m.tenant_id", "=", tenantId)
    .orderBy("i.created_at", "desc")
    .orderBy("i.id", "desc")
    .orderBy("m.provider")
    .execute();
  return rows.map((r) => ({
    provider: r.provider,
    installationId: r.installation_id,
    pluginId: r.plugin_id,
    pluginUniqueIdentifier: r.plugin_unique_identifier,
    runtimeType: r.runtime_type,
    source: r.source,
    version: r.version,
    verification: r.verification,
  }));
}


/** installedIdentifiers maps each of `pluginIds` a tenant has installed to its installed unique identifier. */
export async function installedIdentifiers(db: Db, tenantId: string, pluginIds: readonly string[]): Promise<Map<string, string>> {
  if (pluginIds.length === 0) return new Map();
  const rows = await db
    .selectFrom("plugin_installations")
    .select(["plugin_id", "plugin_unique_identifier"])
    .where("tenant_id", "=", tenantId)
    .where("plugin_id", "in", [...pluginIds])
    .execute();
  return new Map(rows.map((r) => [r.plugin_id, r.plugin_unique_identifier]));
}

/** listInstalledPluginIds lists a tenant's installed plugin ids, newest installation first, optionally by category. */
export async function listInstalledPluginIds(db: Db, tenantId: string, category?: PluginCategoryName): Promise<string[]> {
  let query = db
    .selectFrom("plugin_installations as i")
    .select("i.plugin_id")
    .where("i.tenant_id", "=", tenantId);
  if (category) {
    query = query
      .innerJoin("plugins as p", "p.plugin_unique_identifier", "i.plugin_unique_identifier")
      .where(sql<string>`p.declaration->>'category'`, "=", category);
  }
  const rows = await query.orderBy("i.created_at", "desc").orderBy("i.id", "desc").execute();
  return rows.map((r) => r.plugin_id);
}

/** isInstalledAnywhere tells whether any tenant has exactly this package installed. */
export async function isInstalledAnywhere(db: Db, uniqueIdentifier: string): Promise<boolean> {
  const row = await db
    .selectFrom("plugin_installations")
    .select("id")
    .where("plugin_unique_identifier", "=", uniqueIdentifier)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** findReadmes returns the cached READMEs of a package by language (empty when none were extracted yet). */
export async function findReadmes(db: Db, uniqueIdentifier: string): Promise<Map<string, string>> {
  const rows = await db
    .selectFrom("plugin_readmes")
    .select(["language", "content"])
    .where("plugin_unique_identifier", "=", uniqueIdentifier)
    .orderBy("language")
    .execute();
  return new Map(rows.map((r) => [r.language, r.content]));
}

/** saveReadmes caches a package's READMEs; languages already cached keep their row (same package, same text). */
export async function saveReadmes(db: Db, uniqueIdentifier: string, readmes: ReadonlyMap<string, string>): Promise<void> {
  if (readmes.size === 0) return;
  await db
    .insertInto("plugin_readmes")
    .values([...readmes].map(([language, content]) => ({ plugin_unique_identifier: uniqueIdentifier, language, content })))
    .onConflict((oc) => oc.columns(["plugin_unique_identifier", "language"]).doNothing())
    .execute();
}
