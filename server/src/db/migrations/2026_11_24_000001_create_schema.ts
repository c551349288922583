import { sql, type CreateTableBuilder, type Kysely } from "kysely";

/**
 * The daemon's first schema: packages, installations and their per-category projections, endpoints, install
 * tasks with one row per plugin, serverless runtimes, plugin key-value storage with its quota rows, debugging
 * keys and readmes. Frozen in time: it imports nothing from the app, and later changes go in new files.
 * Runs on Postgres 15+ and PGlite (Postgres 17) alike; `gen_random_uuid()` is core since Postgres 13.
 */

const TENANT_ID = "varchar(64)";
const USER_ID = "varchar(64)";
const PLUGIN_ID = "varchar(320)"; // author (≤64) "/" name (≤255)
const UNIQUE_IDENTIFIER = "varchar(512)"; // author/name:version@checksum, at most 422 chars
const SOURCE = "varchar(63)";
const RUNTIME_TYPES = ["local", "remote", "serverless"];
const TASK_STATUSES = ["pending", "running", "success", "failed"];

const PROJECTIONS = [
  "tool_installations",
  "ai_model_installations",
  "agent_strategy_installations",
  "datasource_installations",
  "trigger_installations",
] as const;

/** In creation order; `down` drops them in reverse. */
const TABLES = [
  "plugins",
  "plugin_installations",
  ...PROJECTIONS,
  "endpoints",
  "install_tasks",
  "install_task_plugins",
  "serverless_runtimes",
  "plugin_storage",
  "tenant_storage",
  "debugging_keys",
  "plugin_readmes",
] as const;

/** `column in ('a', 'b')`, for status check constraints. */
function oneOf(column: string, values: readonly string[]) {
  return sql`${sql.ref(column)} in (${sql.join(values.map((v) => sql.lit(v)))})`;
}

