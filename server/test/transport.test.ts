import { randomUUID } from "node:crypto";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDaemonClients, type Protocol } from "../../clients/client.js";
import { PluginCategory } from "../../gen/dify/plugin/v1/common_pb.js";
import { InstallTaskStatus } from "../../gen/dify/plugin/v1/install_pb.js";
import { HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { REPO_ROOT, TEST_SERVER_KEY, startTestDaemon, type TestDaemon } from "./harness.js";
import { seedInstallTask, seedInstallation } from "./seed.js";

// One daemon, every protocol it serves on its one port, against rows seeded as the install code writes them.
let daemon: TestDaemon;
const tenantId = randomUUID();
let installation: { id: string; identifier: string };
let taskId: string;

beforeAll(async () => {
  daemon = await startTestDaemon();
  installation = await seedInstallation(daemon.daemon.database.db, tenantId, "search");
  await seedInstallation(daemon.daemon.database.db, randomUUID(), "other-tenant-plugin");
  taskId = await seedInstallTask(daemon.daemon.database.db, tenantId, installation.identifier);
});
afterAll(async () => {
  await daemon?.stop();
});

async function postJson(rpc: string, body: unknown, headers: Record<string, string> = { "x-api-key": TEST_SERVER_KEY }) {
  const res = await fetch(`${daemon.baseUrl}/${rpc}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("Connect JSON over HTTP/1.1 (what curl and Dify's api server speak)", () => {
  it("lists a tenant's installations with their declarations, and only that tenant's", async () => {
    const { status, body } = await postJson("dify.plugin.v1.PluginService/ListInstallations", { tenantId, page: 1, pageSize: 10 });
    expect(status).toBe(200);
    expect(body.total).toBe("1");
    const [first] = body.installations as Record<string, any>[];
    expect(first).toMatchObject({
      id: installation.id,
      tenantId,
      pluginId: "langgenius/search",
      pluginUniqueIdentifier: installation.identifier,
      version: "0.0.1",
      runtimeType: "RUNTIME_TYPE_LOCAL",
      source: "marketplace",
      meta: { repo: "langgenius/search" },
      name: "search",
    });
    expect(first!.declaration).toMatchObject({
      label: { en_US: "search label", zh_Hans: "search 标签" },
      category: "PLUGIN_CATEGORY_TOOL",
      tags: ["search", "utilities"],
      meta: { runner: { language: "python", version: "3.12", entrypoint: "main" }, arch: ["amd64", "arm64"] },
      resource: { memory: "268435456", permission: { storage: { enabled: true, size: "1048576" } } },
      createdAt: "2025-01-02T03:04:05Z",
    });
  });

  it("filters by category, tag and query", async () => {
    const call = (filter: object) =>
      // proto3 JSON leaves a zero int64 out, so a missing total is 0.
      postJson("dify.plugin.v1.PluginService/ListInstallations", { tenantId, ...filter }).then((r) => r.body.total ?? "0");
    expect(await call({ category: "PLUGIN_CATEGORY_TOOL" })).toBe("1");
    expect(await call({ category: "PLUGIN_CATEGORY_MODEL" })).toBe("0");
    expect(await call({ tags: ["utilities", "nope"] })).toBe("1");
    expect(await call({ tags: ["nope"] })).toBe("0");
    expect(await call({ query: "SEARCH LAB" })).toBe("1");
    expect(await call({ query: "标签", language: "zh_Hans" })).toBe("1");
    expect(await call({ query: "50%_off" })).toBe("0");
  });

  it("gets an install task with its per-plugin progress, and says not_found for another tenant", async () => {
    const own = await postJson("dify.plugin.v1.PluginService/GetInstallTask", { tenantId, taskId });
    expect(own.status).toBe(200);
    expect(own.body.task).toMatchObject({
      id: taskId,
      status: "INSTALL_TASK_STATUS_RUNNING",
      totalPlugins: 1,
      plugins: [{ pluginId: "langgenius/search", message: "installing dependencies", labels: { en_US: "Search" } }],
    });
    const other = await postJson("dify.plugin.v1.PluginService/GetInstallTask", { tenantId: randomUUID(), taskId });
    expect(other.status).toBe(404);
    expect(other.body).toMatchObject({ code: "not_found" });
  });

  it("rejects a malformed id or page size with invalid_argument and a message saying what to send", async () => {
    const badId = await postJson("dify.plugin.v1.PluginService/GetInstallTask", { tenantId, taskId: "not-a-uuid" });
    expect(badId.status).toBe(400);
    expect(badId.body).toEqual({ code: "invalid_argument", message: 'task_id "not-a-uuid" is not a UUID' });
    const badPage = await postJson("dify.plugin.v1.PluginService/ListInstallations", { tenantId, pageSize: 1000 });
    expect(badPage.body.code).toBe("invalid_argument");
    expect(badPage.body.message).toContain("1 to 256");
    const noTenant = await postJson("dify.plugin.v1.PluginService/ListInstallTasks", {});
    expect(noTenant.body).toEqual({ code: "invalid_argument", message: "tenant_id is required" });
  });

  it("ends a server stream with the error when the request is refused (the repackager's stream, no source)", async () => {
    // A server stream over Connect JSON: one enveloped request; the error arrives in the end-of-stream message.
    const json = Buffer.from(JSON.stringify({ tenantId }));
    const envelope = Buffer.concat([Buffer.from([0, 0, 0, 0, json.length]), json]);
    const res = await fetch(`${daemon.baseUrl}/dify.plugin.v1.RepackageService/Repackage`, {
      method: "POST",
      headers: { "content-type": "application/connect+json", "x-api-key": TEST_SERVER_KEY },
      body: envelope,
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes[0]).toBe(0b10); // the end-stream flag
    const end = JSON.parse(bytes.subarray(5).toString()) as { error: { code: string; message: string } };
    expect(end.error.code).toBe("invalid_argument");
    expect(end.error.message).toContain("say what to repackage");
  });

  it("refuses a missing or wrong x-api-key with unauthenticated", async () => {
    const missing = await postJson("dify.plugin.v1.PluginService/ListInstallTasks", { tenantId }, {});
    expect(missing.status).toBe(401);
    expect(missing.body.code).toBe("unauthenticated");
    const wrong = await postJson("dify.plugin.v1.PluginService/ListInstallTasks", { tenantId }, { "x-api-key": "nope" });
    expect(wrong.status).toBe(401);
    expect(wrong.body.message).toContain("x-api-key");
  });

  it("serves health without a key", async () => {
    const { status, body } = await postJson("grpc.health.v1.Health/Check", {}, {});
    expect(status).toBe(200);
    expect(body).toEqual({ status: "SERVING" });
  });

  it("answers an unknown route with the Dify dialect's JSON 404 (the Go daemon's shape, for every path)", async () => {
    const res = await fetch(`${daemon.baseUrl}/no/such/route`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ code: "not_found", message: "route not found" });
  });
});

describe.each<[Protocol, "1.1" | "2"]>([
  ["connect", "2"],
  ["connect-binary", "1.1"],
  ["connect-binary", "2"],
  ["grpc-web", "1.1"],
  ["grpc-web", "2"],
  ["grpc", "2"],
])("typed client over %s on HTTP/%s", (protocol, httpVersion) => {
  it("reads installations and tasks, and maps errors to codes", async () => {
    const clients = createDaemonClients({ baseUrl: daemon.baseUrl, apiKey: TEST_SERVER_KEY, protocol, httpVersion });
    const list = await clients.plugins.listInstallations({ tenantId, category: PluginCategory.TOOL });
    expect(list.total).toBe(1n);
    expect(list.installations[0]?.declaration?.category).toBe(PluginCategory.TOOL);
    const got = await clients.plugins.getInstallation({ tenantId, selector: { case: "pluginId", value: "langgenius/search" } });
    expect(got.installation?.id).toBe(installation.id);
    const tasks = await clients.plugins.listInstallTasks({ tenantId });
    expect(tasks.tasks.map((t) => [t.id, t.status])).toEqual([[taskId, InstallTaskStatus.RUNNING]]);

    const missing = await clients.plugins.getInstallTask({ tenantId, taskId: randomUUID() }).catch((e: unknown) => e);
    expect(ConnectError.from(missing).code).toBe(Code.NotFound);
    const health = await clients.health.check({});
    expect(health.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });
});

describe("a plain @grpc/grpc-js client built from proto/ (what other gRPC stacks see)", () => {
  function grpcClient(service: "PluginService" | "RepackageService" = "PluginService"): { client: grpc.Client & Record<string, Function>; close(): void } {
    const file = service === "PluginService" ? "plugin_service" : "repackage_service";
    const definition = protoLoader.loadSync(`dify/plugin/v1/${file}.proto`, {
      includeDirs: [path.join(REPO_ROOT, "proto")],
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
    });
    const loaded = grpc.loadPackageDefinition(definition) as any;
    const client = new loaded.dify.plugin.v1[service](
      daemon.baseUrl.replace("http://", ""),
      grpc.credentials.createInsecure(),
    );
    return { client, close: () => client.close() };
  }

  function call<T>(client: Record<string, Function>, method: string, req: object, key?: string): Promise<T> {
    const metadata = new grpc.Metadata();
    if (key) metadata.set("x-api-key", key);
    return new Promise((resolve, reject) => client[method]!(req, metadata, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))));
  }

  it("lists installations with snake_case fields and enum names", async () => {
    const { client, close } = grpcClient();
    try {
      const res = await call<any>(client, "ListInstallations", { tenant_id: tenantId }, TEST_SERVER_KEY);
      expect(res.total).toBe("1");
      expect(res.installations[0].plugin_unique_identifier).toBe(installation.identifier);
      expect(res.installations[0].runtime_type).toBe("RUNTIME_TYPE_LOCAL");
      expect(res.installations[0].declaration.label.en_us).toBe("search label");
    } finally {
      close();
    }
  });

  it("gets UNAUTHENTICATED without a key and a stream's refusal as INVALID_ARGUMENT with its message", async () => {
    const { client, close } = grpcClient();
    try {
      const noKey = await call(client, "ListInstallTasks", { tenant_id: tenantId }).catch((e: grpc.ServiceError) => e);
      expect((noKey as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
      const metadata = new grpc.Metadata();
      metadata.set("x-api-key", TEST_SERVER_KEY);
      const repackager = grpcClient("RepackageService");
      try {
        const refused = await new Promise<grpc.ServiceError>((resolve) => {
          const stream = repackager.client["Repackage"]!({ tenant_id: tenantId }, metadata) as grpc.ClientReadableStream<unknown>;
          stream.on("data", () => undefined);
          stream.on("error", resolve);
        });
        expect(refused.code).toBe(grpc.status.INVALID_ARGUMENT);
        expect(refused.details).toContain("say what to repackage");
      } finally {
        repackager.close();
      }
    } finally {
      close();
    }
  });
});
