import { sql, type Transaction } from "kysely";
import type { Db } from "../database.js";
import type { Database, InstallTaskStatus, JsonObject } from "../tables.js";

/** Tx is a kysely transaction over our schema; the lifecycle writes that must land together take one. */
export type Tx = Transaction<Database>;

/** The five provider projections, keyed by the declaration field that feeds each. */
const PROJECTIONS = [
  ["tool", "tool_installations"],
  ["model", "ai_model_installations"],
  ["agent_strategy", "agent_strategy_installations"],
  ["datasource", "datasource_installations"],
  ["trigger", "trigger_installations"],
] as const;

/** providerNames lists the providers a declaration registers per projection table. */
function providerNames(declaration: JsonObject): { table: (typeof PROJECTIONS)[number][1]; provider: string }[] {
  const found: { table: (typeof PROJECTIONS)[number][1]; provider: string }[] = [];
  for (const [field, table] of PROJECTIONS) {
    const section = declaration[field] as JsonObject | undefined;
    if (!section) continue;
    const identity = section["identity"] as JsonObject | undefined;
    const provider = field === "model" ? section["provider"] : identity?.["name"];
    if (typeof provider === "string" && provider !== "") found.push({ table, provider });
  }
  return found;
}

/** The package row fields the lifecycle needs. */
export interface PackageRow {
  readonly uniqueIdentifier: string;
  readonly pluginId: string;
  readonly declaration: JsonObject;
  readonly refers: number;
}

export async function findPackage(db: Db | Tx, uniqueIdentifier: string): Promise<PackageRow | undefined> {
  const row = await db
    .selectFrom("plugins")
    .select(["plugin_unique_identifier", "plugin_id", "declaration", "refers"])
    .where("plugin_unique_identifier", "=", uniqueIdentifier)
    .executeTakeFirst();
  return row && { uniqueIdentifier: row.plugin_unique_identifier, pluginId: row.plugin_id, declaration: row.declaration, refers: row.refers };
}

/** Identifiers with at least one installation: what must run after a daemon restart. */
export async function referencedPackages(db: Db): Promise<string[]> {
  const rows = await db.selectFrom("plugins").select("plugin_unique_identifier").where("refers", ">", 0).execute();
  return rows.map((r) => r.plugin_unique_identifier);
}

export async function findTenantInstallation(db: Db | Tx, tenantId: string, pluginId: string) {
  return db
    .selectFrom("plugin_installations")
    .select(["id", "plugin_unique_identifier"])
    .where("tenant_id", "=", tenantId)
    .where("plugin_id", "=", pluginId)
    .executeTakeFirst();
}

async function addRefer(tx: Tx, uniqueIdentifier: string, delta: 1 | -1): Promise<number> {
  const row = await tx
    .updateTable("plugins")
    .set({ refers: sql`refers + ${delta}`, updated_at: new Date() })
    .where("plugin_unique_identifier", "=", uniqueIdentifier)
    .returning("refers")
    .executeTakeFirstOrThrow();
  return row.refers;
}

async function writeProjections(tx: Tx, tenantId: string, pluginId: string, uniqueIdentifier: string, declaration: JsonObject) {
  for (const { table } of PROJECTIONS.map(([, t]) => ({ table: t }))) {
    await tx.deleteFrom(table).where("tenant_id", "=", tenantId).where("plugin_id", "=", pluginId).execute();
  }
  for (const { table, provider } of providerNames(declaration)) {
    await tx.insertInto(table).values({ tenant_id: tenantId, plugin_id: pluginId, plugin_unique_identifier: uniqueIdentifier, provider }).execute();
  }
}

