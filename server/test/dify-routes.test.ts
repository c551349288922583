import http from "node:http";
import type { AddressInfo } from "node:net";
import { toJson } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DebugService } from "../../gen/dify/plugin/v1/debug_service_pb.js";
import type { EndpointService } from "../../gen/dify/plugin/v1/endpoint_service_pb.js";
import type { PluginService } from "../../gen/dify/plugin/v1/plugin_service_pb.js";
import type { InvokeService } from "../../gen/dify/plugin/v1/invoke_service_pb.js";
import { ModelPollingStatus } from "../../gen/dify/plugin/v1/model_pb.js";
import { InvalidArgumentError, NotFoundError, RuntimeUnavailableError } from "../src/errors.js";
import { PluginInvokeError } from "../src/runtimes/runtime.js";
import type { Services } from "../src/services/registrations.js";
import { createDifyDialect } from "../src/transport/dify/router.js";
import { DifyPluginClient } from "./dify-client.js";

// The dialect's routes over stub service implementations: what each Dify request becomes as a proto request, how
// each answer is rendered, and how failures before and inside a stream are answered. The next-tier dispatch actions
// (tts, speech2text, moderation, voices, oauth, dynamic select, datasource, trigger, polling) are covered here; the
// fixture plugins do not implement them.

const TENANT = "tenant-1";
const KEY = "routes-test-key";
const D = `plugin/${TENANT}/dispatch`;
const PLUGIN = "acme/kit";

const seen = new Map<string, unknown>();
let lastSignal: AbortSignal | undefined;
let releaseSlow: () => void = () => undefined;

/** record keeps the proto request as its JSON (original field names) under the RPC's name. */
function record(name: string, req: Parameters<typeof toJson>[1], ctx: HandlerContext): void {
  seen.set(name, toJson(ctx.method.input, req, { useProtoFieldName: true }));
  lastSignal = ctx.signal;
}

