/**
 * Debug plugins in the tenant (spec plugin-protocol §3.3-§3.5, state-and-config §3.3): when a developer's plugin has
 * registered over TCP it is installed into the key's tenant like a package (a `plugins` row with runtime_type
 * "remote", debug_tenant_id and the debug checksum; an installation with source "remote"; its assets stored), its
 * runtime is adopted by the runtime registry so dispatch finds it, and the installation cache forgets the tenant's
 * entry. When the connection goes, all of that is undone: installation and package rows removed (endpoints go with
 * the installation), runtime released, cache entry dropped.
 *
 * One plugin id per tenant is debugged by one connection at a time: a new registration of the same plugin replaces
 * the older connection. A plugin the tenant installed from a package is left alone: the registration is refused.
 */
import type { Db } from "../db/database.js";
import { deleteInstallation, findTenantInstallation, insertInstallation } from "../db/repositories/lifecycle.js";
import type { JsonObject } from "../db/tables.js";
import type { Logger } from "../logger.js";
import { DebugPluginRuntime } from "../runtimes/debug/debug-runtime.js";
import { RegistrationError } from "../runtimes/debug/errors.js";
import type { DebugRegistration } from "../runtimes/debug/registration.js";
import { createDebugServer, type DebugServer, type DebugServerOptions } from "../runtimes/debug/server.js";
import { blobKeys, type BlobStorage } from "../storage/blob-storage.js";
import type { DebuggingKeyStore } from "./debug-keys.js";
import type { InstallationCache } from "./installation-cache.js";
import type { RuntimeRegistry } from "./runtime-registry.js";

export interface DebugPluginsDeps {
  readonly db: Db;
  readonly storage: BlobStorage;
  readonly runtimes: RuntimeRegistry;
  readonly installations: InstallationCache;
  readonly logger: Logger;
}

