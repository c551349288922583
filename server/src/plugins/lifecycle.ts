import { EventEmitter } from "node:events";
import type { Db } from "../db/database.js";
import {
  createInstallTask,
  deleteInstallation,
  failUnfinishedTasks,
  findPackage,
  findTenantInstallation,
  insertInstallation,
  referencedPackages,
  refreshTaskStatus,
  setTaskPluginState,
  switchInstallation,
  taskPlugins,
  type PackageRow,
  type TaskPluginInput,
} from "../db/repositories/lifecycle.js";
import type { JsonObject } from "../db/tables.js";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../errors.js";
import type { Logger } from "../logger.js";
import { parseUniqueIdentifier, pluginIdOf } from "../packaging/identifier.js";
import type { InstallationCache } from "./installation-cache.js";
import type { RuntimeRegistry } from "./runtime-registry.js";

export interface LifecycleDeps {
  readonly db: Db;
  readonly runtimes: RuntimeRegistry;
  /** Forgotten for a tenant whenever its installations change here. */
  readonly installations: InstallationCache;
  /** Removes a package's unpacked files and venv once no tenant uses it. */
  readonly removeFiles: (uniqueIdentifier: string) => Promise<void>;
  readonly logger: Logger;
}

export interface InstallRequest {
  readonly tenantId: string;
  readonly uniqueIdentifiers: readonly string[];
  readonly source: string;
  readonly metas: readonly JsonObject[];
}

/**
 * The plugin lifecycle: install tasks run in the background and write their progress to rows; an installation
 * exists only once its runtime answered, so a failed install leaves nothing behind; packages are shared by
 * tenants with a reference count, and the last uninstall stops the runtime and removes its files.
 */
