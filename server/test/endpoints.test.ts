import { cp, mkdtemp, rm } from "node:fs/promises";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { Code, ConnectError, createClient, createRouterTransport, type Client } from "@connectrpc/connect";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDaemonClients, type DaemonClients } from "../../clients/client.js";
import { EndpointService } from "../../gen/dify/plugin/v1/endpoint_service_pb.js";
import { InstallTaskStatus } from "../../gen/dify/plugin/v1/install_pb.js";
import { InvokeService } from "../../gen/dify/plugin/v1/invoke_service_pb.js";
import type { Db } from "../src/db/database.js";
import { buildPackage } from "../src/packaging/build-package.js";
import { createEndpointEncryption } from "../src/plugins/endpoint-encryption.js";
import { createEndpoints, type Endpoints } from "../src/plugins/endpoints.js";
import { createInstallationCache } from "../src/plugins/installation-cache.js";
import { createLocalLauncher } from "../src/plugins/local-launcher.js";
import { createRuntimeRegistry, type RuntimeRegistry } from "../src/plugins/runtime-registry.js";
import { createEndpointService, createInvokeEndpointRpc } from "../src/services/endpoint-service.js";
import { createDispatch } from "../src/services/invoke/dispatch.js";
import { createLocalStorage } from "../src/storage/local-storage.js";
import { createEndpointHookHandler } from "../src/transport/endpoint-hook.js";
import { errorsInterceptor } from "../src/transport/interceptors/errors.js";
import { TEST_SERVER_KEY, startTestDaemon, type TestDaemon } from "./harness.js";

// Endpoints end to end: a real daemon (upload, install, installations), the endpoint fixture plugin as a real Python
// process, a fake Dify inner API doing the settings encryption, the EndpointService implementation behind a Connect
// router with the daemon's error mapping, and the `/e/...` hook handler mounted on a test HTTP server. The endpoint
// code runs on a runtime registry and dispatch of the test's own (main.ts does not wire them yet), over the daemon's
// database and package storage.
const TENANT = "77777777-7777-4777-8777-777777777777";
const PLUGIN_ID = "daemon-tests/endpoint-plugin";
const FIXTURES = path.resolve(import.meta.dirname, "fixtures/plugins");
const INNER_KEY = "inner-key";
const SECRET = "super-secret-value";
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

let daemon: TestDaemon;
let clients: DaemonClients;
let db: Db;
let fakeDify: Server;
let difyUrl: string;
let encryptCalls: Record<string, unknown>[] = [];
let registry: RuntimeRegistry;
let endpoints: Endpoints;
let service: Client<typeof EndpointService>;
let invokeClient: Client<typeof InvokeService>;
let hook: Server;
let hookUrl: string;
let uniqueIdentifier = "";
let workingPath = "";

/** Dify's inner API, encrypt only: secret-input values become "enc:<base64>" and back. */
function startFakeDify(): Promise<void> {
  fakeDify = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      if (req.url !== "/inner/api/invoke/encrypt" || req.headers["x-inner-api-key"] !== INNER_KEY) return void res.writeHead(404).end("not found");
      const call = JSON.parse(body) as { opt: string; data: Record<string, unknown>; config: { name: string; type: string }[] };
      encryptCalls.push(call as unknown as Record<string, unknown>);
      const secrets = new Set(call.config.filter((c) => c.type === "secret-input").map((c) => c.name));
      const data: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(call.data ?? {})) {
        if (!secrets.has(k) || typeof v !== "string") data[k] = v;
        else if (call.opt === "encrypt") data[k] = `enc:${Buffer.from(v).toString("base64")}`;
        else if (call.opt === "decrypt") data[k] = Buffer.from(v.replace(/^enc:/, ""), "base64").toString();
        else data[k] = v;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ data: { data }, error: "" }));
    });
  });
  return new Promise((resolve) =>
    fakeDify.listen(0, "127.0.0.1", () => {
      difyUrl = `http://127.0.0.1:${(fakeDify.address() as AddressInfo).port}`;
      resolve();
    }),
  );
}