/** insertInstallation records a tenant's installation with its provider rows and counts the reference. */
export async function insertInstallation(
  tx: Tx,
  input: { tenantId: string; pkg: PackageRow; source: string; meta: JsonObject },
): Promise<string> {
  const row = await tx
    .insertInto("plugin_installations")
    .values({
      tenant_id: input.tenantId,
      plugin_id: input.pkg.pluginId,
      plugin_unique_identifier: input.pkg.uniqueIdentifier,
      runtime_type: "local",
      source: input.source,
      meta: JSON.stringify(input.meta),
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  await writeProjections(tx, input.tenantId, input.pkg.pluginId, input.pkg.uniqueIdentifier, input.pkg.declaration);
  await addRefer(tx, input.pkg.uniqueIdentifier, 1);
  return row.id;
}

/**
 * switchInstallation moves a tenant's installation to another version of the same plugin (upgrade or
 * downgrade). The installation row keeps its id, endpoints and plugin storage; returns the old identifier's
 * remaining reference count.
 */
export async function switchInstallation(
  tx: Tx,
  input: { tenantId: string; installationId: string; from: string; pkg: PackageRow; source: string; meta: JsonObject },
): Promise<number> {
  await tx
    .updateTable("plugin_installations")
    .set({ plugin_unique_identifier: input.pkg.uniqueIdentifier, source: input.source, meta: JSON.stringify(input.meta), updated_at: new Date() })
    .where("id", "=", input.installationId)
    .execute();
  await writeProjections(tx, input.tenantId, input.pkg.pluginId, input.pkg.uniqueIdentifier, input.pkg.declaration);
  await addRefer(tx, input.pkg.uniqueIdentifier, 1);
  return addRefer(tx, input.from, -1);
}

/** deleteInstallation removes an installation (its provider rows and endpoints go by cascade); returns the identifier and its remaining references. */
export async function deleteInstallation(tx: Tx, tenantId: string, installationId: string): Promise<{ uniqueIdentifier: string; refers: number } | undefined> {
  const row = await tx
    .deleteFrom("plugin_installations")
    .where("tenant_id", "=", tenantId)
    .where("id", "=", installationId)
    .returning("plugin_unique_identifier")
    .executeTakeFirst();
  if (!row) return undefined;
  return { uniqueIdentifier: row.plugin_unique_identifier, refers: await addRefer(tx, row.plugin_unique_identifier, -1) };
}

/** One plugin to install within a new task. */
export interface TaskPluginInput {
  readonly uniqueIdentifier: string;
  readonly pluginId: string;
  readonly originalUniqueIdentifier: string | null;
  readonly source: string;
  readonly meta: JsonObject;
  readonly labels: JsonObject;
  readonly icon: string;
}

export async function createInstallTask(db: Db, tenantId: string, kind: "install" | "upgrade", plugins: readonly TaskPluginInput[]): Promise<string> {
  return db.transaction().execute(async (tx) => {
    const task = await tx
      .insertInto("install_tasks")
      .values({ tenant_id: tenantId, kind, total_plugins: plugins.length })
      .returning("id")
      .executeTakeFirstOrThrow();
    await tx
      .insertInto("install_task_plugins")
      .values(
        plugins.map((p, position) => ({
          task_id: task.id,
          position,
          plugin_unique_identifier: p.uniqueIdentifier,
          plugin_id: p.pluginId,
          original_plugin_unique_identifier: p.originalUniqueIdentifier,
          source: p.source,
          meta: JSON.stringify(p.meta),
          labels: JSON.stringify(p.labels),
          icon: p.icon,
        })),
      )
      .execute();
    return task.id;
  });
}

export async function taskPlugins(db: Db, taskId: string) {
  return db.selectFrom("install_task_plugins").selectAll().where("task_id", "=", taskId).orderBy("position").execute();
}

// Dify shows the message as is; a pip failure can be long, so the middle goes (the full text stays in `error`).
function shorten(message: string, max = 1024): string {
  if (message.length <= max) return message;
  const half = Math.floor((max - 5) / 2);
  return `${message.slice(0, half)} ... ${message.slice(-half)}`;
}

export async function setTaskPluginState(
  db: Db | Tx,
  taskPluginId: string,
  status: InstallTaskStatus,
  message: string,
  error: string | null = null,
): Promise<void> {
  const now = new Date();
  await db
    .updateTable("install_task_plugins")
    .set({
      status,
      message: shorten(message),
      error,
      updated_at: now,
      ...(status === "running" ? { started_at: now } : {}),
      ...(status === "success" || status === "failed" ? { finished_at: now } : {}),
    })
    .where("id", "=", taskPluginId)
    .execute();
}

/** refreshTaskStatus recomputes a task's counts and state from its plugins: failed as soon as one failed. */
export async function refreshTaskStatus(db: Db | Tx, taskId: string): Promise<InstallTaskStatus> {
  const plugins = await db.selectFrom("install_task_plugins").select("status").where("task_id", "=", taskId).execute();
  const completed = plugins.filter((p) => p.status === "success").length;
  const failed = plugins.filter((p) => p.status === "failed").length;
  const finished = completed + failed === plugins.length;
  const status: InstallTaskStatus = failed > 0 && finished ? "failed" : finished ? "success" : plugins.some((p) => p.status !== "pending") ? "running" : "pending";
  const now = new Date();
  await db
    .updateTable("install_tasks")
    .set({ status, completed_plugins: completed, failed_plugins: failed, updated_at: now, heartbeat_at: now, finished_at: finished ? now : null })
    .where("id", "=", taskId)
    .execute();
  return status;
}

/** failUnfinishedTasks ends tasks a previous daemon process left pending or running, saying why. */
export async function failUnfinishedTasks(db: Db, reason: string): Promise<number> {
  return db.transaction().execute(async (tx) => {
    const tasks = await tx.selectFrom("install_tasks").select("id").where("status", "in", ["pending", "running"]).execute();
    for (const { id } of tasks) {
      await tx
        .updateTable("install_task_plugins")
        .set({ status: "failed", message: reason, error: reason, finished_at: new Date(), updated_at: new Date() })
        .where("task_id", "=", id)
        .where("status", "in", ["pending", "running"])
        .execute();
      await refreshTaskStatus(tx, id);
    }
    return tasks.length;
  });
}

/** deleteInstallTasks removes a tenant's task (or all of them); returns how many went. */
export async function deleteInstallTasks(db: Db, tenantId: string, taskId?: string): Promise<number> {
  let query = db.deleteFrom("install_tasks").where("tenant_id", "=", tenantId);
  if (taskId !== undefined) query = query.where("id", "=", taskId);
  const rows = await query.returning("id").execute();
  return rows.length;
}

/**
 * deleteInstallTaskItem removes one plugin from a tenant's task; the task goes too when what remains all
 * succeeded (Dify's "dismiss" of a finished item). Returns false when there was no such item.
 */
export async function deleteInstallTaskItem(db: Db, tenantId: string, taskId: string, uniqueIdentifier: string): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    const task = await tx.selectFrom("install_tasks").select("id").where("tenant_id", "=", tenantId).where("id", "=", taskId).forUpdate().executeTakeFirst();
    if (!task) return false;
    const removed = await tx
      .deleteFrom("install_task_plugins")
      .where("task_id", "=", taskId)
      .where("plugin_unique_identifier", "=", uniqueIdentifier)
      .returning("id")
      .execute();
    if (removed.length === 0) return false;
    const remaining = await tx.selectFrom("install_task_plugins").select("status").where("task_id", "=", taskId).execute();
    if (remaining.every((p) => p.status === "success")) {
      await tx.deleteFrom("install_tasks").where("id", "=", taskId).execute();
    } else {
      // Counts first, so the check constraint (completed + failed <= total) holds at every step.
      await tx.updateTable("install_tasks").set({ total_plugins: remaining.length, completed_plugins: 0, failed_plugins: 0 }).where("id", "=", taskId).execute();
      await refreshTaskStatus(tx, taskId);
    }
    return true;
  });
}