export function createLifecycle(deps: LifecycleDeps) {
  const { db, runtimes } = deps;
  const logger = deps.logger.child({ component: "lifecycle" });
  const changes = new EventEmitter().setMaxListeners(0);
  const running = new Set<Promise<void>>();

  async function requirePackage(uniqueIdentifier: string): Promise<PackageRow> {
    try {
      parseUniqueIdentifier(uniqueIdentifier);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
    const pkg = await findPackage(db, uniqueIdentifier);
    if (!pkg) throw new NotFoundError(`package ${uniqueIdentifier} is not stored in this daemon: upload it first`);
    return pkg;
  }

  /** Drops a package's runtime and files when nothing references it any more. */
  async function releaseIfUnused(uniqueIdentifier: string, refers: number): Promise<void> {
    if (refers > 0) return;
    await runtimes.release(uniqueIdentifier, () => deps.removeFiles(uniqueIdentifier));
  }

  async function runPlugin(tenantId: string, plugin: Awaited<ReturnType<typeof taskPlugins>>[number]): Promise<void> {
    await setTaskPluginState(db, plugin.id, "running", "preparing the plugin environment and starting it");
    changes.emit(plugin.task_id);
    try {
      const pkg = await requirePackage(plugin.plugin_unique_identifier);
      await runtimes.ensure(pkg.uniqueIdentifier);
      const existing = await findTenantInstallation(db, tenantId, pkg.pluginId);
      let message = "installed";
      if (existing && existing.plugin_unique_identifier === pkg.uniqueIdentifier) {
        message = "already installed";
      } else if (existing) {
        const left = await db.transaction().execute((tx) =>
          switchInstallation(tx, { tenantId, installationId: existing.id, from: existing.plugin_unique_identifier, pkg, source: plugin.source, meta: plugin.meta }),
        );
        await releaseIfUnused(existing.plugin_unique_identifier, left);
        message = "upgraded";
      } else {
        await db.transaction().execute((tx) => insertInstallation(tx, { tenantId, pkg, source: plugin.source, meta: plugin.meta }));
      }
      deps.installations.invalidate(tenantId, pkg.pluginId);
      await setTaskPluginState(db, plugin.id, "success", message);
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      logger.warn({ tenantId, plugin: plugin.plugin_unique_identifier, err }, "install failed");
      await setTaskPluginState(db, plugin.id, "failed", text, err instanceof Error ? (err.stack ?? text) : text);
      // A runtime launched only for this install must not outlive it; failing to stop it is logged, not hidden.
      try {
        const pkg = await findPackage(db, plugin.plugin_unique_identifier);
        if (pkg && pkg.refers === 0) await releaseIfUnused(pkg.uniqueIdentifier, 0);
      } catch (cleanupErr) {
        logger.error({ plugin: plugin.plugin_unique_identifier, err: cleanupErr }, "could not stop the runtime of a failed install");
      }
    }
  }

  async function runTask(tenantId: string, taskId: string): Promise<void> {
    for (const plugin of await taskPlugins(db, taskId)) {
      await runPlugin(tenantId, plugin);
      await refreshTaskStatus(db, taskId);
      changes.emit(taskId);
    }
  }

  function start(tenantId: string, taskId: string): void {
    const job = runTask(tenantId, taskId)
      .catch((err: unknown) => logger.error({ err, taskId }, "install task crashed"))
      .finally(() => running.delete(job));
    running.add(job);
  }

  return {
    /** install starts a task for the identifiers the tenant does not have yet; none left means all installed. */
    async install(request: InstallRequest): Promise<{ allInstalled: boolean; taskId: string }> {
      if (request.uniqueIdentifiers.length === 0) throw new InvalidArgumentError("plugin_unique_identifiers is empty: name at least one package");
      const todo: TaskPluginInput[] = [];
      for (const [index, uniqueIdentifier] of request.uniqueIdentifiers.entries()) {
        const pkg = await requirePackage(uniqueIdentifier);
        const existing = await findTenantInstallation(db, request.tenantId, pkg.pluginId);
        if (existing?.plugin_unique_identifier === uniqueIdentifier) continue;
        const declaration = pkg.declaration;
        todo.push({
          uniqueIdentifier,
          pluginId: pkg.pluginId,
          originalUniqueIdentifier: existing?.plugin_unique_identifier ?? null,
          source: request.source || "package",
          meta: request.metas[index] ?? {},
          labels: (declaration["label"] as JsonObject | undefined) ?? {},
          icon: typeof declaration["icon"] === "string" ? declaration["icon"] : "",
        });
      }
      if (todo.length === 0) return { allInstalled: true, taskId: "" };
      const taskId = await createInstallTask(db, request.tenantId, todo.some((t) => t.originalUniqueIdentifier) ? "upgrade" : "install", todo);
      start(request.tenantId, taskId);
      return { allInstalled: false, taskId };
    },

    /** upgrade moves a tenant from one version of a plugin to another, as a task. */
    async upgrade(tenantId: string, from: string, to: string, source: string, meta: JsonObject) {
      const original = parseUniqueIdentifier(from);
      const target = await requirePackage(to);
      if (pluginIdOf(original) !== target.pluginId) {
        throw new InvalidArgumentError(`cannot upgrade ${from} to ${to}: they are different plugins`);
      }
      const existing = await findTenantInstallation(db, tenantId, target.pluginId);
      if (!existing || existing.plugin_unique_identifier !== from) {
        throw new FailedPreconditionError(`${from} is not what tenant ${tenantId} has installed${existing ? ` (it has ${existing.plugin_unique_identifier})` : ""}`);
      }
      return this.install({ tenantId, uniqueIdentifiers: [to], source, metas: [meta] });
    },

    /** uninstall removes a tenant's installation; the last one stops the runtime and removes its files. */
    async uninstall(tenantId: string, installationId: string): Promise<void> {
      const removed = await db.transaction().execute((tx) => deleteInstallation(tx, tenantId, installationId));
      if (!removed) throw new NotFoundError(`installation ${installationId} not found in tenant ${tenantId}`);
      deps.installations.invalidate(tenantId);
      await releaseIfUnused(removed.uniqueIdentifier, removed.refers);
      logger.info({ tenantId, plugin: removed.uniqueIdentifier, refers: removed.refers }, "uninstalled");
    },

    /** onTaskChange calls back whenever a task's rows changed; returns the unsubscribe function. */
    onTaskChange(taskId: string, listener: () => void): () => void {
      changes.on(taskId, listener);
      return () => changes.off(taskId, listener);
    },

    /**
     * recover runs at start: tasks an earlier process left unfinished fail with a reason (their runtimes
     * died with it), and every package that still has installations is launched again.
     */
    async recover(): Promise<void> {
      const failed = await failUnfinishedTasks(db, "the daemon restarted while this install was running; install the plugin again");
      if (failed > 0) logger.warn({ tasks: failed }, "failed install tasks interrupted by a restart");
      for (const uniqueIdentifier of await referencedPackages(db)) {
        // Launch failures are logged by the registry and retried by the next install or restart.
        runtimes.ensure(uniqueIdentifier).catch(() => undefined);
      }
    },

    /** drain waits for running install tasks, for tests and shutdown. */
    async drain(): Promise<void> {
      await Promise.allSettled([...running]);
    },
  };
}

export type Lifecycle = ReturnType<typeof createLifecycle>;
