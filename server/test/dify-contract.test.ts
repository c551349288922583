import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DifyClientError, DifyPluginClient } from "./dify-client.js";
import { buildFixturePackage } from "./fixture-packages.js";
import { TEST_SERVER_KEY, startTestDaemon, type TestDaemon } from "./harness.js";

// The Dify dialect against a running daemon, each request sent as Dify's plugin client sends it (spec/dify-http-api.md
// §7.2) and each answer read as Dify reads it: the fields Dify uses, the error types it maps to exceptions, the SSE
// lines of dispatch streams. The fixture plugins run as real Python processes.

const TENANT = "6a0c2f5e-1d3b-4c8a-9e7f-2b4d6f8a0c1e";
const OTHER_TENANT = "7b1d3e6f-2e4c-4d9b-8f0a-3c5e7a9b1d2f";
const ECHO = "daemon-tests/echo-tool";
const MODELS = "daemon-tests/fixture-models";
const AGENT = "daemon-tests/fixture-agent";
const FIXTURES = { echo: "echo-tool", models: "model-provider", agent: "agent-strategy" } as const;
const M = `plugin/${TENANT}/management`;
const D = `plugin/${TENANT}/dispatch`;

let daemon: TestDaemon;
let dify: DifyPluginClient;
const uploaded: Record<keyof typeof FIXTURES, { identifier: string; manifest: any }> = {} as never;
const taskIds: string[] = [];

async function upload(bytes: Buffer, tenant = TENANT, verify = false) {
  return dify.request("POST", `plugin/${tenant}/management/install/upload/package`, {
    form: { data: { verify_signature: verify ? "true" : "false" }, files: { dify_pkg: ["dify_pkg", bytes, "application/octet-stream"] } },
  });
}