/** createDebugPlugins installs registered debug plugins into their tenant and removes them when they disconnect. */
export function createDebugPlugins(deps: DebugPluginsDeps) {
  const { db, storage, runtimes, installations } = deps;
  const logger = deps.logger.child({ component: "debug-plugins" });
  /** The connected runtime of each debugged plugin, by `tenant\0pluginId`. */
  const live = new Map<string, { registration: DebugRegistration; runtime: DebugPluginRuntime }>();
  /** One install/uninstall at a time per tenant and plugin. */
  const locks = new Map<string, Promise<void>>();
  const keyOf = (tenantId: string, pluginId: string): string => `${tenantId}\u0000${pluginId}`;

  async function locked<T>(key: string, job: () => Promise<T>): Promise<T> {
    const previous = locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => {
      release = resolve;
    });
    const chained = previous.then(() => current);
    locks.set(key, chained);
    await previous;
    try {
      return await job();
    } finally {
      release();
      if (locks.get(key) === chained) locks.delete(key);
    }
  }

  /** removeRows deletes a tenant's remote installation of a package and the package row once nothing uses it. */
  async function removeRows(tenantId: string, pluginId: string, uniqueIdentifier: string): Promise<void> {
    await db.transaction().execute(async (tx) => {
      const installation = await findTenantInstallation(tx, tenantId, pluginId);
      if (installation && installation.plugin_unique_identifier === uniqueIdentifier) {
        await deleteInstallation(tx, tenantId, installation.id);
      }
      await tx
        .deleteFrom("plugins")
        .where("plugin_unique_identifier", "=", uniqueIdentifier)
        .where("runtime_type", "=", "remote")
        .where("refers", "<=", 0)
        .execute();
    });
  }

  /** disconnect undoes a registration; the caller holds the plugin's lock. */
  async function disconnectLocked(key: string, registration: DebugRegistration, runtime: DebugPluginRuntime): Promise<void> {
    if (live.get(key)?.runtime !== runtime) return;
    live.delete(key);
    await runtime.stop();
    try {
      await removeRows(registration.tenantId, registration.pluginId, registration.uniqueIdentifier);
    } finally {
      installations.invalidate(registration.tenantId, registration.pluginId);
      await runtimes.release(registration.uniqueIdentifier);
    }
    logger.info({ tenantId: registration.tenantId, plugin: registration.uniqueIdentifier }, "debug plugin uninstalled");
  }

  return {
    /** register installs a registered plugin into its tenant; throws RegistrationError to refuse it. */
    async register(registration: DebugRegistration, runtime: DebugPluginRuntime): Promise<void> {
      const { tenantId, pluginId, uniqueIdentifier, declaration } = registration;
      const key = keyOf(tenantId, pluginId);
      await locked(key, async () => {
        const previous = live.get(key);
        if (previous) {
          logger.info({ tenantId, plugin: previous.registration.uniqueIdentifier }, "a new connection replaces the debug plugin's older one");
          await disconnectLocked(key, previous.registration, previous.runtime);
        }
        const existing = await db
          .selectFrom("plugin_installations")
          .select(["id", "plugin_unique_identifier", "runtime_type"])
          .where("tenant_id", "=", tenantId)
          .where("plugin_id", "=", pluginId)
          .executeTakeFirst();
        if (existing && existing.runtime_type !== "remote") {
          throw new RegistrationError(
            `register failed, plugin ${pluginId} is already installed in this workspace (${existing.plugin_unique_identifier}); uninstall it before debugging it`,
          );
        }
        if (existing) {
          // Left by a connection this daemon no longer has (it restarted): debugging starts afresh.
          await removeRows(tenantId, pluginId, existing.plugin_unique_identifier);
          await runtimes.release(existing.plugin_unique_identifier);
        }
        for (const asset of registration.assets) {
          const blob = blobKeys.asset(asset.id);
          if (!(await storage.exists(blob))) await storage.put(blob, asset.data);
        }
        await db.transaction().execute(async (tx) => {
          await tx
            .insertInto("plugins")
            .values({
              plugin_unique_identifier: uniqueIdentifier,
              plugin_id: pluginId,
              version: registration.version,
              checksum: registration.checksum,
              declaration: JSON.stringify(declaration),
              verification: null,
              runtime_type: "remote",
              source: "remote",
              debug_tenant_id: tenantId,
            })
            .onConflict((oc) => oc.column("plugin_unique_identifier").doUpdateSet({ declaration: JSON.stringify(declaration), updated_at: new Date() }))
            .execute();
          const pkg = { uniqueIdentifier, pluginId, declaration: declaration as unknown as JsonObject, refers: 0 };
          const installationId = await insertInstallation(tx, { tenantId, pkg, source: "remote", meta: {} });
          await tx.updateTable("plugin_installations").set({ runtime_type: "remote" }).where("id", "=", installationId).execute();
        });
        runtimes.adopt(uniqueIdentifier, runtime);
        live.set(key, { registration, runtime });
        installations.invalidate(tenantId, pluginId);
        logger.info({ tenantId, plugin: uniqueIdentifier }, "debug plugin installed");
      });
    },

    /** unregister removes a disconnected plugin from its tenant (a no-op when a newer connection replaced it). */
    async unregister(registration: DebugRegistration, runtime: DebugPluginRuntime): Promise<void> {
      const key = keyOf(registration.tenantId, registration.pluginId);
      await locked(key, () => disconnectLocked(key, registration, runtime));
    },

    /**
     * purgeStale removes remote installations and packages left by an earlier process (debug connections never
     * survive a restart); run it before the lifecycle relaunches installed packages. Returns how many went.
     */
    async purgeStale(): Promise<number> {
      const rows = await db
        .selectFrom("plugin_installations")
        .select(["id", "tenant_id", "plugin_id", "plugin_unique_identifier"])
        .where("runtime_type", "=", "remote")
        .execute();
      let removed = 0;
      for (const row of rows) {
        if (live.has(keyOf(row.tenant_id, row.plugin_id))) continue;
        await removeRows(row.tenant_id, row.plugin_id, row.plugin_unique_identifier);
        installations.invalidate(row.tenant_id, row.plugin_id);
        removed++;
      }
      await db.deleteFrom("plugins").where("runtime_type", "=", "remote").where("refers", "<=", 0).execute();
      if (removed > 0) logger.info({ removed }, "removed debug plugins left by an earlier process");
      return removed;
    },

    /** connected lists the debug plugins connected now, as `tenant` + unique identifier. */
    connected(): { tenantId: string; uniqueIdentifier: string }[] {
      return [...live.values()].map(({ registration }) => ({ tenantId: registration.tenantId, uniqueIdentifier: registration.uniqueIdentifier }));
    },
  };
}

export type DebugPlugins = ReturnType<typeof createDebugPlugins>;

export type DebugPluginServerOptions = DebugPluginsDeps &
  Omit<DebugServerOptions, "resolveKey" | "onRegistered" | "onDisconnected" | "logger"> & {
    readonly keys: DebuggingKeyStore;
  };

/** A debug TCP server wired to the tenant installations. */
export interface DebugPluginServer extends DebugServer {
  readonly plugins: DebugPlugins;
  /** start removes stale debug installations, then listens; resolves with the port. */
  start(): Promise<number>;
}

/**
 * createDebugPluginServer is the composition main.ts needs: the TCP listener (runtimes/debug/server.ts) whose
 * handshake checks keys from `keys` and whose registrations become tenant installations (createDebugPlugins).
 */
export function createDebugPluginServer(options: DebugPluginServerOptions): DebugPluginServer {
  const plugins = createDebugPlugins(options);
  const server = createDebugServer({
    ...options,
    resolveKey: (key) => options.keys.tenantOf(key),
    onRegistered: (registration, runtime) => plugins.register(registration, runtime),
    onDisconnected: (registration, runtime) => plugins.unregister(registration, runtime),
  });
  return {
    ...server,
    plugins,
    async start() {
      await plugins.purgeStale();
      return server.listen();
    },
  };
}
