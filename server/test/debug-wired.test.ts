import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDaemonClients, type DaemonClients } from "../../clients/client.js";
import { RuntimeType } from "../../gen/dify/plugin/v1/common_pb.js";
import { TEST_SERVER_KEY, startTestDaemon, type TestDaemon } from "./harness.js";

// A developer's plugin over the daemon's own debug listener, found and invoked through the Connect API.
const FIXTURE = path.resolve(import.meta.dirname, "fixtures/debug/debug_plugin.py");
const TENANT = "55555555-5555-4555-8555-555555555555";
let daemon: TestDaemon;
let clients: DaemonClients;
let plugin: ChildProcess | undefined;

// Keys in Redis when REDIS_HOST is set (CI), under a prefix of this run's own; in the database otherwise.
const REDIS_HOST = process.env.REDIS_HOST;
const REDIS_PREFIX = `debug_wired_${process.pid}`;

beforeAll(async () => {
  daemon = await startTestDaemon(REDIS_HOST ? { REDIS_HOST, REDIS_KEY_PREFIX: REDIS_PREFIX } : {});
  clients = createDaemonClients({ baseUrl: daemon.baseUrl, apiKey: TEST_SERVER_KEY, protocol: "connect-binary", httpVersion: "2" });
});
afterAll(async () => {
  plugin?.kill("SIGKILL");
  await daemon?.stop();
  if (!REDIS_HOST) return;
  const redis = new Redis({ host: REDIS_HOST, port: 6379 });
  const keys = await redis.keys(`${REDIS_PREFIX}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

async function installed(): Promise<string[]> {
  return (await clients.plugins.listInstallations({ tenantId: TENANT })).installations.map((i) => `${i.pluginId} ${RuntimeType[i.runtimeType]}`);
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("debug runtime wired into the daemon", () => {
  it("registers with the key DebugService hands out, answers invocations, and leaves the tenant when it dies", async () => {
    const { key, port } = await clients.debug.getDebuggingKey({ tenantId: TENANT });
    if (REDIS_HOST) {
      const redis = new Redis({ host: REDIS_HOST, port: 6379 });
      try {
        expect(await redis.get(`${REDIS_PREFIX}:debugging:key2id:${key}`)).toBe(TENANT);
      } finally {
        redis.disconnect();
      }
    }
    const again = await clients.debug.getDebuggingKey({ tenantId: TENANT });
    expect(again.key).toBe(key);
    plugin = spawn("python3", [FIXTURE], {
      env: { ...process.env, REMOTE_INSTALL_HOST: "127.0.0.1", REMOTE_INSTALL_PORT: String(port), REMOTE_INSTALL_KEY: again.key, FIXTURE_HEARTBEAT_INTERVAL: "0.5" },
      stdio: "ignore",
    });
    await until(async () => (await installed()).includes("daemon-tests/debug-tool DEBUG"), "the debug plugin to register");

    const texts: string[] = [];
    for await (const { message } of clients.invoke.invokeTool({ tenantId: TENANT, pluginId: "daemon-tests/debug-tool", userId: "dev", provider: "debug", tool: "echo", toolParameters: { text: "over tcp" } })) {
      if (message?.message.case === "text") texts.push(message.message.value.text);
    }
    expect(texts.join("")).toBe("over tcp");

    plugin.kill("SIGKILL");
    await until(async () => (await installed()).length === 0, "the debug plugin to leave the tenant");
    const err = ConnectError.from(
      await (async () => {
        for await (const _ of clients.invoke.invokeTool({ tenantId: TENANT, pluginId: "daemon-tests/debug-tool", userId: "dev", provider: "debug", tool: "echo", toolParameters: { text: "x" } })) void _;
      })().catch((e: unknown) => e),
    );
    expect(err.code).toBe(Code.NotFound);
  });
});
