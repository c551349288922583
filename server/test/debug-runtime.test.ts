import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import net from "node:net";
import path from "node:path";
import { createClient, createRouterTransport, type Client } from "@connectrpc/connect";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDaemonClients, type DaemonClients } from "../../clients/client.js";
import { RuntimeType } from "../../gen/dify/plugin/v1/common_pb.js";
import { DebugService } from "../../gen/dify/plugin/v1/debug_service_pb.js";
import type { Db } from "../src/db/database.js";
import { RuntimeUnavailableError } from "../src/errors.js";
import { createDatabaseDebuggingKeyStore, type DebuggingKeyStore } from "../src/plugins/debug-keys.js";
import { createDebugPluginServer, type DebugPluginServer } from "../src/plugins/debug-plugins.js";
import { createInstallationCache } from "../src/plugins/installation-cache.js";
import { createRuntimeRegistry, type RuntimeRegistry } from "../src/plugins/runtime-registry.js";
import { ConnectionClosedError } from "../src/runtimes/debug/errors.js";
import { createDebugServer } from "../src/runtimes/debug/server.js";
import { PluginInvokeError } from "../src/runtimes/runtime.js";
import { createDebugService } from "../src/services/debug-service.js";
import { createDispatch, type Dispatch } from "../src/services/invoke/dispatch.js";
import { blobKeys } from "../src/storage/blob-storage.js";
import { createLocalStorage } from "../src/storage/local-storage.js";
import { errorsInterceptor } from "../src/transport/interceptors/errors.js";
import { TEST_SERVER_KEY, startTestDaemon, type TestDaemon } from "./harness.js";

// The debug runtime end to end: a real daemon's database, the debug TCP server on port 0 wired to a runtime registry
// and dispatch of the test's own (the daemon's registry is not exposed before main.ts wires the debug server), and
// the debug fixture plugin as a real Python process connecting over TCP with a key.
const TENANT = "55555555-5555-4555-8555-555555555555";
const OTHER_TENANT = "66666666-6666-4666-8666-666666666666";
const FIXTURE = path.resolve(import.meta.dirname, "fixtures/debug/debug_plugin.py");
const PLUGIN_ID = "daemon-tests/debug-tool";
const HEARTBEAT_TIMEOUT_MS = 2_000;

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
let daemon: TestDaemon;
let clients: DaemonClients;
let db: Db;
let registry: RuntimeRegistry;
let keys: DebuggingKeyStore;
let server: DebugPluginServer;
let port: number;
let dispatch: Dispatch;
let debugClient: Client<typeof DebugService>;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  daemon = await startTestDaemon({ FORCE_VERIFYING_SIGNATURE: "false" });
  clients = createDaemonClients({ baseUrl: daemon.baseUrl, apiKey: TEST_SERVER_KEY, protocol: "connect-binary", httpVersion: "2" });
  db = daemon.daemon.database.db;
  registry = createRuntimeRegistry(async (uid) => {
    throw new RuntimeUnavailableError(`the test registry launches nothing (${uid})`);
  }, logger);
  const installations = createInstallationCache(db);
  keys = createDatabaseDebuggingKeyStore(db);
  server = createDebugPluginServer({
    db,
    storage: createLocalStorage(daemon.config.storage.root),
    runtimes: registry,
    installations,
    keys,
    logger,
    host: "127.0.0.1",
    port: 0,
    heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
  });
  port = await server.start();
  dispatch = createDispatch({ db, dify: null, logger, runtimes: registry, installations });
  const service = createDebugService({ keys, enabled: true, host: "127.0.0.1", port });
  debugClient = createClient(DebugService, createRouterTransport((router) => router.service(DebugService, service), { router: { interceptors: [errorsInterceptor(logger)] } }));
}, 60_000);

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await server?.close();
  await daemon?.stop();
});

interface PluginProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  stderr(): string;
}