const invoke: Partial<ServiceImpl<typeof InvokeService>> = {
  async *invokeTool(req, ctx) {
    record("invokeTool", req, ctx);
    const tool = req.tool;
    if (tool === "down") throw new RuntimeUnavailableError("plugin acme/kit is not running");
    if (tool === "invalid") throw new InvalidArgumentError("tool is required");
    yield { message: { message: { case: "text", value: { text: "first" } } } };
    if (tool === "breaks") throw new PluginInvokeError("InvokeServerUnavailableError", "gone", { description: "upstream" });
    if (tool === "slow") {
      await new Promise<void>((resolve) => {
        releaseSlow = resolve;
        ctx.signal.addEventListener("abort", () => resolve(), { once: true });
      });
      yield { message: { message: { case: "text", value: { text: "late" } } } };
    }
  },
  async *invokeTTS(req, ctx) {
    record("invokeTTS", req, ctx);
    yield { audio: Buffer.from("ab"), mimeType: "audio/mpeg" };
    yield { audio: Buffer.from("c") };
  },
  async getTextEmbeddingNumTokens(req, ctx) {
    record("getTextEmbeddingNumTokens", req, ctx);
    return { numTokens: req.texts.map((t) => t.length) };
  },
  async getTTSModelVoices(req, ctx) {
    record("getTTSModelVoices", req, ctx);
    return { voices: [{ name: "Alloy", value: "alloy" }] };
  },
  async invokeSpeech2Text(req, ctx) {
    record("invokeSpeech2Text", req, ctx);
    return { text: `heard ${Buffer.from(req.file).toString()}` };
  },
  async invokeModeration(req, ctx) {
    record("invokeModeration", req, ctx);
    return { flagged: true };
  },
  async invokeMultimodalEmbedding(req, ctx) {
    record("invokeMultimodalEmbedding", req, ctx);
    return { model: "mm", embeddings: [{ values: [0.5] }], usage: { tokens: 1, totalTokens: 1, unitPrice: "0.10", priceUnit: "0.001", totalPrice: "0.0001000", currency: "USD", latency: 0.2 } };
  },
  async invokeMultimodalRerank(req, ctx) {
    record("invokeMultimodalRerank", req, ctx);
    return { model: "mr", docs: [{ index: 0, text: "a", score: 0.9 }] };
  },
  async startModelPolling(req, ctx) {
    record("startModelPolling", req, ctx);
    return { result: { status: ModelPollingStatus.RUNNING, pluginState: { job: "j-1" }, nextCheckAfterSeconds: 2 } };
  },
  async checkModelPolling(req, ctx) {
    record("checkModelPolling", req, ctx);
    throw new PluginInvokeError("InvokeBadRequestError", "job failed");
  },
  async getOAuthAuthorizationUrl(req, ctx) {
    record("getOAuthAuthorizationUrl", req, ctx);
    return { authorizationUrl: "https://auth.example/?x=1" };
  },
  async getOAuthCredentials(req, ctx) {
    record("getOAuthCredentials", req, ctx);
    return { credentials: { token: "t" }, expiresAt: -1n };
  },
  async refreshOAuthCredentials(req, ctx) {
    record("refreshOAuthCredentials", req, ctx);
    return { credentials: { token: "t2" }, expiresAt: 1700000000n };
  },
  async fetchParameterOptions(req, ctx) {
    record("fetchParameterOptions", req, ctx);
    return { options: [{ value: "v", label: { enUs: "V", zhHans: "维" }, icon: "" }] };
  },
  async validateDatasourceCredentials(req, ctx) {
    record("validateDatasourceCredentials", req, ctx);
    return { result: true };
  },
  async *getWebsiteCrawl(req, ctx) {
    record("getWebsiteCrawl", req, ctx);
    yield { result: { status: "processing", total: 2, completed: 1 } };
    yield { result: { status: "completed", total: 2, completed: 2 } };
  },
  async *getOnlineDocumentPages(req, ctx) {
    record("getOnlineDocumentPages", req, ctx);
    yield { workspaces: [{ workspace_id: "w", pages: [] }] };
  },
  async *getOnlineDocumentPageContent(req, ctx) {
    record("getOnlineDocumentPageContent", req, ctx);
    yield { message: { message: { case: "text", value: { text: "page" } } } };
  },
  async *browseOnlineDriveFiles(req, ctx) {
    record("browseOnlineDriveFiles", req, ctx);
    yield { buckets: [{ files: [{ id: "f", name: "a.txt", size: 3n, type: "file" }], isTruncated: false }] };
  },
  async *downloadOnlineDriveFile(req, ctx) {
    record("downloadOnlineDriveFile", req, ctx);
    yield { message: { message: { case: "blob", value: { blob: Buffer.from("xyz") } }, meta: { mime_type: "text/plain" } } };
  },
  async invokeTriggerEvent(req, ctx) {
    record("invokeTriggerEvent", req, ctx);
    return { variables: { b: 2, a: 1 }, cancelled: false };
  },
  async validateTriggerCredentials(req, ctx) {
    record("validateTriggerCredentials", req, ctx);
    return { result: false };
  },
  async dispatchTriggerEvent(req, ctx) {
    record("dispatchTriggerEvent", req, ctx);
    return { userId: "", events: ["push"], response: Buffer.from("HTTP/1.1 200 OK\r\n\r\n") };
  },
  async subscribeTrigger(req, ctx) {
    record("subscribeTrigger", req, ctx);
    return { subscription: { id: "s" } };
  },
  async unsubscribeTrigger(req, ctx) {
    record("unsubscribeTrigger", req, ctx);
    return { subscription: { id: "s" } };
  },
  async refreshTrigger(req, ctx) {
    record("refreshTrigger", req, ctx);
    return { subscription: { id: "s", expires_at: 1 } };
  },
};

