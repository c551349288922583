/**
 * Debugging keys (spec plugin-protocol §3.2): the UUID a developer's plugin presents in its TCP handshake, one per
 * tenant, valid for 2 h after it was last requested. In the `debugging_keys` table by default; in Redis (as the Go
 * daemon keeps them) when REDIS_HOST is configured, see debug-keys-redis.ts.
 */
import type { Db } from "../db/database.js";
import { issueDebuggingKey, tenantOfDebuggingKey, type IssuedKey } from "../db/repositories/debugging-keys.js";

/** The Go daemon's CONNECTION_KEY_EXPIRE_TIME. */
export const DEBUGGING_KEY_TTL_MS = 2 * 60 * 60 * 1000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface DebuggingKeyStore {
  /** issue returns the tenant's key (the same one while it lives), valid for the TTL from now. */
  issue(tenantId: string): Promise<IssuedKey>;
  /** tenantOf returns the tenant of a live key, or undefined for an unknown, malformed or expired one. */
  tenantOf(key: string): Promise<string | undefined>;
}

/** createDatabaseDebuggingKeyStore keeps keys in the `debugging_keys` table. */
export function createDatabaseDebuggingKeyStore(db: Db, options: { readonly ttlMs?: number } = {}): DebuggingKeyStore {
  const ttlMs = options.ttlMs ?? DEBUGGING_KEY_TTL_MS;
  return {
    issue: (tenantId) => issueDebuggingKey(db, tenantId, ttlMs),
    tenantOf: async (key) => (UUID.test(key) ? tenantOfDebuggingKey(db, key.toLowerCase()) : undefined),
  };
}