/** The id, created_at and updated_at every table has. The app sets updated_at when it changes a row. */
function withRowColumns<T extends string>(table: CreateTableBuilder<T, never>) {
  return table
    .addColumn("id", "uuid", (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`));
}

export async function up(db: Kysely<any>): Promise<void> {
  await withRowColumns(db.schema.createTable("plugins"))
    .addColumn("plugin_unique_identifier", UNIQUE_IDENTIFIER, (c) => c.notNull())
    .addColumn("plugin_id", PLUGIN_ID, (c) => c.notNull())
    .addColumn("version", "varchar(64)", (c) => c.notNull())
    .addColumn("checksum", "varchar(64)", (c) => c.notNull())
    .addColumn("declaration", "jsonb", (c) => c.notNull())
    .addColumn("verification", "varchar(16)")
    .addColumn("runtime_type", "varchar(16)", (c) => c.notNull())
    .addColumn("manifest_type", "varchar(32)", (c) => c.notNull().defaultTo("plugin"))
    .addColumn("refers", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("source", SOURCE, (c) => c.notNull().defaultTo(""))
    .addColumn("debug_tenant_id", TENANT_ID)
    .addUniqueConstraint("plugins_plugin_unique_identifier_key", ["plugin_unique_identifier"])
    .addCheckConstraint("plugins_refers_check", sql`refers >= 0`)
    .addCheckConstraint("plugins_runtime_type_check", oneOf("runtime_type", RUNTIME_TYPES))
    .addCheckConstraint("plugins_verification_check", oneOf("verification", ["langgenius", "partner", "community"]))
    .execute();
  await db.schema.createIndex("plugins_plugin_id_idx").on("plugins").column("plugin_id").execute();
  await db.schema.createIndex("plugins_checksum_idx").on("plugins").column("checksum").execute();

  await withRowColumns(db.schema.createTable("plugin_installations"))
    .addColumn("tenant_id", TENANT_ID, (c) => c.notNull())
    .addColumn("plugin_id", PLUGIN_ID, (c) => c.notNull())
    .addColumn("plugin_unique_identifier", UNIQUE_IDENTIFIER, (c) => c.notNull())
    .addColumn("runtime_type", "varchar(16)", (c) => c.notNull())
    .addColumn("endpoints_setups", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("endpoints_active", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("source", SOURCE, (c) => c.notNull().defaultTo(""))
    .addColumn("meta", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addUniqueConstraint("plugin_installations_tenant_plugin_key", ["tenant_id", "plugin_id"])
    // A package row cannot go while a tenant still has it installed: refers bookkeeping errors fail loudly.
    .addForeignKeyConstraint(
      "plugin_installations_package_fkey",
      ["plugin_unique_identifier"],
      "plugins",
      ["plugin_unique_identifier"],
      (fk) => fk.onDelete("restrict"),
    )
    .addCheckConstraint("plugin_installations_runtime_type_check", oneOf("runtime_type", RUNTIME_TYPES))
    .addCheckConstraint(
      "plugin_installations_endpoints_check",
      sql`endpoints_active >= 0 and endpoints_setups >= endpoints_active`,
    )
    .execute();
  await db.schema
    .createIndex("plugin_installations_identifier_idx")
    .on("plugin_installations")
    .column("plugin_unique_identifier")
    .execute();
  await db.schema.createIndex("plugin_installations_plugin_id_idx").on("plugin_installations").column("plugin_id").execute();

  for (const table of PROJECTIONS) {
    await withRowColumns(db.schema.createTable(table))
      .addColumn("tenant_id", TENANT_ID, (c) => c.notNull())
      .addColumn("plugin_id", PLUGIN_ID, (c) => c.notNull())
      .addColumn("plugin_unique_identifier", UNIQUE_IDENTIFIER, (c) => c.notNull())
      .addColumn("provider", "varchar(127)", (c) => c.notNull())
      .addUniqueConstraint(`${table}_tenant_plugin_provider_key`, ["tenant_id", "plugin_id", "provider"])
      .addForeignKeyConstraint(
        `${table}_installation_fkey`,
        ["tenant_id", "plugin_id"],
        "plugin_installations",
        ["tenant_id", "plugin_id"],
        (fk) => fk.onDelete("cascade"),
      )
      .execute();
    await db.schema.createIndex(`${table}_tenant_provider_idx`).on(table).columns(["tenant_id", "provider"]).execute();
    await db.schema.createIndex(`${table}_identifier_idx`).on(table).column("plugin_unique_identifier").execute();
  }

  await withRowColumns(db.schema.createTable("endpoints"))
    .addColumn("hook_id", "varchar(64)", (c) => c.notNull())
    .addColumn("tenant_id", TENANT_ID, (c) => c.notNull())
    .addColumn("user_id", USER_ID, (c) => c.notNull().defaultTo(""))
    .addColumn("plugin_id", PLUGIN_ID, (c) => c.notNull())
    .addColumn("name", "varchar(127)", (c) => c.notNull().defaultTo("default"))
    .addColumn("settings", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn("enabled", "boolean", (c) => c.notNull().defaultTo(true))
    .addColumn("expired_at", "timestamptz", (c) => c.notNull().defaultTo(sql`'2050-01-01 00:00:00+00'`))
    .addUniqueConstraint("endpoints_hook_id_key", ["hook_id"])
    // Uninstall removes a tenant's endpoints of that plugin (the Go daemon leaves them orphaned).
    .addForeignKeyConstraint(
      "endpoints_installation_fkey",
      ["tenant_id", "plugin_id"],
      "plugin_installations",
      ["tenant_id", "plugin_id"],
      (fk) => fk.onDelete("cascade"),
    )
    .execute();
  await db.schema.createIndex("endpoints_tenant_created_idx").on("endpoints").columns(["tenant_id", "created_at"]).execute();
  await db.schema.createIndex("endpoints_tenant_plugin_idx").on("endpoints").columns(["tenant_id", "plugin_id"]).execute();

  await withRowColumns(db.schema.createTable("install_tasks"))
    .addColumn("tenant_id", TENANT_ID, (c) => c.notNull())
    .addColumn("kind", "varchar(16)", (c) => c.notNull().defaultTo("install"))
    .addColumn("status", "varchar(16)", (c) => c.notNull().defaultTo("pending"))
    .addColumn("total_plugins", "integer", (c) => c.notNull())
    .addColumn("completed_plugins", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("failed_plugins", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("runner_id", "varchar(64)")
    .addColumn("heartbeat_at", "timestamptz")
    .addColumn("finished_at", "timestamptz")
    .addCheckConstraint("install_tasks_status_check", oneOf("status", TASK_STATUSES))
    .addCheckConstraint("install_tasks_kind_check", oneOf("kind", ["install", "upgrade"]))
    .addCheckConstraint(
      "install_tasks_counts_check",
      sql`completed_plugins >= 0 and failed_plugins >= 0 and completed_plugins + failed_plugins <= total_plugins`,
    )
    .execute();
  await db.schema.createIndex("install_tasks_tenant_created_idx").on("install_tasks").columns(["tenant_id", "created_at"]).execute();
  await db.schema.createIndex("install_tasks_status_idx").on("install_tasks").column("status").execute();

  await withRowColumns(db.schema.createTable("install_task_plugins"))
    .addColumn("task_id", "uuid", (c) => c.notNull().references("install_tasks.id").onDelete("cascade"))
    .addColumn("position", "integer", (c) => c.notNull())
    .addColumn("plugin_unique_identifier", UNIQUE_IDENTIFIER, (c) => c.notNull())
    .addColumn("plugin_id", PLUGIN_ID, (c) => c.notNull())
    .addColumn("original_plugin_unique_identifier", UNIQUE_IDENTIFIER)
    .addColumn("status", "varchar(16)", (c) => c.notNull().defaultTo("pending"))
    .addColumn("message", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("error", "text")
    .addColumn("icon", "varchar(255)", (c) => c.notNull().defaultTo(""))
    .addColumn("icon_dark", "varchar(255)", (c) => c.notNull().defaultTo(""))
    .addColumn("labels", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn("source", SOURCE, (c) => c.notNull())
    .addColumn("meta", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn("started_at", "timestamptz")
    .addColumn("finished_at", "timestamptz")
    // Dify deletes one entry by identifier (`/install/tasks/{id}/delete/{identifier}`), so it is unique per task.
    .addUniqueConstraint("install_task_plugins_task_identifier_key", ["task_id", "plugin_unique_identifier"])
    .addCheckConstraint("install_task_plugins_status_check", oneOf("status", TASK_STATUSES))
    .execute();
  await db.schema
    .createIndex("install_task_plugins_identifier_idx")
    .on("install_task_plugins")
    .column("plugin_unique_identifier")
    .execute();

  await withRowColumns(db.schema.createTable("serverless_runtimes"))
    .addColumn("plugin_unique_identifier", UNIQUE_IDENTIFIER, (c) =>
      c.notNull().unique().references("plugins.plugin_unique_identifier").onDelete("cascade"),
    )
    .addColumn("function_url", "varchar(2048)", (c) => c.notNull())
    .addColumn("function_name", "varchar(255)", (c) => c.notNull())
    .addColumn("type", "varchar(32)", (c) => c.notNull().defaultTo("serverless"))
    .addColumn("checksum", "varchar(64)", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("serverless_runtimes_checksum_idx").on("serverless_runtimes").column("checksum").execute();

  // Storage is keyed by plugin_id, not version, and outlives uninstall, so neither table references installations.
  await withRowColumns(db.schema.createTable("plugin_storage"))
    .addColumn("tenant_id", TENANT_ID, (c) => c.notNull())
    .addColumn("plugin_id", PLUGIN_ID, (c) => c.notNull())
    .addColumn("key", "varchar(256)", (c) => c.notNull())
    .addColumn("value", "bytea", (c) => c.notNull())
    .addColumn("size", "integer", (c) => c.notNull().generatedAlwaysAs(sql`octet_length(value)`).stored())
    .addUniqueConstraint("plugin_storage_tenant_plugin_key_key", ["tenant_id", "plugin_id", "key"])
    .execute();

  await withRowColumns(db.schema.createTable("tenant_storage"))
    .addColumn("tenant_id", TENANT_ID, (c) => c.notNull())
    .addColumn("plugin_id", PLUGIN_ID, (c) => c.notNull())
    .addColumn("size", "integer", (c) => c.notNull().defaultTo(0))
    .addUniqueConstraint("tenant_storage_tenant_plugin_key", ["tenant_id", "plugin_id"])
    .addCheckConstraint("tenant_storage_size_check", sql`size >= 0`)
    .execute();

  await withRowColumns(db.schema.createTable("debugging_keys"))
    .addColumn("tenant_id", TENANT_ID, (c) => c.notNull().unique())
    .addColumn("key", "varchar(64)", (c) => c.notNull().unique())
    .addColumn("expires_at", "timestamptz", (c) => c.notNull())
    .execute();

  await withRowColumns(db.schema.createTable("plugin_readmes"))
    .addColumn("plugin_unique_identifier", UNIQUE_IDENTIFIER, (c) =>
      c.notNull().references("plugins.plugin_unique_identifier").onDelete("cascade"),
    )
    .addColumn("language", "varchar(16)", (c) => c.notNull())
    .addColumn("content", "text", (c) => c.notNull())
    .addUniqueConstraint("plugin_readmes_identifier_language_key", ["plugin_unique_identifier", "language"])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [...TABLES].reverse()) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