const endpoint: Partial<ServiceImpl<typeof EndpointService>> = {
  async setupEndpoint(req, ctx) {
    record("setupEndpoint", req, ctx);
    if (req.name === "missing") throw new NotFoundError("plugin acme/kit is not installed in tenant tenant-1");
    return { endpointId: "e-1", hookId: "h".repeat(16) };
  },
  async removeEndpoint() {
    throw new NotFoundError("endpoint e-9 not found");
  },
  async updateEndpoint(req, ctx) {
    record("updateEndpoint", req, ctx);
    return {};
  },
  async enableEndpoint(req, ctx) {
    record("enableEndpoint", req, ctx);
    return {};
  },
  async disableEndpoint(req, ctx) {
    record("disableEndpoint", req, ctx);
    throw new NotFoundError("endpoint not found");
  },
  async listPluginEndpoints(req, ctx) {
    record("listPluginEndpoints", req, ctx);
    return { endpoints: [] };
  },
  async listEndpoints(req, ctx) {
    record("listEndpoints", req, ctx);
    const at = timestampFromDate(new Date("2026-01-01T00:00:00Z"));
    return {
      endpoints: [
        {
          id: "e-1",
          tenantId: TENANT,
          pluginId: PLUGIN,
          userId: "u-1",
          name: "hook",
          hookId: "h".repeat(16),
          enabled: true,
          settings: { secret: "ab******yz" },
          declaration: { settings: [{ name: "secret", type: "secret-input" }], endpoints: [{ path: "/x", method: "GET", hidden: false }] },
          createdAt: at,
          updatedAt: at,
          expiredAt: timestampFromDate(new Date("2050-01-01T00:00:00Z")),
        },
      ],
    };
  },
};

const plugin: Partial<ServiceImpl<typeof PluginService>> = {
  async uploadBundle(req, ctx) {
    record("uploadBundle", req, ctx);
    return {
      dependencies: [
        { dependency: { case: "github", value: { repoAddress: "https://github.com/a/b", repo: "a/b", release: "v1", packages: "b.difypkg" } } },
        { dependency: { case: "marketplace", value: { organization: "langgenius", plugin: "openai", version: "0.1.0" } } },
      ],
    };
  },
  async getPackageFile(req, ctx) {
    record("getPackageFile", req, ctx);
    if (req.filePath === "missing") throw new NotFoundError("no such file in the package");
    return { data: Buffer.from("readme"), mimeType: "text/markdown" };
  },
};

const debug: Partial<ServiceImpl<typeof DebugService>> = {
  async getDebuggingKey(req) {
    return { key: `key-of-${req.tenantId}`, host: "localhost", port: 5003 };
  },
};

let server: http.Server;
let dify: DifyPluginClient;