function startPlugin(key: string, env: Record<string, string> = {}): PluginProcess {
  const child = spawn("python3", [FIXTURE], {
    env: {
      ...process.env,
      REMOTE_INSTALL_HOST: "127.0.0.1",
      REMOTE_INSTALL_PORT: String(port),
      REMOTE_INSTALL_KEY: key,
      FIXTURE_HEARTBEAT_INTERVAL: "0.3",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  void exited.then(() => children.delete(child));
  return { child, exited, stderr: () => stderr };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function installationsOf(tenantId: string) {
  return (await clients.plugins.listInstallations({ tenantId, page: 1, pageSize: 50 })).installations;
}

async function registered(tenantId = TENANT, pluginId = PLUGIN_ID) {
  return until(`${pluginId} to be installed in ${tenantId}`, async () => (await installationsOf(tenantId)).find((i) => i.pluginId === pluginId));
}

async function gone(tenantId = TENANT, pluginId = PLUGIN_ID) {
  return until(`${pluginId} to leave ${tenantId}`, async () => ((await installationsOf(tenantId)).some((i) => i.pluginId === pluginId) ? undefined : true));
}

const target = (tenantId = TENANT) => ({ tenantId, pluginId: PLUGIN_ID, userId: "user-1", pluginUniqueIdentifier: "" });
const tool = (name: string, parameters: Record<string, unknown> = {}) => ({
  type: "tool",
  action: "invoke_tool",
  data: { provider: "debug", tool: name, tool_parameters: parameters, credentials: {} },
});

/** rawExchange connects, writes lines, and returns everything the daemon wrote until it closed the connection. */
async function rawExchange(lines: string[], serverPort = port): Promise<{ text: string; closedAfterMs: number }> {
  const socket = net.connect(serverPort, "127.0.0.1");
  const started = Date.now();
  let text = "";
  socket.on("data", (c: Buffer) => (text += c.toString()));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  for (const line of lines) socket.write(line);
  await new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return { text, closedAfterMs: Date.now() - started };
}

describe("debugging keys", () => {
  it("gives each tenant one key, the same while it lives, with where to connect and a 2 h expiry", async () => {
    const first = await debugClient.getDebuggingKey({ tenantId: TENANT });
    const again = await debugClient.getDebuggingKey({ tenantId: TENANT });
    const other = await debugClient.getDebuggingKey({ tenantId: OTHER_TENANT });
    expect(again.key).toBe(first.key);
    expect(other.key).not.toBe(first.key);
    expect(first.host).toBe("127.0.0.1");
    expect(first.port).toBe(port);
    const expires = Number(first.expiresAt?.seconds ?? 0n) * 1000;
    expect(Math.abs(expires - (Date.now() + 2 * 3600_000))).toBeLessThan(60_000);
  });
});

describe("registration", () => {
  it("refuses a wrong key with one plain-text line and closes the connection", async () => {
    const { text } = await rawExchange([`${JSON.stringify({ type: "handshake", data: { key: randomUUID() } })}\n`]);
    expect(text).toBe("handshake failed, invalid key\n");
    // The fixture plugin, as the SDK would, is told the same and goes away.
    const plugin = startPlugin(randomUUID());
    expect(await plugin.exited).toBe(3);
    expect(plugin.stderr()).toContain("daemon said: handshake failed, invalid key");
  });

  it("refuses a first message that is not a handshake, and a connection that says nothing within the deadline", async () => {
    expect((await rawExchange(['{"event":"heartbeat","session_id":null,"data":{}}\n'])).text).toBe("handshake failed, invalid handshake message\n");
    expect((await rawExchange(["hello\n"])).text).toBe("handshake failed, invalid handshake message\n");
    const quick = createDebugServer({
      host: "127.0.0.1",
      port: 0,
      handshakeTimeoutMs: 300,
      logger,
      resolveKey: async () => undefined,
      onRegistered: async () => undefined,
      onDisconnected: async () => undefined,
    });
    const quickPort = await quick.listen();
    try {
      const { text, closedAfterMs } = await rawExchange([], quickPort);
      expect(text).toBe("handshake failed, no handshake within 0.3 s\n");
      expect(closedAfterMs).toBeLessThan(2_500);
    } finally {
      await quick.close();
    }
  });

  it("refuses an end without declarations, and a manifest the upload rules refuse", async () => {
    const { key } = await keys.issue(TENANT);
    const handshake = `${JSON.stringify({ type: "handshake", data: { key } })}\n`;
    const end = `${JSON.stringify({ type: "end", data: {} })}\n\n`;
    expect((await rawExchange([handshake, end])).text).toBe("no registration transferred, cannot initialize\n");
    const bad = { type: "manifest_declaration", data: { version: "x", author: "daemon-tests", name: "bad", label: { en_US: "Bad" } } };
    const tools = { type: "tool_declaration", data: [{ identity: { name: "t", author: "daemon-tests", label: { en_US: "T" } }, tools: [] }] };
    const { text } = await rawExchange([handshake, `${JSON.stringify(bad)}\n\n`, `${JSON.stringify(tools)}\n\n`, end]);
    expect(text).toMatch(/^register failed, invalid manifest detected: .*version.*\n$/);
    expect(await installationsOf(TENANT)).toEqual([]);
  });
});

describe("a registered debug plugin", () => {
  it("is installed for the key's tenant with its assets, and invoked over its connection like a local plugin", async () => {
    const { key } = await debugClient.getDebuggingKey({ tenantId: TENANT });
    const plugin = startPlugin(key);
    const installation = await registered();
    expect(installation.runtimeType).toBe(RuntimeType.DEBUG);
    expect(installation.source).toBe("remote");
    expect(installation.declaration?.name).toBe("debug-tool");
    expect(installation.pluginUniqueIdentifier).toMatch(/^daemon-tests\/debug-tool:0\.0\.1@[0-9a-f]{64}$/);
    expect(await installationsOf(OTHER_TENANT)).toEqual([]);

    const row = await db.selectFrom("plugins").selectAll().where("plugin_unique_identifier", "=", installation.pluginUniqueIdentifier).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ runtime_type: "remote", debug_tenant_id: TENANT, source: "remote", refers: 1, checksum: installation.checksum });
    expect(installation.pluginUniqueIdentifier.endsWith(`@${row.checksum}`)).toBe(true);
    const icon = row.declaration["icon"] as string;
    expect(icon).toMatch(/^[0-9a-f]{64}\.svg$/);
    expect(await createLocalStorage(daemon.config.storage.root).exists(blobKeys.asset(icon))).toBe(true);
    expect(registry.list()).toContain(installation.pluginUniqueIdentifier);

    const chunks: unknown[] = [];
    for await (const chunk of dispatch(target(), tool("echo", { text: "hello over tcp" }), new AbortController().signal)) chunks.push(chunk);
    expect(chunks).toEqual([{ type: "text", message: { text: "hello over tcp" }, meta: null }]);

    const failure = await (async () => {
      for await (const _ of dispatch(target(), tool("fail"), new AbortController().signal)) void _;
    })().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(PluginInvokeError);
    expect(failure).toMatchObject({ errorType: "ValueError", message: "the debug fixture was asked to fail" });

    // Concurrent sessions share the connection.
    const many = await Promise.all(
      ["a", "b", "c", "d"].map(async (text) => {
        const out: unknown[] = [];
        for await (const chunk of dispatch(target(), tool("echo", { text }), new AbortController().signal)) out.push(chunk);
        return out;
      }),
    );
    expect(many.map((c) => (c[0] as { message: { text: string } }).message.text)).toEqual(["a", "b", "c", "d"]);

    plugin.child.kill("SIGKILL");
    await gone();
  });

  it("fails an invocation at once when the plugin is killed mid-stream, and leaves the tenant", async () => {
    const { key } = await keys.issue(TENANT);
    const plugin = startPlugin(key);
    const installation = await registered();
    const stream = dispatch(target(), tool("stream", { count: 30, interval: 1 }), new AbortController().signal)[Symbol.asyncIterator]();
    const first = await stream.next();
    expect(first.value).toEqual({ type: "text", message: { text: "tick 0" }, meta: null });
    const killedAt = Date.now();
    plugin.child.kill("SIGKILL");
    const error = await stream.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    const failedAfterMs = Date.now() - killedAt;
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect((error as Error).message).toMatch(/disconnected: the plugin closed the connection/);
    expect(failedAfterMs).toBeLessThan(900);

    await gone();
    await until("the runtime to be released", async () => (registry.list().includes(installation.pluginUniqueIdentifier) ? undefined : true));
    expect(await db.selectFrom("plugins").select("id").where("plugin_unique_identifier", "=", installation.pluginUniqueIdentifier).execute()).toEqual([]);
    expect(await db.selectFrom("plugin_installations").select("id").where("tenant_id", "=", TENANT).execute()).toEqual([]);
    // Invoking it now says it is not installed.
    const after = await (async () => {
      for await (const _ of dispatch(target(), tool("echo", { text: "x" }), new AbortController().signal)) void _;
    })().catch((e: unknown) => e);
    expect((after as Error).message).toMatch(/not installed/);
  });

  it("is disconnected and uninstalled when its heartbeats stop", async () => {
    const { key } = await keys.issue(TENANT);
    const plugin = startPlugin(key, { FIXTURE_HEARTBEAT_INTERVAL: "600" });
    await registered();
    const started = Date.now();
    expect(await plugin.exited).toBe(3);
    expect(Date.now() - started).toBeLessThan(HEARTBEAT_TIMEOUT_MS + 3_000);
    await gone();
  });

  it("is replaced by a newer connection of the same plugin, and the older one is closed", async () => {
    const { key } = await keys.issue(TENANT);
    const older = startPlugin(key);
    const first = await registered();
    const newer = startPlugin(key, { FIXTURE_PLUGIN_VERSION: "0.0.2" });
    expect(await older.exited).toBe(3);
    const second = await until("the newer version", async () => (await installationsOf(TENANT)).find((i) => i.pluginId === PLUGIN_ID && i.version === "0.0.2"));
    expect(second.pluginUniqueIdentifier).not.toBe(first.pluginUniqueIdentifier);
    expect((await installationsOf(TENANT)).filter((i) => i.pluginId === PLUGIN_ID)).toHaveLength(1);
    const chunks: unknown[] = [];
    for await (const chunk of dispatch(target(), tool("echo", { text: "newer" }), new AbortController().signal)) chunks.push(chunk);
    expect(chunks).toEqual([{ type: "text", message: { text: "newer" }, meta: null }]);
    expect(await db.selectFrom("plugins").select("id").where("plugin_unique_identifier", "=", first.pluginUniqueIdentifier).execute()).toEqual([]);
    newer.child.kill("SIGKILL");
    await gone();
  });

  it("uninstalls every connected plugin when the server closes", async () => {
    const local = createDebugPluginServer({
      db,
      storage: createLocalStorage(daemon.config.storage.root),
      runtimes: registry,
      installations: createInstallationCache(db),
      keys,
      logger,
      host: "127.0.0.1",
      port: 0,
    });
    const localPort = await local.start();
    const { key } = await keys.issue(OTHER_TENANT);
    const plugin = startPlugin(key, { REMOTE_INSTALL_PORT: String(localPort) });
    await registered(OTHER_TENANT);
    await local.close();
    expect(await installationsOf(OTHER_TENANT)).toEqual([]);
    expect(await plugin.exited).toBe(3);
  });
});
