import type { Db } from "../database.js";
import type { I18nLabels, InstallTaskPluginRow, InstallTaskRow, InstallTaskStatus, JsonObject } from "../tables.js";

/** InstallTaskRecord is a task with its plugins in request order. */
export interface InstallTaskRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly status: InstallTaskStatus;
  readonly totalPlugins: number;
  readonly completedPlugins: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly plugins: readonly InstallTaskPluginRecord[];
}

/** InstallTaskPluginRecord is the state of one plugin within a task. */
export interface InstallTaskPluginRecord {
  readonly pluginUniqueIdentifier: string;
  readonly pluginId: string;
  readonly status: InstallTaskStatus;
  readonly message: string;
  readonly labels: I18nLabels | JsonObject;
  readonly icon: string;
  readonly iconDark: string;
  readonly source: string;
}

function toRecord(task: InstallTaskRow, plugins: InstallTaskPluginRow[]): InstallTaskRecord {
  return {
    id: task.id,
    tenantId: task.tenant_id,
    status: task.status,
    totalPlugins: task.total_plugins,
    completedPlugins: task.completed_plugins,
    createdAt: task.created_at,
    updatedAt: task.updated_at,
    plugins: plugins
      .sort((a, b) => a.position - b.position)
      .map((p) => ({
        pluginUniqueIdentifier: p.plugin_unique_identifier,
        pluginId: p.plugin_id,
        status: p.status,
        message: p.message,
        labels: p.labels,
        icon: p.icon,
        iconDark: p.icon_dark,
        source: p.source,
      })),
  };
}

async function withPlugins(db: Db, tasks: InstallTaskRow[]): Promise<InstallTaskRecord[]> {
  if (tasks.length === 0) return [];
  const plugins = await db
    .selectFrom("install_task_plugins")
    .selectAll()
    .where(
      "task_id",
      "in",
      tasks.map((t) => t.id),
    )
    .execute();
  return tasks.map((t) =>
    toRecord(
      t,
      plugins.filter((p) => p.task_id === t.id),
    ),
  );
}

/** findInstallTask returns a tenant's task, or undefined when there is none with that id for the tenant. */
export async function findInstallTask(db: Db, tenantId: string, taskId: string): Promise<InstallTaskRecord | undefined> {
  const task = await db
    .selectFrom("install_tasks")
    .selectAll()
    .where("tenant_id", "=", tenantId)
    .where("id", "=", taskId)
    .executeTakeFirst();
  if (!task) return undefined;
  const [record] = await withPlugins(db, [task]);
  return record;
}

/** listInstallTasks returns one page of a tenant's tasks, newest first. */
export async function listInstallTasks(
  db: Db,
  tenantId: string,
  page: { readonly offset: number; readonly limit: number },
): Promise<InstallTaskRecord[]> {
  const tasks = await db
    .selectFrom("install_tasks")
    .selectAll()
    .where("tenant_id", "=", tenantId)
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .offset(page.offset)
    .limit(page.limit)
    .execute();
  return withPlugins(db, tasks);
}