beforeAll(async () => {
  const services: Services = { plugin, invoke, endpoint, debug, repackage: {} };
  const dialect = createDifyDialect({ services, serverKey: KEY, logger: pino({ level: "silent" }), maxPackageBytes: 1024, maxBodyBytes: 1 << 20, version: "test" });
  server = http.createServer((req, res) => void dialect(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  dify = new DifyPluginClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, KEY);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const common = { user_id: "u-1", conversation_id: "c-1", message_id: null, app_id: "a-1", context: { credentials: { tool_credentials: { x: "cred-1" } } } };
const all = (path: string, data: object, extra: object = {}) => dify.all(`${D}/${path}`, { ...common, ...extra, data }, PLUGIN);
const model = { provider: "acme", model: "m-1", credentials: { k: "v" }, credential_type: "api-key" };

describe("dispatch body to the proto request", () => {
  it("carries tenant (path), plugin (header), user and the invoke context; credential types as the enum", async () => {
    await all("tool/invoke", { provider: "kit", tool: "ok", credentials: { a: 1 }, credential_type: "oauth2", tool_parameters: { q: "x" } });
    expect(seen.get("invokeTool")).toEqual({
      tenant_id: TENANT,
      plugin_id: PLUGIN,
      user_id: "u-1",
      context: { conversation_id: "c-1", app_id: "a-1", dify_context: { credentials: { tool_credentials: { x: "cred-1" } } } },
      provider: "kit",
      tool: "ok",
      tool_parameters: { q: "x" },
      credentials: { a: 1 },
      credential_type: "CREDENTIAL_TYPE_OAUTH2",
    });
  });

  it("tts, voices, speech2text, moderation: Dify's fields in, {result} chunks out", async () => {
    const tts = await all("tts/invoke", { ...model, model_type: "tts", tenant_id: TENANT, content_text: "hi", voice: "alloy" });
    expect(tts).toEqual([{ result: "6162", mime_type: "audio/mpeg" }, { result: "63" }]);
    expect(seen.get("invokeTTS")).toMatchObject({ provider: "acme", model: "m-1", content_text: "hi", voice: "alloy", credential_type: "CREDENTIAL_TYPE_API_KEY" });
    expect(await all("tts/model/voices", { ...model, model_type: "tts", language: "en-US" })).toEqual([{ voices: [{ name: "Alloy", value: "alloy" }] }]);
    expect(seen.get("getTTSModelVoices")).toMatchObject({ language: "en-US" });
    expect(await all("speech2text/invoke", { ...model, model_type: "speech2text", file: Buffer.from("wav").toString("hex") })).toEqual([{ result: "heard wav" }]);
    expect(await all("moderation/invoke", { ...model, model_type: "moderation", text: "bad" })).toEqual([{ result: true }]);
    expect(seen.get("invokeModeration")).toMatchObject({ text: "bad" });
  });

  it("text_embedding/num_tokens: one count per text", async () => {
    expect(await all("text_embedding/num_tokens", { ...model, model_type: "text-embedding", texts: ["ab", "cde"] })).toEqual([{ num_tokens: [2, 3] }]);
  });

  it("multimodal embedding and rerank: documents and queries typed, prices as Go decimals", async () => {
    const [embedding] = await all("multimodal_embedding/invoke", {
      ...model,
      model_type: "text-embedding",
      documents: [{ content: "data:image/png;base64,AA", content_type: "image" }],
      input_type: "query",
    });
    expect(embedding).toEqual({
      model: "mm",
      embeddings: [[0.5]],
      usage: { tokens: 1, total_tokens: 1, unit_price: "0.1", price_unit: "0.001", total_price: "0.0001", currency: "USD", latency: 0.2 },
    });
    expect(seen.get("invokeMultimodalEmbedding")).toMatchObject({
      model_type: "MODEL_TYPE_TEXT_EMBEDDING",
      documents: [{ content: "data:image/png;base64,AA", content_type: "MULTIMODAL_CONTENT_TYPE_IMAGE" }],
      input_type: "EMBEDDING_INPUT_TYPE_QUERY",
    });
    const [rerank] = await all("multimodal_rerank/invoke", {
      ...model,
      model_type: "rerank",
      query: { content: "q", content_type: "text" },
      docs: [{ content: "a", content_type: "text" }],
      score_threshold: null,
      top_n: 3,
    });
    expect(rerank).toEqual({ model: "mr", docs: [{ index: 0, text: "a", score: 0.9 }] });
    expect(seen.get("invokeMultimodalRerank")).toMatchObject({ top_n: 3 });
    expect(seen.get("invokeMultimodalRerank")).not.toHaveProperty("score_threshold");
  });

  it("model polling answers an envelope, not a stream; a plugin error is a 500 PluginInvokeError envelope", async () => {
    const data = { ...model, model_type: "llm", prompt_messages: [{ role: "user", content: [{ type: "text", data: "hi" }] }], model_parameters: {}, stream: false };
    const started = await dify.request("POST", `${D}/model/polling/start`, { json: { user_id: "u-1", data }, headers: { "X-Plugin-ID": PLUGIN } });
    expect(started).toEqual({ status: "running", plugin_state: { job: "j-1" }, next_check_after_seconds: 2 });
    expect(seen.get("startModelPolling")).toMatchObject({
      prompt_messages: [{ role: "PROMPT_MESSAGE_ROLE_USER", parts: { items: [{ type: "PROMPT_MESSAGE_CONTENT_TYPE_TEXT", data: "hi" }] } }],
    });
    const res = await dify.send("POST", `${D}/model/polling/check`, {
      json: { user_id: "u-1", data: { ...model, model_type: "llm", plugin_state: { job: "j-1" } } },
      headers: { "X-Plugin-ID": PLUGIN },
    });
    expect(res.status).toBe(500);
    const outer = JSON.parse(JSON.parse(res.body.toString()).message);
    expect(outer.error_type).toBe("PluginInvokeError");
    expect(JSON.parse(outer.message)).toEqual({ args: null, error_type: "InvokeBadRequestError", message: "job failed" });
  });

  it("oauth: hex callback request in, authorization url and credentials out", async () => {
    expect(await all("oauth/get_authorization_url", { provider: "p", redirect_uri: "https://dify/cb", system_credentials: { id: "c" } })).toEqual([
      { authorization_url: "https://auth.example/?x=1" },
    ]);
    const raw = "GET /cb?code=1 HTTP/1.1\r\nHost: dify\r\n\r\n";
    expect(await all("oauth/get_credentials", { provider: "p", redirect_uri: "https://dify/cb", system_credentials: {}, raw_http_request: Buffer.from(raw).toString("hex") })).toEqual([
      { credentials: { token: "t" }, expires_at: -1 },
    ]);
    expect(seen.get("getOAuthCredentials")).toMatchObject({ raw_http_request: Buffer.from(raw).toString("base64") });
    expect(await all("oauth/refresh_credentials", { provider: "p", redirect_uri: "https://dify/cb", system_credentials: {}, credentials: { token: "t" } })).toEqual([
      { credentials: { token: "t2" }, expires_at: 1700000000 },
    ]);
  });

  it("dynamic select: options with I18n labels", async () => {
    expect(await all("dynamic_select/fetch_parameter_options", { provider: "p", provider_action: "search", parameter: "channel", credentials: {} })).toEqual([
      { options: [{ value: "v", label: { en_US: "V", zh_Hans: "维" } }] },
    ]);
  });

  it("datasource: every action, streamed results and tool-shaped content", async () => {
    const ds = { provider: "d", datasource: "web", credentials: {} };
    expect(await all("datasource/validate_credentials", { provider: "d", credentials: {} })).toEqual([{ result: true }]);
    expect(await all("datasource/get_website_crawl", { ...ds, datasource_parameters: { url: "https://x" } })).toEqual([
      { result: { completed: 1, status: "processing", total: 2 } },
      { result: { completed: 2, status: "completed", total: 2 } },
    ]);
    expect(await all("datasource/get_online_document_pages", { ...ds, datasource_parameters: {} })).toEqual([{ result: [{ pages: [], workspace_id: "w" }] }]);
    expect(await all("datasource/get_online_document_page_content", { ...ds, page: { page_id: "p" } })).toEqual([{ type: "text", message: { text: "page" }, meta: null }]);
    expect(await all("datasource/online_drive_browse_files", { ...ds, request: { prefix: "", max_keys: 10, next_page_parameters: null } })).toEqual([
      { result: [{ bucket: null, files: [{ id: "f", name: "a.txt", size: 3, type: "file" }], is_truncated: false, next_page_parameters: null }] },
    ]);
    expect(seen.get("browseOnlineDriveFiles")).toMatchObject({ request: { max_keys: 10 } });
    expect(await all("datasource/online_drive_download_file", { ...ds, request: { id: "f" } })).toEqual([
      { type: "blob", message: { blob: Buffer.from("xyz").toString("base64") }, meta: { mime_type: "text/plain" } },
    ]);
  });

  it("trigger: every action, maps with sorted keys, the webhook response as hex", async () => {
    const raw = Buffer.from("POST /hook HTTP/1.1\r\n\r\n").toString("hex");
    expect(
      await dify.all(`${D}/trigger/invoke_event`, { ...common, data: { provider: "t", event: "push", raw_http_request: raw, subscription: { id: "s" }, credentials: {} } }, PLUGIN),
    ).toEqual([{ variables: { a: 1, b: 2 }, cancelled: false }]);
    expect(await all("trigger/validate_credentials", { provider: "t", credentials: {} })).toEqual([{ result: false }]);
    // Dify sends no user for dispatch_event.
    const dispatched = await dify.all(`${D}/trigger/dispatch_event`, { data: { provider: "t", subscription: { id: "s" }, raw_http_request: raw, credentials: {} } }, PLUGIN);
    expect(dispatched).toEqual([{ events: ["push"], response: Buffer.from("HTTP/1.1 200 OK\r\n\r\n").toString("hex") }]);
    expect(seen.get("dispatchTriggerEvent")).not.toHaveProperty("user_id");
    expect(await all("trigger/subscribe", { provider: "t", endpoint: "https://dify/hook", parameters: {}, credentials: {} })).toEqual([{ subscription: { id: "s" } }]);
    expect(await all("trigger/unsubscribe", { provider: "t", subscription: { id: "s" }, credentials: {} })).toEqual([{ subscription: { id: "s" } }]);
    expect(await all("trigger/refresh", { provider: "t", subscription: { id: "s" }, credentials: {} })).toEqual([{ subscription: { expires_at: 1, id: "s" } }]);
  });

  it("refuses what Go's validation refuses with HTTP 400: wrong model_type, missing required fields, bad hex", async () => {
    for (const [path, data] of [
      ["tts/invoke", { ...model, model_type: "llm", tenant_id: TENANT, content_text: "x", voice: "v" }],
      ["tool/invoke", { provider: "kit" }],
      ["speech2text/invoke", { ...model, model_type: "speech2text", file: "zz" }],
      ["llm/invoke", { ...model, model_type: "llm", prompt_messages: [{ role: "robot", content: "x" }] }],
      ["trigger/unsubscribe", { provider: "t", credentials: {} }],
    ] as const) {
      const res = await dify.send("POST", `${D}/${path}`, { json: { user_id: "u", data }, headers: { "X-Plugin-ID": PLUGIN } });
      expect(res.status, path).toBe(400);
      expect(JSON.parse(JSON.parse(res.body.toString()).message).error_type).toBe("PluginDaemonBadRequestError");
    }
  });
});

describe("dispatch failures", () => {
  it("a runtime that is not running fails before the stream: HTTP 500 envelope, not SSE", async () => {
    const res = await dify.send("POST", `${D}/tool/invoke`, { json: { data: { provider: "kit", tool: "down" } }, headers: { "X-Plugin-ID": PLUGIN } });
    expect(res.status).toBe(500);
    expect(res.headers["content-type"]).toContain("application/json");
    expect(JSON.parse(JSON.parse(res.body.toString()).message)).toEqual({
      message: "plugin acme/kit is not running",
      error_type: "PluginDaemonInternalServerError",
      args: null,
    });
    const invalid = await dify.send("POST", `${D}/tool/invoke`, { json: { data: { provider: "kit", tool: "invalid" } }, headers: { "X-Plugin-ID": PLUGIN } });
    expect(invalid.status).toBe(400);
  });

  it("an error after the first chunk is the last line of the stream", async () => {
    const res = await dify.send("POST", `${D}/tool/invoke`, { json: { data: { provider: "kit", tool: "breaks" } }, headers: { "X-Plugin-ID": PLUGIN } });
    expect(res.status).toBe(200);
    const lines = res.body.toString().split("\n\n").filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('data: {"code":0,"message":"success","data":{"type":"text","message":{"text":"first"},"meta":null}}');
    const error = JSON.parse(lines[1]!.slice("data: ".length));
    expect(JSON.parse(JSON.parse(error.message).message)).toEqual({ args: { description: "upstream" }, error_type: "InvokeServerUnavailableError", message: "gone" });
  });

  it("a client that goes away mid-stream ends the RPC (its signal aborts)", async () => {
    const res = await dify.open("POST", `${D}/tool/invoke`, { json: { data: { provider: "kit", tool: "slow" } }, headers: { "X-Plugin-ID": PLUGIN } });
    const first = await new Promise<string>((resolve) => res.once("data", (chunk: Buffer) => resolve(chunk.toString())));
    expect(first).toContain('"first"');
    res.destroy();
    await expect.poll(() => lastSignal?.aborted, { timeout: 5_000 }).toBe(true);
    releaseSlow();
  });

  it("an RPC the services do not implement is a -500 envelope naming it", async () => {
    const res = await dify.send("POST", `${D}/llm/num_tokens`, {
      json: { data: { ...model, model_type: "llm", prompt_messages: [], tools: [] } },
      headers: { "X-Plugin-ID": PLUGIN },
    });
    expect(res.status).toBe(500);
    expect(JSON.parse(JSON.parse(res.body.toString()).message).message).toBe("dify.plugin.v1.InvokeService/GetLLMNumTokens is not implemented by this daemon");
    const list = await dify.send("GET", `plugin/${TENANT}/management/list`, { params: { page: 1, page_size: 10 } });
    expect(list.status).toBe(200);
    expect(JSON.parse(list.body.toString())).toMatchObject({ code: -500, data: null });
  });
});

describe("endpoints and debugging key", () => {
  it("setup binds Dify's body, answers true; a plugin not installed is PluginNotFoundError", async () => {
    const body = { user_id: "u-1", plugin_unique_identifier: `acme/kit:0.0.1@${"a".repeat(64)}`, settings: { secret: "s3cr3t" }, name: "hook" };
    expect(await dify.request("POST", `plugin/${TENANT}/endpoint/setup`, { json: body })).toBe(true);
    expect(seen.get("setupEndpoint")).toMatchObject({ tenant_id: TENANT, user_id: "u-1", name: "hook", settings: { secret: "s3cr3t" } });
    await expect(dify.request("POST", `plugin/${TENANT}/endpoint/setup`, { json: { ...body, name: "missing" } })).rejects.toMatchObject({ kind: "PluginNotFoundError" });
  });

  it("remove of an unknown endpoint says 'record not found', which Dify takes as done", async () => {
    const res = await dify.send("POST", `plugin/${TENANT}/endpoint/remove`, { json: { endpoint_id: "e-9" } });
    expect(res.status).toBe(200);
    const error = JSON.parse(JSON.parse(res.body.toString()).message);
    expect(error.error_type).toBe("PluginDaemonInternalServerError");
    expect(error.message).toContain("record not found");
  });

  it("list answers Go's endpoint rows; page_size over 100 is a binding error", async () => {
    const list = await dify.request("GET", `plugin/${TENANT}/endpoint/list`, { params: { page: 1, page_size: 100 } });
    expect(list).toEqual([
      {
        id: "e-1",
        created_at: "2026-01-01T00:00:00Z",
        updated_at: "2026-01-01T00:00:00Z",
        name: "hook",
        hook_id: "hhhhhhhhhhhhhhhh",
        tenant_id: TENANT,
        user_id: "u-1",
        plugin_id: PLUGIN,
        expired_at: "2050-01-01T00:00:00Z",
        enabled: true,
        settings: { secret: "ab******yz" },
        declaration: { settings: [{ name: "secret", type: "secret-input" }], endpoints: [{ path: "/x", method: "GET", hidden: false }] },
      },
    ]);
    expect((await dify.send("GET", `plugin/${TENANT}/endpoint/list`, { params: { page: 1, page_size: 101 } })).status).toBe(400);
  });

  it("update, enable, disable and list/plugin bind Dify's bodies and queries", async () => {
    expect(await dify.request("POST", `plugin/${TENANT}/endpoint/update`, { json: { user_id: "u-2", endpoint_id: "e-1", name: "renamed", settings: { a: "b" } } })).toBe(true);
    expect(seen.get("updateEndpoint")).toEqual({ tenant_id: TENANT, endpoint_id: "e-1", user_id: "u-2", name: "renamed", settings: { a: "b" } });
    expect(await dify.request("POST", `plugin/${TENANT}/endpoint/enable`, { json: { endpoint_id: "e-1" } })).toBe(true);
    expect(seen.get("enableEndpoint")).toEqual({ tenant_id: TENANT, endpoint_id: "e-1" });
    await expect(dify.request("POST", `plugin/${TENANT}/endpoint/disable`, { json: { endpoint_id: "e-1" } })).rejects.toMatchObject({
      kind: "PluginDaemonNotFoundError",
    });
    expect(await dify.request("GET", `plugin/${TENANT}/endpoint/list/plugin`, { params: { plugin_id: PLUGIN, page: 2, page_size: 5 } })).toEqual([]);
    expect(seen.get("listPluginEndpoints")).toEqual({ tenant_id: TENANT, plugin_id: PLUGIN, page: 2, page_size: 5 });
    expect((await dify.send("POST", `plugin/${TENANT}/endpoint/enable`, { json: {} })).status).toBe(400);
  });

  it("debugging/key answers {key}", async () => {
    expect(await dify.request("POST", `plugin/${TENANT}/debugging/key`)).toEqual({ key: `key-of-${TENANT}` });
  });
});

describe("bundle upload and package files", () => {
  it("upload/bundle takes the multipart dify_bundle and answers its dependencies as {type, value}", async () => {
    const bundle = Buffer.from("PK bundle bytes");
    const deps = await dify.request("POST", `plugin/${TENANT}/management/install/upload/bundle`, {
      form: { data: { verify_signature: "true" }, files: { dify_bundle: ["dify_bundle", bundle, "application/octet-stream"] } },
    });
    expect(deps).toEqual([
      { type: "github", value: { packages: "b.difypkg", release: "v1", repo: "a/b", repo_address: "https://github.com/a/b" } },
      { type: "marketplace", value: { organization: "langgenius", plugin: "openai", version: "0.1.0" } },
    ]);
    expect(seen.get("uploadBundle")).toEqual({ tenant_id: TENANT, bundle: bundle.toString("base64"), verify_signature: true });
  });

  it("upload/package refuses a package over MAX_PLUGIN_PACKAGE_SIZE with -400 and HTTP 200, before any service runs", async () => {
    const res = await dify.send("POST", `plugin/${TENANT}/management/install/upload/package`, {
      form: { data: { verify_signature: "false" }, files: { dify_pkg: ["dify_pkg", Buffer.alloc(2048), "application/octet-stream"] } },
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(JSON.parse(res.body.toString()).message)).toEqual({
      message: "file size exceeds the maximum limit",
      error_type: "PluginDaemonBadRequestError",
      args: null,
    });
  });

  it("extract-asset/ serves a file of a stored package raw; a failure is a 500 envelope", async () => {
    const identifier = `acme/kit:0.0.1@${"a".repeat(64)}`;
    const res = await dify.send("GET", `plugin/${TENANT}/extract-asset/`, { params: { plugin_unique_identifier: identifier, file_path: "README.md" } });
    expect([res.status, res.headers["content-type"], res.body.toString()]).toEqual([200, "application/octet-stream", "readme"]);
    const missing = await dify.send("GET", `plugin/${TENANT}/extract-asset/`, { params: { plugin_unique_identifier: identifier, file_path: "missing" } });
    expect(missing.status).toBe(500);
    expect(JSON.parse(missing.body.toString()).code).toBe(-500);
  });
});

describe("routing", () => {
  it("matches the fixed management paths before {category}/list, and takes the catch-all identifier with its slash", async () => {
    const res = await dify.send("POST", `plugin/${TENANT}/management/install/tasks/t-1/delete/acme/kit:0.0.1@${"a".repeat(32)}`);
    // The empty PluginService answers Unimplemented: the route matched and bound the identifier.
    expect(JSON.parse(JSON.parse(res.body.toString()).message).message).toBe("dify.plugin.v1.PluginService/DeleteInstallTaskItem is not implemented by this daemon");
    const bad = await dify.send("GET", `plugin/${TENANT}/management/gadgets/list`, { params: { page: 1, page_size: 1 } });
    expect(JSON.parse(JSON.parse(bad.body.toString()).message).message).toBe("invalid category: gadgets");
  });
});