async function buildEndpointPackage(): Promise<Buffer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fixture-endpoint-plugin-"));
  try {
    await cp(path.join(FIXTURES, "endpoint-plugin"), dir, { recursive: true, filter: (s) => !s.includes("__pycache__") });
    await cp(path.join(FIXTURES, "_shared/mini_sdk.py"), path.join(dir, "mini_sdk.py"));
    return (await buildPackage(dir, { maxBytes: 50 * 1024 * 1024 })).bytes;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function routerClient<S extends typeof EndpointService | typeof InvokeService>(desc: S, impl: object): Client<S> {
  const transport = createRouterTransport((router) => router.service(desc, impl as never), { router: { interceptors: [errorsInterceptor(logger)] } });
  return createClient(desc, transport);
}

beforeAll(async () => {
  process.env.PIP_CONFIG_FILE = "/dev/null";
  await startFakeDify();
  daemon = await startTestDaemon({ FORCE_VERIFYING_SIGNATURE: "false", DIFY_INNER_API_URL: difyUrl, DIFY_INNER_API_KEY: INNER_KEY });
  clients = createDaemonClients({ baseUrl: daemon.baseUrl, apiKey: TEST_SERVER_KEY, protocol: "connect-binary", httpVersion: "2" });
  db = daemon.daemon.database.db;
  ({ pluginUniqueIdentifier: uniqueIdentifier } = await clients.plugins.uploadPackage({ tenantId: TENANT, package: await buildEndpointPackage() }));
  const started = await clients.plugins.installFromIdentifiers({ tenantId: TENANT, pluginUniqueIdentifiers: [uniqueIdentifier], source: "package" });
  let task;
  for await (const { task: t } of clients.plugins.watchInstallTask({ tenantId: TENANT, taskId: started.taskId })) task = t;
  expect(task?.status, task?.plugins[0]?.message).toBe(InstallTaskStatus.SUCCESS);

  workingPath = await mkdtemp(path.join(os.tmpdir(), "endpoint-test-cwd-"));
  const launcher = createLocalLauncher({
    storage: createLocalStorage(daemon.config.storage.root),
    runtime: { ...daemon.config.runtime, workingPath },
    maxPackageBytes: daemon.config.packages.maxPackageBytes,
    logger,
  });
  registry = createRuntimeRegistry(launcher.launch, logger);
  await registry.ensure(uniqueIdentifier);
  const installations = createInstallationCache(db);
  const dispatch = createDispatch({ db, dify: null, logger, runtimes: registry, installations });
  endpoints = createEndpoints({ db, installations, encryption: createEndpointEncryption({ baseUrl: difyUrl, apiKey: INNER_KEY }), dispatch, logger });
  service = routerClient(EndpointService, createEndpointService(endpoints));
  invokeClient = routerClient(InvokeService, createInvokeEndpointRpc(endpoints));
  hook = createServer(createEndpointHookHandler({ endpoints, runtimes: registry, logger, maxRequestBytes: 64 * 1024, maxResponseBytes: 1024 * 1024 }));
  await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
}, 240_000);

afterAll(async () => {
  await new Promise((resolve) => hook?.close(resolve));
  await registry?.stopAll();
  await daemon?.stop();
  await new Promise((resolve) => fakeDify?.close(resolve));
  if (workingPath) await rm(workingPath, { recursive: true, force: true });
});

interface HookAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** When each body piece arrived, in ms from the response start. */
  arrivals: number[];
}

