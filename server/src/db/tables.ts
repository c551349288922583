import type { ColumnType, Generated, Insertable, JSONColumnType, Selectable, Updateable } from "kysely";

/**
 * The daemon's tables as kysely sees them. Names are snake_case as in SQL; repositories map rows to
 * camelCase domain types. The schema itself lives in ./migrations (frozen in time, never imports this file).
 *
 * Conventions that hold for every table:
 * - `id` is a uuid. The app may pass its own (UUIDv7, like the Go daemon); the database fills a v4 otherwise.
 * - JSON columns are `jsonb`. They are written as JSON text (`JSON.stringify(value)`), because `pg` turns a JS
 *   array parameter into a Postgres array literal; they read back parsed on both `pg` and PGlite.
 * - Counters and sizes are `integer`: `pg` returns `bigint` as a string but PGlite as a number.
 * - Tenant and user ids are `varchar(64)` (Dify sends uuids), plugin ids `varchar(320)` (author ≤64 + "/" +
 *   name ≤255), unique identifiers `varchar(512)` (`author/name:version@checksum` is at most 422 chars).
 */

/** A timestamp the database fills on insert (`now()`); it can be set explicitly. */
export type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
/** A timestamp with no default: it must be given on insert. */
export type RequiredTimestamp = ColumnType<Date, Date | string, Date | string>;
/** A nullable timestamp, null unless set. */
export type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** A jsonb column with a database default: optional on insert, JSON text when written. */
export type DefaultedJson<T> = ColumnType<T, string | undefined, string>;

/** Any JSON value, as read back from a jsonb column. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Where a plugin runs. The wire names Dify sees: `remote` is the debug runtime (a developer's plugin over TCP). */
export type RuntimeType = "local" | "remote" | "serverless";
/** Who signed a package (`.verification.dify.json`); null in the row means unverified. */
export type AuthorizedCategory = "langgenius" | "partner" | "community";
/** Install task and per-plugin states, as Dify's `InstallTask` shows them. */
export type InstallTaskStatus = "pending" | "running" | "success" | "failed";
export type InstallTaskKind = "install" | "upgrade";
/** A label in the four languages Dify shows (`en_US` required). */
export type I18nLabels = { en_US: string; zh_Hans?: string; ja_JP?: string; pt_BR?: string };

interface RowTimestamps {
  created_at: Timestamp;
  updated_at: Timestamp;
}

/**
 * plugins: one row per package the daemon knows, keyed by unique identifier, created at upload (or when a debug
 * plugin connects) and shared by every tenant that installs it. It merges the Go daemon's `plugins` and
 * `plugin_declarations` tables, so a manifest is never "record not found" for an installed package. `refers`
 * counts plugin_installations rows; a runtime exists only while refers > 0, and rows at 0 may be collected.
 */
export interface PluginTable extends RowTimestamps {
  id: Generated<string>;
  plugin_unique_identifier: string;
  /** `author/name`, the part before `:`. */
  plugin_id: string;
  version: string;
  checksum: string;
  /** The manifest JSON (icons already rewritten to asset ids), also for debug plugins. */
  declaration: JSONColumnType<JsonObject>;
  verification: AuthorizedCategory | null;
  runtime_type: RuntimeType;
  /** `plugin` for packages (kept for the Go column of the same name). */
  manifest_type: Generated<string>;
  refers: Generated<number>;
  /** Source of the first upload or install: marketplace, github, package, remote. */
  source: Generated<string>;
  /** For debug (remote) plugins: the tenant whose debugging session registered it. */
  debug_tenant_id: string | null;
}

/**
 * plugin_installations: a tenant has installed one version of a plugin. At most one per (tenant, plugin_id);
 * an upgrade updates the row in place so its id, endpoints and storage survive.
 */
export interface PluginInstallationTable extends RowTimestamps {
  id: Generated<string>;
  tenant_id: string;
  plugin_id: string;
  plugin_unique_identifier: string;
  runtime_type: RuntimeType;
  endpoints_setups: Generated<number>;
  endpoints_active: Generated<number>;
  source: Generated<string>;
  /** Opaque metadata from Dify (e.g. `{repo, version, package}` for GitHub installs). */
  meta: DefaultedJson<JsonObject>;
}