/** installAndWait: install/identifiers, then poll install/tasks/{id} as Dify's UI does, until success or failed. */
async function installAndWait(identifiers: string[], source = "package", metas: object[] = identifiers.map(() => ({}))) {
  const started = await dify.request("POST", `${M}/install/identifiers`, { json: { plugin_unique_identifiers: identifiers, source, metas } });
  expect(Object.keys(started)).toEqual(["all_installed", "task_id"]);
  if (started.all_installed) return { started, task: undefined };
  taskIds.push(started.task_id);
  const deadline = Date.now() + 150_000;
  for (;;) {
    const task = await dify.request("GET", `${M}/install/tasks/${started.task_id}`);
    if (task.status === "success" || task.status === "failed") return { started, task };
    if (Date.now() > deadline) throw new Error(`install task still ${task.status}: ${JSON.stringify(task.plugins)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** invokeBody: the dispatch body as Dify sends it (§6.1). */
const body = (data: object, extra: object = {}) => ({ user_id: "u-1", conversation_id: null, app_id: "a-1", message_id: null, ...extra, data });

beforeAll(async () => {
  process.env.PIP_CONFIG_FILE = "/dev/null";
  daemon = await startTestDaemon({ FORCE_VERIFYING_SIGNATURE: "false" });
  dify = new DifyPluginClient(daemon.baseUrl, TEST_SERVER_KEY);
}, 60_000);

afterAll(async () => {
  await daemon?.stop();
});

describe("management, as Dify's PluginInstaller calls it", () => {
  it("upload/package takes the multipart dify_pkg and answers unique_identifier, manifest and verification", async () => {
    for (const [key, fixture] of Object.entries(FIXTURES) as [keyof typeof FIXTURES, string][]) {
      const data = await upload(await buildFixturePackage(fixture));
      // A Go map: keys sorted.
      expect(Object.keys(data)).toEqual(["manifest", "unique_identifier", "verification"]);
      expect(data.unique_identifier).toMatch(/^daemon-tests\/[a-z-]+:0\.1\.0@[a-f0-9]{64}$/);
      expect(data.verification).toBeNull();
      uploaded[key] = { identifier: data.unique_identifier, manifest: data.manifest };
    }
    const echo = uploaded.echo.manifest;
    expect(echo).toMatchObject({
      version: "0.1.0",
      type: "plugin",
      author: "daemon-tests",
      name: "echo-tool",
      label: { en_US: "Echo tool", zh_Hans: "回声工具" },
      description: { en_US: "A tool provider used by the daemon's tests" },
      created_at: "2026-11-01T00:00:00Z",
      resource: { memory: 268435456, permission: { tool: { enabled: true }, storage: { enabled: true, size: 1048576 } } },
      plugins: { tools: ["provider/echo.yaml"] },
      meta: { version: "0.0.1", arch: ["amd64", "arm64"], runner: { language: "python", version: "3.11", entrypoint: "main" } },
      tags: ["utilities"],
      verified: false,
    });
    // Icons are asset ids (sha256 + extension), served by the asset route.
    expect(echo.icon).toMatch(/^[a-f0-9]{64}\.svg$/);
    expect(echo.tool.identity.name).toBe("echo");
    expect(echo).not.toHaveProperty("category");
    expect(uploaded.models.manifest.model.provider).toBe("fixture");
    expect(uploaded.agent.manifest.agent_strategy.identity.name).toBe("fixture-agent");
  });

  it("upload/package answers a missing file and a broken package with a -400 envelope and HTTP 200", async () => {
    const noFile = await dify.send("POST", `${M}/install/upload/package`, { form: { data: { verify_signature: "false" }, files: {} } });
    expect(noFile.status).toBe(200);
    expect(JSON.parse(noFile.body.toString())).toMatchObject({ code: -400, data: null });
    const broken = await upload(Buffer.from("not a zip")).catch((e: unknown) => e);
    expect(broken).toBeInstanceOf(DifyClientError);
    expect((broken as DifyClientError).kind).toBe("PluginDaemonBadRequestError");
  });

  it("fetch/manifest answers the stored manifest; an unknown identifier is -400 'plugin not found', HTTP 200", async () => {
    const manifest = await dify.request("GET", `${M}/fetch/manifest`, { params: { plugin_unique_identifier: uploaded.echo.identifier } });
    expect(manifest).toEqual(uploaded.echo.manifest);
    const unknown = `daemon-tests/nope:0.0.1@${"0".repeat(64)}`;
    const res = await dify.send("GET", `${M}/fetch/manifest`, { params: { plugin_unique_identifier: unknown } });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(
      '{"code":-400,"message":"{\\"message\\":\\"plugin not found\\",\\"error_type\\":\\"PluginDaemonBadRequestError\\",\\"args\\":null}","data":null}',
    );
  });

  it("decode/from_identifier reads a GET with a JSON body (the Dify snapshot) and the query (newer Dify)", async () => {
    const fromBody = await dify.request("GET", `${M}/decode/from_identifier`, { json: { plugin_unique_identifier: uploaded.models.identifier } });
    expect(fromBody).toEqual({ manifest: uploaded.models.manifest, unique_identifier: uploaded.models.identifier, verification: null });
    const fromQuery = await dify.request("GET", `${M}/decode/from_identifier`, { params: { plugin_unique_identifier: uploaded.models.identifier } });
    expect(fromQuery).toEqual(fromBody);
    // A malformed identifier fails binding: HTTP 400, which Dify raises before reading the envelope.
    const bad = await dify.send("GET", `${M}/decode/from_identifier`, { params: { plugin_unique_identifier: "nope" } });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body.toString())).toMatchObject({ code: -400, data: null });
  });

  it("fetch/identifier is false until a tenant installs the package", async () => {
    expect(await dify.request("GET", `${M}/fetch/identifier`, { params: { plugin_unique_identifier: uploaded.echo.identifier } })).toBe(false);
  });

  it("install/identifiers refuses metas that do not match the identifiers, with -400 and HTTP 200", async () => {
    const res = await dify.send("POST", `${M}/install/identifiers`, {
      json: { plugin_unique_identifiers: [uploaded.echo.identifier], source: "package", metas: [] },
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(JSON.parse(res.body.toString()).message)).toEqual({
      message: "the number of metas must be equal to the number of plugin unique identifiers",
      error_type: "PluginDaemonBadRequestError",
      args: null,
    });
  });

  it("install/identifiers starts a task that install/tasks/{id} reports until every plugin succeeded", async () => {
    const { started, task } = await installAndWait([uploaded.echo.identifier, uploaded.models.identifier, uploaded.agent.identifier]);
    expect(started.all_installed).toBe(false);
    expect(started.task_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(task.status, JSON.stringify(task.plugins)).toBe("success");
    expect(task).toMatchObject({ id: started.task_id, tenant_id: TENANT, total_plugins: 3, completed_plugins: 3 });
    expect(Object.keys(task)).toEqual(["id", "created_at", "updated_at", "status", "tenant_id", "total_plugins", "completed_plugins", "plugins"]);
    expect(task.plugins[0]).toMatchObject({
      plugin_unique_identifier: uploaded.echo.identifier,
      plugin_id: ECHO,
      status: "success",
      icon: uploaded.echo.manifest.icon,
      labels: { en_US: "Echo tool", zh_Hans: "回声工具" },
      source: "package",
    });
    expect(typeof task.plugins[0].message).toBe("string");
    // Installing what the tenant has is all_installed, no task.
    const again = await dify.request("POST", `${M}/install/identifiers`, { json: { plugin_unique_identifiers: [uploaded.echo.identifier], source: "package", metas: [{}] } });
    expect(again).toEqual({ all_installed: true, task_id: "" });
    expect(await dify.request("GET", `${M}/fetch/identifier`, { params: { plugin_unique_identifier: uploaded.echo.identifier } })).toBe(true);
  }, 180_000);

  it("install/tasks lists the tenant's tasks; an unknown task is -500 'record not found'", async () => {
    const tasks = await dify.request("GET", `${M}/install/tasks`, { params: { page: 1, page_size: 256 } });
    expect(tasks.map((t: any) => t.id)).toContain(taskIds[0]);
    const res = await dify.send("GET", `${M}/install/tasks/00000000-0000-4000-8000-000000000000`);
    expect(res.status).toBe(200);
    expect(JSON.parse(JSON.parse(res.body.toString()).message)).toEqual({
      message: "record not found",
      error_type: "PluginDaemonInternalServerError",
      args: null,
    });
  });

  it("list answers the tenant's installations as Dify's PluginEntity, with the total", async () => {
    const data = await dify.request("GET", `${M}/list`, { params: { page: 1, page_size: 256, response_type: "paged" } });
    expect(data.total).toBe(3);
    const echo = data.list.find((p: any) => p.plugin_id === ECHO);
    expect(echo).toMatchObject({
      name: "echo-tool",
      tenant_id: TENANT,
      plugin_unique_identifier: uploaded.echo.identifier,
      endpoints_setups: 0,
      endpoints_active: 0,
      runtime_type: "local",
      source: "package",
      meta: {},
      version: "0.1.0",
      checksum: uploaded.echo.identifier.split("@")[1],
      declaration: uploaded.echo.manifest,
    });
    expect(echo.installation_id).toBe(echo.id);
    for (const field of ["created_at", "updated_at"]) expect(echo[field]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    // Other tenants see nothing of it.
    expect(await dify.request("GET", `plugin/${OTHER_TENANT}/management/list`, { params: { page: 1, page_size: 256, response_type: "paged" } })).toEqual({
      list: [],
      total: 0,
    });
  });

  it("installation/fetch/batch answers the installations of the plugin ids asked for", async () => {
    const rows = await dify.request("POST", `${M}/installation/fetch/batch`, { json: { plugin_ids: [MODELS, "daemon-tests/absent"] } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      tenant_id: TENANT,
      plugin_id: MODELS,
      plugin_unique_identifier: uploaded.models.identifier,
      runtime_type: "local",
      source: "package",
      version: "0.1.0",
      declaration: uploaded.models.manifest,
    });
    expect(await dify.request("POST", `${M}/installation/fetch/batch`, { json: { plugin_ids: [] } })).toEqual([]);
  });

  it("models, tools, tool, agent_strategies and agent_strategy answer the provider rows Dify builds its providers from", async () => {
    const models = await dify.request("GET", `${M}/models`, { params: { page: 1, page_size: 256 } });
    expect(models).toHaveLength(1);
    expect(models[0]).toMatchObject({ provider: "fixture", tenant_id: TENANT, plugin_id: MODELS, plugin_unique_identifier: uploaded.models.identifier });
    expect(models[0].declaration).toEqual(uploaded.models.manifest.model);
    expect(models[0].id).toBeTruthy();

    const tools = await dify.request("GET", `${M}/tools`, { params: { page: 1, page_size: 256 } });
    expect(tools.map((t: any) => [t.plugin_id, t.provider])).toEqual([[ECHO, "echo"]]);
    expect(tools[0].declaration.identity.name).toBe("echo");
    expect(tools[0].declaration.tools.map((t: any) => t.identity.name)).toContain("shout");
    const tool = await dify.request("GET", `${M}/tool`, { params: { provider: "echo", plugin_id: ECHO } });
    expect(tool).toEqual(tools[0]);

    const agents = await dify.request("GET", `${M}/agent_strategies`, { params: { page: 1, page_size: 256 } });
    expect(agents).toHaveLength(1);
    expect(agents[0]).toMatchObject({ provider: "fixture-agent", plugin_id: AGENT, meta: { version: "0.0.1", runner: { language: "python" } } });
    expect(agents[0].declaration.identity.name).toBe("fixture-agent");
    expect(await dify.request("GET", `${M}/agent_strategy`, { params: { provider: "fixture-agent", plugin_id: AGENT } })).toEqual(agents[0]);
  });

  it("tools/check_existence and installation/missing answer in request order", async () => {
    const exists = await dify.request("POST", `${M}/tools/check_existence`, {
      json: { provider_ids: [{ plugin_id: ECHO, provider_name: "echo" }, { plugin_id: ECHO, provider_name: "nope" }] },
    });
    expect(exists).toEqual([true, false]);
    const other = `${ECHO}:9.9.9@${"a".repeat(64)}`;
    const missing = await dify.request("POST", `${M}/installation/missing`, { json: { plugin_unique_identifiers: [uploaded.echo.identifier, other] } });
    expect(missing).toEqual([{ plugin_unique_identifier: other, current_identifier: uploaded.echo.identifier }]);
  });

  it("the newer list routes: {category}/list, installation/ids and models/bindings", async () => {
    const tools = await dify.request("GET", `${M}/tool/list`, { params: { page: 1, page_size: 10 } });
    expect(Object.keys(tools)).toEqual(["list", "has_more"]);
    expect(tools.list.map((p: any) => p.plugin_id)).toEqual([ECHO]);
    expect(tools.has_more).toBe(false);
    const agents = await dify.request("GET", `${M}/agent-strategy/list`, { params: { page: 1, page_size: 10, query: "fixture", language: "en_US" } });
    expect(agents.list.map((p: any) => p.plugin_id)).toEqual([AGENT]);
    expect(await dify.request("GET", `${M}/installation/ids`, { params: { category: "model" } })).toEqual({ plugin_ids: [MODELS] });
    const bindings = await dify.request("GET", `${M}/models/bindings`);
    expect(bindings).toEqual([
      {
        provider: "fixture",
        installation_id: expect.any(String),
        plugin_id: MODELS,
        plugin_unique_identifier: uploaded.models.identifier,
        runtime_type: "local",
        source: "package",
        version: "0.1.0",
        verified: false,
      },
    ]);
  });

  it("fetch/readme answers -404 when the package has no README, as Dify expects for 'no readme'", async () => {
    const res = await dify.send("GET", `${M}/fetch/readme`, { params: { tenant_id: TENANT, plugin_unique_identifier: uploaded.echo.identifier, language: "en_US" } });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toMatchObject({ code: -404, data: null });
  });

  it("asset/{id} serves the icon bytes with status 200, and a missing asset as 200 with an empty body", async () => {
    const res = await dify.send("GET", `plugin/${TENANT}/asset/${uploaded.echo.manifest.icon}`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/octet-stream");
    expect(res.body.toString()).toContain("<svg");
    expect(createHash("sha256").update(res.body).digest("hex")).toHaveLength(64);
    const missing = await dify.send("GET", `plugin/${TENANT}/asset/${"0".repeat(64)}.svg`);
    expect(missing.status).toBe(200);
    expect(missing.body.length).toBe(0);
  });
});

describe("dispatch, read line by line as Dify reads SSE", () => {
  it("tool/invoke streams data: lines of {code, message, data} with Dify's tool chunks", async () => {
    const res = await dify.send("POST", `${D}/tool/invoke`, {
      json: body({ provider: "echo", tool: "echo", credentials: {}, credential_type: "api-key", tool_parameters: { text: "hello dify" } }),
      headers: { "X-Plugin-ID": ECHO },
    });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream");
    expect(res.body.toString()).toBe('data: {"code":0,"message":"success","data":{"type":"text","message":{"text":"hello dify"},"meta":null}}\n\n');
  });

  it("tool/invoke passes every message kind, blob chunks included, for Dify to merge", async () => {
    const chunks = await dify.all(`${D}/tool/invoke`, body({ provider: "echo", tool: "kinds", credentials: {}, tool_parameters: {} }), ECHO);
    expect(chunks.map((c) => c.type)).toEqual(["text", "json", "link", "image", "blob_chunk", "blob_chunk", "blob_chunk", "variable", "log", "retriever_resources"]);
    expect(chunks[1].message).toEqual({ json_object: { kind: "json", nested: { ok: true }, numbers: [1, 2, 3] } });
    expect(chunks[2].message).toEqual({ text: "https://example.com/fixture" });
    const pieces = chunks.filter((c) => c.type === "blob_chunk");
    expect(pieces.map((c) => [c.message.sequence, c.message.end, c.message.total_length])).toEqual([
      [0, false, 10000],
      [1, false, 10000],
      [2, true, 10000],
    ]);
    expect(pieces[0].meta).toEqual({ mime_type: "image/png" });
    const blob = Buffer.concat(pieces.map((c) => Buffer.from(c.message.blob, "base64")));
    expect(blob.length).toBe(10000);
    expect(chunks[7].message).toEqual({ stream: false, variable_name: "fixture_variable", variable_value: 42 });
    expect(chunks[8].message).toMatchObject({ id: "fixture-log-1", label: "fixture step", status: "success", data: { step: 1 } });
    expect(chunks[9].message).toMatchObject({ context: "fixture context", retriever_resources: [{ dataset_id: "ds-1", position: 1 }] });
  });

  it("a plugin error arrives as the in-stream PluginInvokeError envelope, the plugin's error JSON inside", async () => {
    const lines: string[] = [];
    for await (const line of dify.lines("POST", `${D}/tool/invoke`, {
      json: body({ provider: "echo", tool: "fail", credentials: {}, tool_parameters: {} }),
      headers: { "X-Plugin-ID": ECHO },
    })) {
      lines.push(line);
    }
    expect(lines).toHaveLength(1);
    const envelope = JSON.parse(lines[0]!);
    expect(envelope).toMatchObject({ code: -500, data: null });
    const outer = JSON.parse(envelope.message);
    expect(Object.keys(outer)).toEqual(["message", "error_type", "args"]);
    expect(outer).toMatchObject({ error_type: "PluginInvokeError", args: null });
    const inner = JSON.parse(outer.message);
    expect(Object.keys(inner)).toEqual(["args", "error_type", "message"]);
    expect(inner).toMatchObject({ error_type: "ValueError", message: "the fixture was asked to fail" });
    // And Dify raises it as a PluginInvokeError carrying the plugin's message.
    const raised = await dify.all(`${D}/tool/invoke`, body({ provider: "echo", tool: "fail", credentials: {}, tool_parameters: {} }), ECHO).catch((e: unknown) => e);
    expect(raised).toMatchObject({ kind: "PluginInvokeError", invokeErrorType: "ValueError" });
  });

  it("tool/validate_credentials and tool/get_runtime_parameters answer one chunk Dify reads the first of", async () => {
    const valid = await dify.all(`${D}/tool/validate_credentials`, body({ provider: "echo", credentials: { prefix: "ok" } }), ECHO);
    expect(valid).toEqual([{ result: true }]);
    const invalid = await dify.all(`${D}/tool/validate_credentials`, body({ provider: "echo", credentials: { prefix: "bad" } }), ECHO);
    expect(invalid).toEqual([{ result: false }]);
    const params = await dify.all(`${D}/tool/get_runtime_parameters`, body({ provider: "echo", tool: "echo", credentials: {} }), ECHO);
    expect(params).toEqual([{ parameters: [] }]);
  });

  const llmData = (credentials: object) => ({
    provider: "fixture",
    model_type: "llm",
    model: "fixture-llm",
    credentials,
    prompt_messages: [
      { role: "system", content: "be brief", name: null },
      { role: "user", content: "say hello world", name: null },
    ],
    model_parameters: { temperature: 0.7 },
    tools: null,
    stop: null,
    stream: true,
  });

  it("llm/invoke streams LLMResultChunks with prompt_messages: [] and prices as strings", async () => {
    const res = await dify.send("POST", `${D}/llm/invoke`, { json: { user_id: "u-1", data: llmData({ api_key: "good" }) }, headers: { "X-Plugin-ID": MODELS } });
    const lines = res.body.toString().split("\n\n").filter(Boolean);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(
      'data: {"code":0,"message":"success","data":{"model":"fixture-llm","system_fingerprint":"","delta":{"index":0,"message":{"role":"assistant","content":"Hel","name":"","tool_calls":[],"tool_call_id":""},"usage":null,"finish_reason":null},"prompt_messages":[]}}',
    );
    const chunks = lines.map((l) => JSON.parse(l.slice("data: ".length)).data);
    expect(chunks.map((c) => c.delta.message.content).join("")).toBe("Hello world");
    const last = chunks[2];
    expect(last.delta.finish_reason).toBe("stop");
    expect(last.prompt_messages).toEqual([]);
    expect(last.delta.usage).toMatchObject({
      prompt_tokens: 5,
      completion_tokens: 3,
      total_tokens: 8,
      prompt_unit_price: "0.5",
      prompt_price_unit: "0.001",
      prompt_price: "0.0025",
      completion_unit_price: "1.5",
      completion_price: "0.0045",
      total_price: "0.007",
      currency: "USD",
    });
    expect(typeof last.delta.usage.latency).toBe("number");
  });

  it("llm/invoke with refused credentials raises the plugin's InvokeAuthorizationError in the stream", async () => {
    const raised = await dify.all(`${D}/llm/invoke`, { user_id: "u-1", data: llmData({ api_key: "bad" }) }, MODELS).catch((e: unknown) => e);
    expect(raised).toMatchObject({ kind: "PluginInvokeError", invokeErrorType: "InvokeAuthorizationError" });
  });

  it("llm/num_tokens, text_embedding/invoke and rerank/invoke answer the chunk Dify reads", async () => {
    const tokens = await dify.all(
      `${D}/llm/num_tokens`,
      {
        user_id: "u-1",
        data: { provider: "fixture", model_type: "llm", model: "fixture-llm", credentials: {}, prompt_messages: llmData({}).prompt_messages, tools: [] },
      },
      MODELS,
    );
    expect(tokens).toEqual([{ num_tokens: 5 }]);
    const [embedding] = await dify.all(
      `${D}/text_embedding/invoke`,
      { user_id: "u-1", data: { provider: "fixture", model_type: "text-embedding", model: "fixture-embed", credentials: { api_key: "good" }, texts: ["hello world", "x"], input_type: "document" } },
      MODELS,
    );
    expect(embedding).toMatchObject({
      model: "fixture-embed",
      embeddings: [
        [1.1, 0.2, 0.5, -0.5],
        [0.1, 0.1, 0.5, -0.5],
      ],
      usage: { tokens: 3, total_tokens: 3, unit_price: "0.1", price_unit: "0.001", total_price: "0.0003", currency: "USD" },
    });
    const [rerank] = await dify.all(
      `${D}/rerank/invoke`,
      {
        user_id: "u-1",
        data: { provider: "fixture", model_type: "rerank", model: "fixture-rerank", credentials: {}, query: "red fox", docs: ["a red fox", "blue", "red"], score_threshold: 0.1, top_n: 5 },
      },
      MODELS,
    );
    expect(rerank).toEqual({
      model: "fixture-rerank",
      docs: [
        { index: 0, text: "a red fox", score: 1 },
        { index: 2, text: "red", score: 0.5 },
      ],
    });
  });

  it("model credentials and schema: result and credentials Dify merges, schema or null, CredentialsValidateFailedError", async () => {
    const [provider] = await dify.all(`${D}/model/validate_provider_credentials`, { user_id: "u-1", data: { provider: "fixture", credentials: { api_key: "good" } } }, MODELS);
    expect(provider).toEqual({ result: true, credentials: { api_key: "good" } });
    const refused = await dify
      .all(`${D}/model/validate_provider_credentials`, { user_id: "u-1", data: { provider: "fixture", credentials: { api_key: "bad" } } }, MODELS)
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ kind: "PluginInvokeError", invokeErrorType: "CredentialsValidateFailedError" });
    const [model] = await dify.all(
      `${D}/model/validate_model_credentials`,
      { user_id: "u-1", data: { provider: "fixture", model_type: "llm", model: "fixture-llm", credentials: { api_key: "good" } } },
      MODELS,
    );
    expect(model.result).toBe(true);
    const [schema] = await dify.all(`${D}/model/schema`, { user_id: "u-1", data: { provider: "fixture", model_type: "llm", model: "fixture-llm", credentials: {} } }, MODELS);
    expect(schema.model_schema).toMatchObject({ model: "fixture-llm", model_type: "llm", model_properties: { mode: "chat", context_size: 4096 } });
    const [none] = await dify.all(`${D}/model/schema`, { user_id: "u-1", data: { provider: "fixture", model_type: "llm", model: "other", credentials: {} } }, MODELS);
    expect(none).toEqual({ model_schema: null });
  });

  it("agent_strategy/invoke streams the agent's messages with the daemon's merged blob", async () => {
    const chunks = await dify.all(
      `${D}/agent_strategy/invoke`,
      body(
        { agent_strategy_provider: "fixture-agent", agent_strategy: "echo-agent", agent_strategy_params: { query: "ping" } },
        { context: { credentials: { tool_credentials: {} } } },
      ),
      AGENT,
    );
    expect(chunks.map((c) => c.type)).toEqual(["text", "blob", "log"]);
    expect(chunks[0].message).toEqual({ text: "echo-agent heard: ping" });
    expect(Buffer.from(chunks[1].message.blob, "base64").toString()).toBe("fixture agent blob\n".repeat(500));
    expect(chunks[1].meta).toEqual({ mime_type: "text/plain" });
    expect(chunks[2].message).toMatchObject({ id: "fixture-agent-log-1", status: "success", data: { query: "ping" } });
  });
});

describe("errors Dify maps to exceptions", () => {
  const UNAUTHORIZED = '{"code":-401,"message":"{\\"message\\":\\"unauthorized\\",\\"error_type\\":\\"PluginDaemonUnauthorizedError\\",\\"args\\":null}","data":null}';
  const PLUGIN_NOT_FOUND = '{"code":-404,"message":"{\\"message\\":\\"plugin not found\\",\\"error_type\\":\\"PluginNotFoundError\\",\\"args\\":null}","data":null}';

  it("a wrong or missing X-Api-Key is HTTP 401 with the unauthorized envelope, on every route under /plugin", async () => {
    const wrong = new DifyPluginClient(daemon.baseUrl, "not-the-key");
    for (const [method, path, call] of [
      ["GET", `${M}/list`, { params: { page: 1, page_size: 256 } }],
      ["POST", `${D}/tool/invoke`, { json: body({ provider: "echo", tool: "echo" }), headers: { "X-Plugin-ID": ECHO } }],
      ["GET", `plugin/${TENANT}/asset/x.svg`, {}],
    ] as const) {
      const res = await wrong.send(method, path, call);
      expect(res.status).toBe(401);
      expect(res.body.toString()).toBe(UNAUTHORIZED);
    }
    const missing = await fetch(`${daemon.baseUrl}/${M}/list?page=1&page_size=256`);
    expect(missing.status).toBe(401);
    expect(await missing.text()).toBe(UNAUTHORIZED);
    // Dify raises on the status before reading the envelope.
    await expect(wrong.request("GET", `${M}/list`, { params: { page: 1, page_size: 256 } })).rejects.toMatchObject({ kind: "PluginDaemonClientSideError", status: 401 });
  });

  it("an unknown plugin, or a plugin of another tenant, is HTTP 404 PluginNotFoundError on dispatch", async () => {
    for (const [tenant, plugin] of [
      [TENANT, "daemon-tests/unknown"],
      [OTHER_TENANT, ECHO],
    ]) {
      const res = await dify.send("POST", `plugin/${tenant}/dispatch/tool/invoke`, {
        json: body({ provider: "echo", tool: "echo", credentials: {}, tool_parameters: { text: "x" } }),
        headers: { "X-Plugin-ID": plugin! },
      });
      expect(res.status).toBe(404);
      expect(res.body.toString()).toBe(PLUGIN_NOT_FOUND);
    }
  });

  it("a tool provider of another tenant is PluginNotFoundError (HTTP 200) on management/tool", async () => {
    const raised = await dify.request("GET", `plugin/${OTHER_TENANT}/management/tool`, { params: { provider: "echo", plugin_id: ECHO } }).catch((e: unknown) => e);
    expect(raised).toMatchObject({ kind: "PluginNotFoundError", message: "PluginNotFoundError: plugin not found" });
  });

  it("a dispatch without X-Plugin-ID or without data is HTTP 400 PluginDaemonBadRequestError", async () => {
    const noPlugin = await dify.send("POST", `${D}/tool/invoke`, { json: body({ provider: "echo", tool: "echo" }) });
    expect(noPlugin.status).toBe(400);
    expect(noPlugin.body.toString()).toBe(
      '{"code":-400,"message":"{\\"message\\":\\"plugin_id is required\\",\\"error_type\\":\\"PluginDaemonBadRequestError\\",\\"args\\":null}","data":null}',
    );
    const noData = await dify.send("POST", `${D}/tool/invoke`, { json: { user_id: "u-1" }, headers: { "X-Plugin-ID": ECHO } });
    expect(noData.status).toBe(400);
    expect(JSON.parse(JSON.parse(noData.body.toString()).message).error_type).toBe("PluginDaemonBadRequestError");
    const noPage = await dify.send("GET", `${M}/list`);
    expect(noPage.status).toBe(400);
  });

  it("an unknown route is HTTP 404 with the string code, with or without a key", async () => {
    for (const path of [`plugin/${TENANT}/management/nope`, "no/such/route", `${D}/nope/invoke`]) {
      const res = await dify.send("GET", path);
      expect(res.status).toBe(404);
      expect(res.body.toString()).toBe('{"code":"not_found","message":"route not found"}');
    }
  });

  it("/health/check answers without a key", async () => {
    const res = await fetch(`${daemon.baseUrl}/health/check`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ok", pool_status: { free: 0, busy: 0, total: 0 }, platform: "local" });
  });
});

describe("upgrade and uninstall, as Dify drives them", () => {
  it("install/upgrade moves the tenant to the new version through a task; the same identifier twice is -400", async () => {
    const next = await upload(await buildFixturePackage("echo-tool", { version: "0.2.0" }));
    const same = await dify.send("POST", `${M}/install/upgrade`, {
      json: { original_plugin_unique_identifier: uploaded.echo.identifier, new_plugin_unique_identifier: uploaded.echo.identifier, source: "package", meta: {} },
    });
    expect(JSON.parse(JSON.parse(same.body.toString()).message).message).toBe("original and new plugin unique identifier are the same");

    const started = await dify.request("POST", `${M}/install/upgrade`, {
      json: { original_plugin_unique_identifier: uploaded.echo.identifier, new_plugin_unique_identifier: next.unique_identifier, source: "marketplace", meta: { plugin_unique_identifier: next.unique_identifier } },
    });
    expect(started.all_installed).toBe(false);
    let task: any;
    const deadline = Date.now() + 150_000;
    do {
      await new Promise((r) => setTimeout(r, 250));
      task = await dify.request("GET", `${M}/install/tasks/${started.task_id}`);
    } while (task.status !== "success" && task.status !== "failed" && Date.now() < deadline);
    expect(task.status, JSON.stringify(task.plugins)).toBe("success");
    const [row] = await dify.request("POST", `${M}/installation/fetch/batch`, { json: { plugin_ids: [ECHO] } });
    expect(row).toMatchObject({ plugin_unique_identifier: next.unique_identifier, version: "0.2.0", source: "marketplace" });
    const version = await dify.all(`${D}/tool/invoke`, body({ provider: "echo", tool: "version", credentials: {}, tool_parameters: {} }), ECHO);
    expect(version).toEqual([{ type: "text", message: { text: "0.2.0" }, meta: null }]);
  }, 180_000);

  it("uninstall answers true, also for an installation already gone; then dispatch says plugin not found", async () => {
    const { list } = await dify.request("GET", `${M}/list`, { params: { page: 1, page_size: 256, response_type: "paged" } });
    const echo = list.find((p: any) => p.plugin_id === ECHO);
    expect(await dify.request("POST", `${M}/uninstall`, { json: { plugin_installation_id: echo.installation_id } })).toBe(true);
    expect(await dify.request("POST", `${M}/uninstall`, { json: { plugin_installation_id: echo.installation_id } })).toBe(true);
    const after = await dify.request("GET", `${M}/list`, { params: { page: 1, page_size: 256, response_type: "paged" } });
    expect(after.list.map((p: any) => p.plugin_id).sort()).toEqual([AGENT, MODELS].sort());
    const res = await dify.send("POST", `${D}/tool/invoke`, { json: body({ provider: "echo", tool: "echo" }), headers: { "X-Plugin-ID": ECHO } });
    expect(res.status).toBe(404);
  });

  it("install task deletes answer true", async () => {
    expect(await dify.request("POST", `${M}/install/tasks/${taskIds[0]}/delete`)).toBe(true);
    expect(await dify.request("POST", `${M}/install/tasks/delete_all`)).toBe(true);
    expect(await dify.request("GET", `${M}/install/tasks`, { params: { page: 1, page_size: 256 } })).toEqual([]);
  });
});
