import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { IssuedKey } from "../db/repositories/debugging-keys.js";
import { DEBUGGING_KEY_TTL_MS, type DebuggingKeyStore } from "./debug-keys.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * createRedisDebuggingKeyStore keeps debugging keys in Redis, as the Go daemon does, so every replica behind
 * one Redis accepts the same key: `<prefix>:debugging:id2key:<tenant>` and `<prefix>:debugging:key2id:<key>`,
 * both expiring together; asking again returns the same key and renews both.
 */
export function createRedisDebuggingKeyStore(redis: Redis, options: { readonly prefix?: string; readonly ttlMs?: number } = {}): DebuggingKeyStore {
  const prefix = options.prefix ?? "plugin_daemon";
  const ttlMs = options.ttlMs ?? DEBUGGING_KEY_TTL_MS;
  const id2key = (tenantId: string) => `${prefix}:debugging:id2key:${tenantId}`;
  const key2id = (key: string) => `${prefix}:debugging:key2id:${key}`;

  return {
    async issue(tenantId): Promise<IssuedKey> {
      for (let attempt = 0; attempt < 3; attempt++) {
        const existing = await redis.get(id2key(tenantId));
        const expiresAt = new Date(Date.now() + ttlMs);
        if (existing) {
          await redis.multi().pexpire(id2key(tenantId), ttlMs).set(key2id(existing), tenantId, "PX", ttlMs).exec();
          return { key: existing, expiresAt };
        }
        const key = randomUUID();
        // NX: two replicas issuing at once agree on the first key written.
        if ((await redis.set(id2key(tenantId), key, "PX", ttlMs, "NX")) === "OK") {
          await redis.set(key2id(key), tenantId, "PX", ttlMs);
          return { key, expiresAt };
        }
      }
      throw new Error(`could not issue a debugging key for tenant ${tenantId}: Redis kept changing under us`);
    },
    async tenantOf(key) {
      if (!UUID.test(key)) return undefined;
      return (await redis.get(key2id(key.toLowerCase()))) ?? undefined;
    },
  };
}