function call(method: string, url: string, body?: string, headers: Record<string, string> = {}): Promise<HookAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${hookUrl}${url}`, { method, headers }, (res) => {
      const started = Date.now();
      const parts: Buffer[] = [];
      const arrivals: number[] = [];
      res.on("data", (c: Buffer) => {
        parts.push(c);
        arrivals.push(Date.now() - started);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString(), arrivals }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

const failure = async (p: Promise<unknown>) => ConnectError.from(await p.then(() => "no error", (e: unknown) => e));
const installation = async () => (await clients.plugins.listInstallations({ tenantId: TENANT, page: 1, pageSize: 10 })).installations.find((i) => i.pluginId === PLUGIN_ID);
const envelope = (code: number, errorType: string, message: string) =>
  JSON.stringify({ code, message: JSON.stringify({ message, error_type: errorType, args: null }), data: null });

describe("endpoint management", () => {
  let endpointId = "";
  let hookId = "";

  it("refuses settings the declaration refuses, and a plugin the tenant has not installed", async () => {
    const missing = await failure(service.setupEndpoint({ tenantId: TENANT, pluginUniqueIdentifier: uniqueIdentifier, userId: "u1", name: "hook", settings: {} }));
    expect(missing.code).toBe(Code.InvalidArgument);
    expect(missing.rawMessage).toBe("failed to validate settings: missing required setting: api_key");
    const other = await failure(
      service.setupEndpoint({ tenantId: "88888888-8888-4888-8888-888888888888", pluginUniqueIdentifier: uniqueIdentifier, userId: "u1", name: "hook", settings: { api_key: "x" } }),
    );
    expect(other.code).toBe(Code.NotFound);
    expect(other.rawMessage).toMatch(/is not installed in tenant/);
  });

  it("sets an endpoint up with a 16-character hook id, settings encrypted by Dify, and the installation's counters", async () => {
    encryptCalls = [];
    const created = await service.setupEndpoint({
      tenantId: TENANT,
      pluginUniqueIdentifier: uniqueIdentifier,
      userId: "user-1",
      name: "my hook",
      settings: { api_key: SECRET, greeting: "hello" },
    });
    endpointId = created.endpointId;
    hookId = created.hookId;
    expect(hookId).toMatch(/^[a-z0-9]{16}$/);
    expect(encryptCalls).toHaveLength(1);
    expect(encryptCalls[0]).toMatchObject({
      tenant_id: TENANT,
      user_id: "user-1",
      type: "encrypt",
      opt: "encrypt",
      namespace: "endpoint",
      identity: endpointId,
      data: { api_key: SECRET, greeting: "hello" },
    });
    const row = await db.selectFrom("endpoints").selectAll().where("id", "=", endpointId).executeTakeFirstOrThrow();
    expect(row.settings).toEqual({ api_key: `enc:${Buffer.from(SECRET).toString("base64")}`, greeting: "hello" });
    expect(JSON.stringify(row.settings)).not.toContain(SECRET);
    expect(await installation()).toMatchObject({ endpointsSetups: 1, endpointsActive: 1 });
  });

  it("lists endpoints with settings decrypted then masked, and the plugin's endpoint declaration", async () => {
    const { endpoints: all } = await service.listEndpoints({ tenantId: TENANT, page: 1, pageSize: 10 });
    const { endpoints: mine } = await service.listPluginEndpoints({ tenantId: TENANT, pluginId: PLUGIN_ID, page: 1, pageSize: 10 });
    expect(mine).toEqual(all);
    expect(all).toHaveLength(1);
    const endpoint = all[0]!;
    expect(endpoint).toMatchObject({ id: endpointId, hookId, name: "my hook", userId: "user-1", pluginId: PLUGIN_ID, tenantId: TENANT, enabled: true });
    expect(endpoint.settings).toEqual({ api_key: "su**************ue", greeting: "hello" });
    expect(endpoint.declaration?.endpoints.map((e) => `${e.method} ${e.path}${e.hidden ? " (hidden)" : ""}`)).toEqual(["GET /some/path", "POST /some/path", "GET /big (hidden)"]);
    expect(endpoint.declaration?.settings.map((s) => s["name"])).toEqual(["api_key", "greeting"]);
    expect(endpoint.expiredAt?.seconds).toBe(BigInt(Date.UTC(2050, 0, 1) / 1000));
    expect((await failure(service.listEndpoints({ tenantId: TENANT, page: 1, pageSize: 101 }))).code).toBe(Code.InvalidArgument);
  });

  it("serves GET on the hook: the whole request reaches the plugin, its status and headers come back, the body streams", async () => {
    const answer = await call("GET", `/e/${hookId}/some/path?x=1&y=two`, undefined, { "X-Test": "yes", "X-Forwarded-For": "10.1.2.3" });
    expect(answer.status).toBe(200);
    expect(answer.headers["x-fixture"]).toBe("get");
    expect(answer.headers["content-type"]).toBe("application/json");
    const echo = JSON.parse(answer.body) as Record<string, unknown>;
    expect(echo).toMatchObject({
      method: "GET",
      path: "/some/path",
      query: { x: ["1"], y: ["two"] },
      body: "",
      settings: { api_key: SECRET, greeting: "hello" },
      raw_request_line: "GET /some/path?x=1&y=two HTTP/1.1",
    });
    const headers = echo["headers"] as Record<string, string>;
    expect(headers["X-Test"]).toBe("yes");
    expect(headers["Dify-Hook-Id"]).toBe(hookId);
    expect(headers["Dify-Hook-Url"]).toBe(`http://${new URL(hookUrl).host}/e/${hookId}/some/path`);
    expect(headers["Host"]).toBe(new URL(hookUrl).host);
    expect(headers["X-Forwarded-For"]).toBeUndefined();
    // Three pieces 0.3 s apart: the first arrived well before the last.
    expect(answer.arrivals.length).toBeGreaterThanOrEqual(2);
    expect(answer.arrivals.at(-1)! - answer.arrivals[0]!).toBeGreaterThanOrEqual(400);
  });

  it("serves POST on the hook: the body reaches the plugin, one chunk with status, headers and body comes back", async () => {
    const answer = await call("POST", `/e/${hookId}/some/path`, JSON.stringify({ hello: "world" }), { "Content-Type": "application/json" });
    expect(answer.status).toBe(201);
    expect(answer.headers["x-fixture"]).toBe("post");
    const echo = JSON.parse(answer.body) as { method: string; body: string; headers: Record<string, string> };
    expect(echo.method).toBe("POST");
    expect(echo.body).toBe('{"hello":"world"}');
    expect(echo.headers["Content-Length"]).toBe("17");
    expect(echo.headers["Content-Type"]).toBe("application/json");
  });

  it("also answers through InvokeService.InvokeEndpoint with status and headers first, then the body", async () => {
    const raw = Buffer.from("GET /some/path?via=rpc HTTP/1.1\r\nHost: rpc.example\r\n\r\n");
    const parts = [];
    for await (const part of invokeClient.invokeEndpoint({ tenantId: TENANT, pluginId: PLUGIN_ID, endpointId, rawHttpRequest: raw })) parts.push(part);
    expect(parts[0]).toMatchObject({ status: 200, headers: { "X-Fixture": "get", "Content-Type": "application/json" } });
    const body = JSON.parse(Buffer.concat(parts.map((p) => p.body)).toString()) as { query: unknown; settings: unknown };
    expect(body.query).toEqual({ via: ["rpc"] });
    expect(body.settings).toEqual({ api_key: SECRET, greeting: "hello" });
  });

  it("answers 404 with the Dify envelope for an unknown hook and for an unknown route on a known one", async () => {
    const unknown = await call("GET", "/e/nosuchhook000000/some/path");
    expect(unknown.status).toBe(404);
    expect(unknown.body).toBe(envelope(-400, "PluginDaemonBadRequestError", "endpoint not found"));
    const noRoute = await call("GET", `/e/${hookId}/nowhere`);
    expect(noRoute.status).toBe(404);
    expect(noRoute.body).toBe("no route for GET /nowhere");
  });

  it("refuses a request body over the limit with 413, and cuts a response over the limit saying so", async () => {
    const tooBig = await call("POST", `/e/${hookId}/some/path`, "x".repeat(64 * 1024 + 1));
    expect(tooBig.status).toBe(413);
    expect(tooBig.body).toBe(envelope(-400, "PluginDaemonBadRequestError", "the request body exceeds the 65536-byte limit of endpoint requests"));
    const big = await call("GET", `/e/${hookId}/big?size=${3 * 1024 * 1024}`);
    expect(big.status).toBe(200);
    expect(big.body.endsWith("\nendpoint response exceeds the 1048576-byte limit; the rest was dropped")).toBe(true);
    expect(big.body.length).toBeLessThanOrEqual(1024 * 1024 + 100);
    const fine = await call("GET", `/e/${hookId}/big?size=1000`);
    expect(fine.body).toBe("x".repeat(1000));
  });

  it("answers 404 while disabled and serves again once enabled, the active counter following", async () => {
    await service.disableEndpoint({ tenantId: TENANT, endpointId });
    await service.disableEndpoint({ tenantId: TENANT, endpointId });
    expect(await installation()).toMatchObject({ endpointsSetups: 1, endpointsActive: 0 });
    const disabled = await call("GET", `/e/${hookId}/some/path`);
    expect(disabled.status).toBe(404);
    expect(disabled.body).toBe(envelope(-404, "PluginDaemonNotFoundError", "endpoint not found"));
    const listed = (await service.listEndpoints({ tenantId: TENANT, page: 1, pageSize: 10 })).endpoints[0];
    expect(listed?.enabled).toBe(false);
    await service.enableEndpoint({ tenantId: TENANT, endpointId });
    expect(await installation()).toMatchObject({ endpointsSetups: 1, endpointsActive: 1 });
    expect((await call("GET", `/e/${hookId}/some/path`)).status).toBe(200);
    const unknown = await failure(service.enableEndpoint({ tenantId: TENANT, endpointId: "00000000-0000-4000-8000-000000000000" }));
    expect(unknown.code).toBe(Code.NotFound);
    expect(unknown.rawMessage).toBe("endpoint not found");
  });

  it("updates name and settings; a secret sent back masked keeps its value, a new one replaces it", async () => {
    await service.updateEndpoint({ tenantId: TENANT, endpointId, userId: "user-2", name: "renamed", settings: { api_key: "su**************ue", greeting: "hi" } });
    let echo = JSON.parse((await call("GET", `/e/${hookId}/some/path`)).body) as { settings: unknown };
    expect(echo.settings).toEqual({ api_key: SECRET, greeting: "hi" });
    encryptCalls = [];
    await service.updateEndpoint({ tenantId: TENANT, endpointId, userId: "user-2", name: "renamed", settings: { api_key: "another-secret" } });
    expect(encryptCalls.map((c) => c["opt"])).toEqual(["decrypt", "encrypt", "clear"]);
    echo = JSON.parse((await call("GET", `/e/${hookId}/some/path`)).body) as { settings: unknown };
    expect(echo.settings).toEqual({ api_key: "another-secret" });
    expect((await service.listEndpoints({ tenantId: TENANT, page: 1, pageSize: 10 })).endpoints[0]?.name).toBe("renamed");
  });

  it("removes an endpoint: its hook answers 404, the counters drop, and removing it again says record not found", async () => {
    await service.removeEndpoint({ tenantId: TENANT, endpointId });
    expect((await call("GET", `/e/${hookId}/some/path`)).status).toBe(404);
    expect(await installation()).toMatchObject({ endpointsSetups: 0, endpointsActive: 0 });
    const again = await failure(service.removeEndpoint({ tenantId: TENANT, endpointId }));
    expect(again.code).toBe(Code.NotFound);
    expect(again.rawMessage).toContain("record not found");
    expect((await service.listEndpoints({ tenantId: TENANT, page: 1, pageSize: 10 })).endpoints).toEqual([]);
  });

  it("refuses to store secrets when Dify's inner API is not configured", async () => {
    const plain = createEndpoints({
      db,
      installations: createInstallationCache(db),
      encryption: createEndpointEncryption(null),
      dispatch: createDispatch({ db, dify: null, logger, runtimes: registry, installations: createInstallationCache(db) }),
      logger,
    });
    const client = routerClient(EndpointService, createEndpointService(plain));
    const err = await failure(client.setupEndpoint({ tenantId: TENANT, pluginUniqueIdentifier: uniqueIdentifier, userId: "u", name: "n", settings: { api_key: "k" } }));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toMatch(/set DIFY_INNER_API_URL and DIFY_INNER_API_KEY/);
    expect((await service.listEndpoints({ tenantId: TENANT, page: 1, pageSize: 10 })).endpoints).toEqual([]);
  });
});
