import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisDebuggingKeyStore } from "./debug-keys-redis.js";

// Against the Redis REDIS_HOST names (CI sets it; without it these tests are skipped, as Postgres ones are
// without DB_URL); keys live under a prefix unique to this run.
const prefix = `test_${randomUUID().slice(0, 8)}`;
let redis: Redis;

const REDIS_HOST = process.env.REDIS_HOST;

beforeAll(() => {
  if (!REDIS_HOST) return;
  redis = new Redis({ host: REDIS_HOST, port: Number(process.env.REDIS_PORT ?? 6379), lazyConnect: false, maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  if (!redis) return;
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe.runIf(REDIS_HOST)("Redis debugging key store", () => {
  it("issues one key per tenant, renews it, and resolves it back to the tenant", async () => {
    const store = createRedisDebuggingKeyStore(redis, { prefix, ttlMs: 60_000 });
    const tenant = randomUUID();
    const first = await store.issue(tenant);
    expect(first.key).toMatch(/^[0-9a-f-]{36}$/);
    expect((await store.issue(tenant)).key).toBe(first.key);
    expect(await store.tenantOf(first.key)).toBe(tenant);
    expect(await store.tenantOf(first.key.toUpperCase())).toBe(tenant);
    expect(await store.tenantOf(randomUUID())).toBeUndefined();
    expect(await store.tenantOf("not-a-key")).toBeUndefined();
    expect(await redis.pttl(`${prefix}:debugging:id2key:${tenant}`)).toBeGreaterThan(50_000);
  });

  it("forgets keys when they expire", async () => {
    const store = createRedisDebuggingKeyStore(redis, { prefix, ttlMs: 100 });
    const tenant = randomUUID();
    const { key } = await store.issue(tenant);
    await new Promise((r) => setTimeout(r, 250));
    expect(await store.tenantOf(key)).toBeUndefined();
    expect((await store.issue(tenant)).key).not.toBe(key);
  });
});