/**
 * The per-category projections of plugin_installations (one row per provider a manifest declares), so Dify can
 * list tools, models, ... of a tenant cheaply. Unique per (tenant, plugin, provider); deleted with the installation.
 */
export interface ProviderInstallationColumns extends RowTimestamps {
  id: Generated<string>;
  tenant_id: string;
  plugin_id: string;
  plugin_unique_identifier: string;
  provider: string;
}
/** tool_installations: tool providers (`manifest.tool.identity.name`). */
export interface ToolInstallationTable extends ProviderInstallationColumns {}
/** ai_model_installations: model providers (`manifest.model.provider`). */
export interface AiModelInstallationTable extends ProviderInstallationColumns {}
/** agent_strategy_installations: agent strategy providers. */
export interface AgentStrategyInstallationTable extends ProviderInstallationColumns {}
/** datasource_installations: datasource providers. */
export interface DatasourceInstallationTable extends ProviderInstallationColumns {}
/** trigger_installations: trigger providers. */
export interface TriggerInstallationTable extends ProviderInstallationColumns {}

/**
 * endpoints: a webhook a tenant set up on an installed plugin, served at `/e/{hook_id}/...`. Removed with the
 * installation (the Go daemon leaves them orphaned). `settings` holds what Dify's encrypt call returned.
 */
export interface EndpointTable extends RowTimestamps {
  id: Generated<string>;
  hook_id: string;
  tenant_id: string;
  user_id: string;
  plugin_id: string;
  name: Generated<string>;
  settings: DefaultedJson<JsonObject>;
  enabled: Generated<boolean>;
  /** Always 2050-01-01 in the Go daemon; kept because Dify shows it. */
  expired_at: Timestamp;
}

/**
 * install_tasks: one asynchronous install or upgrade for a tenant, polled by Dify. Its state lives in rows (not
 * in a JSON array, not in memory), so a restart resumes or fails it deterministically; `runner_id` and
 * `heartbeat_at` tell which daemon works on it and whether that daemon is still alive.
 */
export interface InstallTaskTable extends RowTimestamps {
  id: Generated<string>;
  tenant_id: string;
  kind: Generated<InstallTaskKind>;
  status: Generated<InstallTaskStatus>;
  total_plugins: number;
  completed_plugins: Generated<number>;
  failed_plugins: Generated<number>;
  runner_id: string | null;
  heartbeat_at: NullableTimestamp;
  /** Set when the task reached success or failed; retention of finished tasks is measured from here. */
  finished_at: NullableTimestamp;
}

/** install_task_plugins: one plugin of an install task, with its own state and progress message. */
export interface InstallTaskPluginTable extends RowTimestamps {
  id: Generated<string>;
  task_id: string;
  /** Order within the task, as Dify sent the identifiers. */
  position: number;
  plugin_unique_identifier: string;
  plugin_id: string;
  /** For upgrades: the identifier being replaced. */
  original_plugin_unique_identifier: string | null;
  status: Generated<InstallTaskStatus>;
  /** Latest progress or failure text, middle-truncated to ≤1024 chars (what Dify shows). */
  message: Generated<string>;
  /** Full error detail of a failure, for logs and operators. */
  error: string | null;
  icon: Generated<string>;
  icon_dark: Generated<string>;
  labels: DefaultedJson<I18nLabels | JsonObject>;
  source: string;
  /** The `metas[i]` Dify sent, written into the installation. */
  meta: DefaultedJson<JsonObject>;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
}

/** serverless_runtimes: where a package runs on the serverless platform (one function per package). */
export interface ServerlessRuntimeTable extends RowTimestamps {
  id: Generated<string>;
  plugin_unique_identifier: string;
  function_url: string;
  function_name: string;
  type: Generated<string>;
  checksum: string;
}

/**
 * plugin_storage: the key-value store a plugin reaches through the `storage` backwards invocation, scoped to
 * (tenant, plugin_id) so data survives upgrades and reinstalls. `size` is computed by the database.
 */
export interface PluginStorageTable extends RowTimestamps {
  id: Generated<string>;
  tenant_id: string;
  plugin_id: string;
  key: string;
  value: Uint8Array;
  size: ColumnType<number, never, never>;
}

