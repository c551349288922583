import type { Db } from "../db/database.js";
import { findInstallation, type InstallationRecord } from "../db/repositories/installations.js";

/**
 * InstallationCache answers "which package does this tenant run for this plugin" on the invocation hot path
 * without a database round trip per call. This process's lifecycle invalidates entries as it changes them;
 * the TTL bounds how long another replica's change can go unseen. Misses are not cached, so a fresh install
 * is visible at once.
 */
export interface InstallationCache {
  find(tenantId: string, pluginId: string): Promise<InstallationRecord | undefined>;
  invalidate(tenantId: string, pluginId?: string): void;
}

export function createInstallationCache(db: Db, options: { readonly ttlMs?: number; readonly maxEntries?: number } = {}): InstallationCache {
  const ttlMs = options.ttlMs ?? 5_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, { record: InstallationRecord; expires: number }>();
  const keyOf = (tenantId: string, pluginId: string) => `${tenantId}\u0000${pluginId}`;
  return {
    async find(tenantId, pluginId) {
      const key = keyOf(tenantId, pluginId);
      const hit = entries.get(key);
      if (hit && hit.expires > performance.now()) return hit.record;
      const record = await findInstallation(db, tenantId, { pluginId });
      entries.delete(key);
      if (record) {
        // Map keeps insertion order: the first key is the oldest.
        if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
        entries.set(key, { record, expires: performance.now() + ttlMs });
      }
      return record;
    },
    invalidate(tenantId, pluginId) {
      if (pluginId !== undefined) return void entries.delete(keyOf(tenantId, pluginId));
      const prefix = `${tenantId}\u0000`;
      for (const key of entries.keys()) if (key.startsWith(prefix)) entries.delete(key);
    },
  };
}