/**
 * tenant_storage: bytes used per (tenant, plugin) in plugin_storage, one row each, so the quota is checked and
 * moved in one atomic update before a write lands.
 */
export interface TenantStorageTable extends RowTimestamps {
  id: Generated<string>;
  tenant_id: string;
  plugin_id: string;
  size: Generated<number>;
}

/** debugging_keys: the key a developer's plugin presents on the debug TCP port; one live key per tenant. */
export interface DebuggingKeyTable extends RowTimestamps {
  id: Generated<string>;
  tenant_id: string;
  key: string;
  expires_at: RequiredTimestamp;
}

/** plugin_readmes: README text per package and language, extracted lazily; removed with the package. */
export interface PluginReadmeTable extends RowTimestamps {
  id: Generated<string>;
  plugin_unique_identifier: string;
  language: string;
  content: string;
}

export interface Database {
  plugins: PluginTable;
  plugin_installations: PluginInstallationTable;
  tool_installations: ToolInstallationTable;
  ai_model_installations: AiModelInstallationTable;
  agent_strategy_installations: AgentStrategyInstallationTable;
  datasource_installations: DatasourceInstallationTable;
  trigger_installations: TriggerInstallationTable;
  endpoints: EndpointTable;
  install_tasks: InstallTaskTable;
  install_task_plugins: InstallTaskPluginTable;
  serverless_runtimes: ServerlessRuntimeTable;
  plugin_storage: PluginStorageTable;
  tenant_storage: TenantStorageTable;
  debugging_keys: DebuggingKeyTable;
  plugin_readmes: PluginReadmeTable;
}

export type PluginRow = Selectable<PluginTable>;
export type NewPluginRow = Insertable<PluginTable>;
export type PluginRowUpdate = Updateable<PluginTable>;
export type PluginInstallationRow = Selectable<PluginInstallationTable>;
export type NewPluginInstallationRow = Insertable<PluginInstallationTable>;
export type PluginInstallationRowUpdate = Updateable<PluginInstallationTable>;
/** The five projection tables share one row shape. */
export type ProviderInstallationRow = Selectable<ProviderInstallationColumns>;
export type NewProviderInstallationRow = Insertable<ProviderInstallationColumns>;
export type ProviderInstallationRowUpdate = Updateable<ProviderInstallationColumns>;
export type EndpointRow = Selectable<EndpointTable>;
export type NewEndpointRow = Insertable<EndpointTable>;
export type EndpointRowUpdate = Updateable<EndpointTable>;
export type InstallTaskRow = Selectable<InstallTaskTable>;
export type NewInstallTaskRow = Insertable<InstallTaskTable>;
export type InstallTaskRowUpdate = Updateable<InstallTaskTable>;
export type InstallTaskPluginRow = Selectable<InstallTaskPluginTable>;
export type NewInstallTaskPluginRow = Insertable<InstallTaskPluginTable>;
export type InstallTaskPluginRowUpdate = Updateable<InstallTaskPluginTable>;
export type ServerlessRuntimeRow = Selectable<ServerlessRuntimeTable>;
export type NewServerlessRuntimeRow = Insertable<ServerlessRuntimeTable>;
export type ServerlessRuntimeRowUpdate = Updateable<ServerlessRuntimeTable>;
export type PluginStorageRow = Selectable<PluginStorageTable>;
export type NewPluginStorageRow = Insertable<PluginStorageTable>;
export type PluginStorageRowUpdate = Updateable<PluginStorageTable>;
export type TenantStorageRow = Selectable<TenantStorageTable>;
export type NewTenantStorageRow = Insertable<TenantStorageTable>;
export type TenantStorageRowUpdate = Updateable<TenantStorageTable>;
export type DebuggingKeyRow = Selectable<DebuggingKeyTable>;
export type NewDebuggingKeyRow = Insertable<DebuggingKeyTable>;
export type DebuggingKeyRowUpdate = Updateable<DebuggingKeyTable>;
export type PluginReadmeRow = Selectable<PluginReadmeTable>;
export type NewPluginReadmeRow = Insertable<PluginReadmeTable>;
export type PluginReadmeRowUpdate = Updateable<PluginReadmeTable>;
