import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDaemonClients, type DaemonClients } from "../../clients/client.js";
import { InstallTaskStatus } from "../../gen/dify/plugin/v1/install_pb.js";
import {
  EmbeddingInputType,
  ModelType,
  PromptMessageContentType,
  PromptMessageRole,
  type LLMResultChunk,
  type PromptMessage,
} from "../../gen/dify/plugin/v1/model_pb.js";
import { ToolInvokeLogStatus, type ToolInvokeMessage } from "../../gen/dify/plugin/v1/tool_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CredentialType } from "../../gen/dify/plugin/v1/common_pb.js";
import { InvokeService } from "../../gen/dify/plugin/v1/invoke_service_pb.js";
import { ModelPollingStatus, MultimodalContentType, ToolChoiceMode, type PromptMessageSchema } from "../../gen/dify/plugin/v1/model_pb.js";
import { BlobAssembler } from "../src/services/invoke/agent-blobs.js";
import { agentRpcs } from "../src/services/invoke/agent-rpcs.js";
import type { ActionRequest, Dispatch, InvokeTarget } from "../src/services/invoke/dispatch.js";
import { pollingResult } from "../src/services/invoke/model-results.js";
import { modelRpcs } from "../src/services/invoke/model-rpcs.js";
import { llmChunkFromPlugin } from "../src/services/invoke/llm-chunks.js";
import { buildFixturePackage } from "./fixture-packages.js";
import { TEST_SERVER_KEY, startTestDaemon, type TestDaemon } from "./harness.js";

// Model and agent strategy invocation end to end over Connect: real daemon, the fixture plugins as real Python
// processes, Postgres when DB_URL is set.
const TENANT = "33333333-3333-4333-8333-333333333333";
const MODELS = "daemon-tests/fixture-models";
const AGENT = "daemon-tests/fixture-agent";
const GOOD = { api_key: "good" };
const BAD = { api_key: "bad" };

let daemon: TestDaemon;
let clients: DaemonClients;

async function installAndWait(identifier: string) {
  const started = await clients.plugins.installFromIdentifiers({ tenantId: TENANT, pluginUniqueIdentifiers: [identifier], source: "package" });
  let last;
  for await (const { task } of clients.plugins.watchInstallTask({ tenantId: TENANT, taskId: started.taskId })) last = task;
  return last!;
}

beforeAll(async () => {
  process.env.PIP_CONFIG_FILE = "/dev/null";
  daemon = await startTestDaemon({ FORCE_VERIFYING_SIGNATURE: "false" });
  clients = createDaemonClients({ baseUrl: daemon.baseUrl, apiKey: TEST_SERVER_KEY, protocol: "connect-binary", httpVersion: "2" });
  for (const fixture of ["model-provider", "agent-strategy"] as const) {
    const { pluginUniqueIdentifier } = await clients.plugins.uploadPackage({ tenantId: TENANT, package: await buildFixturePackage(fixture) });
    const task = await installAndWait(pluginUniqueIdentifier);
    expect(task.status, task.plugins[0]?.message).toBe(InstallTaskStatus.SUCCESS);
  }
}, 180_000);

afterAll(async () => {
  await daemon?.stop();
});

const target = { tenantId: TENANT, pluginId: MODELS, userId: "user-1", provider: "fixture" };
const userSays = (text: string): MessageInitShape<typeof PromptMessageSchema> => ({ role: PromptMessageRole.USER, content: { case: "text", value: text } });
const textOf = (m: PromptMessage | undefined) => (m?.content.case === "text" ? m.content.value : undefined);
const failure = async (call: Promise<unknown>) => ConnectError.from(await call.then(() => "no error", (e: unknown) => e));

async function llm(credentials: Record<string, string>): Promise<LLMResultChunk[]> {
  const chunks: LLMResultChunk[] = [];
  const stream = clients.invoke.invokeLLM({
    ...target,
    model: "fixture-llm",
    credentials,
    modelParameters: { temperature: 0.2 },
    promptMessages: [{ role: PromptMessageRole.SYSTEM, content: { case: "text", value: "be brief" } }, userSays("say hello world")],
    stop: ["\n\n"],
    stream: true,
  });
  for await (const { chunk } of stream) chunks.push(chunk!);
  return chunks;
}

describe("model provider", () => {
  it("streams the LLM's chunks in order, the last with finish_reason and usage whose prices are strings", async () => {
    const chunks = await llm(GOOD);
    expect(chunks.map((c) => textOf(c.delta?.message))).toEqual(["Hel", "lo", " world"]);
    expect(chunks.map((c) => c.delta?.index)).toEqual([0, 1, 2]);
    expect(chunks.map((c) => c.delta?.finishReason)).toEqual([undefined, undefined, "stop"]);
    expect(chunks.every((c) => c.model === "fixture-llm" && c.delta?.message?.role === PromptMessageRole.ASSISTANT)).toBe(true);
    expect(chunks.slice(0, 2).map((c) => c.delta?.usage)).toEqual([undefined, undefined]);
    const usage = chunks[2]?.delta?.usage;
    // 5 prompt words ("be brief", "say hello world"), 3 completion pieces; prices as the SDK computes and writes them.
    expect(usage).toMatchObject({
      promptTokens: 5,
      promptUnitPrice: "0.5",
      promptPriceUnit: "0.001",
      promptPrice: "0.0025000",
      completionTokens: 3,
      completionUnitPrice: "1.5",
      completionPriceUnit: "0.001",
      completionPrice: "0.0045000",
      totalTokens: 8,
      totalPrice: "0.0070000",
      currency: "USD",
    });
    expect(usage?.latency).toBeGreaterThanOrEqual(0);
  });

  it("passes the plugin's own error for bad invocation credentials", async () => {
    const err = await failure(llm(BAD));
    expect(err.code).toBe(Code.Unknown);
    expect(err.rawMessage).toBe("InvokeAuthorizationError: [models] Incorrect model credentials provided, please check and try again. ");
  });

  it("counts a prompt's tokens, text parts of multimodal content included", async () => {
    const { numTokens } = await clients.invoke.getLLMNumTokens({
      ...target,
      model: "fixture-llm",
      credentials: GOOD,
      promptMessages: [
        userSays("one two three"),
        {
          role: PromptMessageRole.USER,
          content: {
            case: "parts",
            value: {
              items: [
                { type: PromptMessageContentType.TEXT, data: "four five" },
                { type: PromptMessageContentType.IMAGE, url: "https://example.com/a.png", format: "png", mimeType: "image/png" },
              ],
            },
          },
        },
      ],
      tools: [{ name: "search", description: "looks things up", parameters: { type: "object", properties: {} } }],
    });
    expect(numTokens).toBe(5);
  });

  it("embeds texts, one vector per text, with usage prices as strings", async () => {
    const result = await clients.invoke.invokeTextEmbedding({
      ...target,
      model: "fixture-embed",
      credentials: GOOD,
      texts: ["hello world", "abc"],
      inputType: EmbeddingInputType.DOCUMENT,
    });
    expect(result.model).toBe("fixture-embed");
    expect(result.embeddings.map((e) => e.values)).toEqual([
      [1.1, 0.2, 0.5, -0.5],
      [0.3, 0.1, 0.5, -0.5],
    ]);
    expect(result.usage).toMatchObject({ tokens: 3, totalTokens: 3, unitPrice: "0.1", priceUnit: "0.001", totalPrice: "0.0003000", currency: "USD" });
  });

  it("refuses an embedding request without input_type before calling the plugin", async () => {
    const err = await failure(clients.invoke.invokeTextEmbedding({ ...target, model: "fixture-embed", credentials: GOOD, texts: ["x"] }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("input_type is required");
  });

  it("reranks documents best first, keeping top_n", async () => {
    const result = await clients.invoke.invokeRerank({
      ...target,
      model: "fixture-rerank",
      credentials: GOOD,
      query: "hello world",
      docs: ["goodbye", "hello there", "hello world"],
      topN: 2,
    });
    expect(result.model).toBe("fixture-rerank");
    expect(result.docs.map((d) => ({ index: d.index, text: d.text, score: d.score }))).toEqual([
      { index: 2, text: "hello world", score: 1 },
      { index: 1, text: "hello there", score: 0.5 },
    ]);
  });

  it("returns a declared model's schema, and none for an unknown model", async () => {
    const { modelSchema } = await clients.invoke.getModelSchema({ ...target, model: "fixture-llm", modelType: ModelType.LLM, credentials: GOOD });
    expect(modelSchema).toMatchObject({ model: "fixture-llm", model_type: "llm", model_properties: { mode: "chat", context_size: 4096 } });
    expect(modelSchema?.["pricing"]).toEqual({ input: "0.5", output: "1.5", unit: "0.001", currency: "USD" });
    const embed = await clients.invoke.getModelSchema({ ...target, model: "fixture-embed", modelType: ModelType.TEXT_EMBEDDING, credentials: GOOD });
    expect(embed.modelSchema?.["model_type"]).toBe("text-embedding");
    const unknown = await clients.invoke.getModelSchema({ ...target, model: "no-such-model", modelType: ModelType.LLM, credentials: GOOD });
    expect(unknown.modelSchema).toBeUndefined();
  });

  it("validates provider and model credentials, and passes the plugin's error for bad ones", async () => {
    const provider = await clients.invoke.validateProviderCredentials({ ...target, credentials: GOOD });
    expect(provider.result).toBe(true);
    expect(provider.credentials).toEqual(GOOD);
    const model = await clients.invoke.validateModelCredentials({ ...target, model: "fixture-rerank", modelType: ModelType.RERANK, credentials: GOOD });
    expect(model.result).toBe(true);

    const badProvider = await failure(clients.invoke.validateProviderCredentials({ ...target, credentials: BAD }));
    expect(badProvider.rawMessage).toBe("CredentialsValidateFailedError: invalid api_key");
    const badModel = await failure(clients.invoke.validateModelCredentials({ ...target, model: "fixture-llm", modelType: ModelType.LLM, credentials: BAD }));
    expect(badModel.rawMessage).toBe("CredentialsValidateFailedError: invalid api_key");
  });

  it("sends the model type the plugin expects: a type the provider does not serve fails in the plugin", async () => {
    const err = await failure(clients.invoke.getModelSchema({ ...target, model: "fixture-tts", modelType: ModelType.TTS, credentials: GOOD }));
    expect(err.rawMessage).toBe("ValueError: Model `tts` not found for provider `fixture`");
  });
});

describe("agent strategy", () => {
  it("streams the strategy's text, ONE re-assembled blob of 9500 bytes with its meta, and its log", async () => {
    const messages: ToolInvokeMessage[] = [];
    for await (const { message } of clients.invoke.invokeAgentStrategy({
      tenantId: TENANT,
      pluginId: AGENT,
      userId: "user-1",
      agentStrategyProvider: "fixture-agent",
      agentStrategy: "echo-agent",
      agentStrategyParams: { query: "what is dify?" },
    })) {
      messages.push(message!);
    }
    expect(messages.map((m) => m.message.case)).toEqual(["text", "blob", "log"]);
    const [text, blob, log] = messages;
    expect(text?.message.case === "text" && text.message.value.text).toBe("echo-agent heard: what is dify?");
    const bytes = blob?.message.case === "blob" ? Buffer.from(blob.message.value.blob) : Buffer.alloc(0);
    expect(bytes.length).toBe(9500);
    expect(bytes.equals(Buffer.from("fixture agent blob\n".repeat(500)))).toBe(true);
    expect(blob?.meta).toEqual({ mime_type: "text/plain" });
    expect(log?.message.case === "log" && log.message.value).toMatchObject({
      id: "fixture-agent-log-1",
      label: "echo-agent round 1",
      status: ToolInvokeLogStatus.SUCCESS,
      data: { query: "what is dify?" },
    });
  });

  it("passes the plugin's error for an unknown strategy", async () => {
    const run = async () => {
      for await (const _ of clients.invoke.invokeAgentStrategy({ tenantId: TENANT, pluginId: AGENT, agentStrategyProvider: "fixture-agent", agentStrategy: "nope" })) void _;
    };
    const err = await failure(run());
    expect(err.rawMessage).toBe("ValueError: Agent `nope` not found for provider `fixture-agent`");
  });
});

// What the daemon refuses from a plugin, checked on the mapping itself (the fixtures only send well-formed output).
describe("malformed plugin output", () => {
  const good = () => ({
    model: "m",
    prompt_messages: [],
    system_fingerprint: null,
    delta: { index: 0, message: { role: "assistant", content: "", name: null, tool_calls: [] }, usage: null, finish_reason: null },
  });

  it("accepts an empty content, content parts, tool calls and numeric prices", () => {
    const chunk = good();
    expect(textOf(llmChunkFromPlugin(chunk).delta?.message)).toBe("");
    const rich = llmChunkFromPlugin({
      ...chunk,
      delta: {
        index: 1,
        message: {
          role: "assistant",
          content: [{ type: "text", data: "hi" }],
          tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }],
        },
        usage: {
          prompt_tokens: 1,
          prompt_unit_price: 0.0025,
          prompt_price_unit: 1e-7,
          prompt_price: "0.0000250",
          completion_tokens: 2,
          completion_unit_price: "1",
          completion_price_unit: "0.001",
          completion_price: "0.002",
          total_tokens: 3,
          total_price: "0.002025",
          currency: "USD",
          latency: 0.5,
        },
        finish_reason: "tool_calls",
      },
    });
    expect(rich.delta?.message?.content).toMatchObject({ case: "parts", value: { items: [{ type: PromptMessageContentType.TEXT, data: "hi" }] } });
    expect(rich.delta?.message?.toolCalls[0]?.function).toMatchObject({ name: "f", arguments: "{}" });
    expect(rich.delta?.usage).toMatchObject({ promptUnitPrice: "0.0025", promptPriceUnit: "0.0000001", promptPrice: "0.0000250" });
  });

  it.each([
    ["model", (c: ReturnType<typeof good>) => ({ ...c, model: undefined }), "model is required"],
    ["delta", (c: ReturnType<typeof good>) => ({ ...c, delta: undefined }), "delta is required"],
    ["delta.index", (c: ReturnType<typeof good>) => ({ ...c, delta: { ...c.delta, index: "0" } }), 'delta.index must be a 32-bit integer, got "0"'],
    ["delta.message.role", (c: ReturnType<typeof good>) => ({ ...c, delta: { ...c.delta, message: { ...c.delta.message, role: "robot" } } }), "delta.message.role must be one of"],
    ["delta.message.content", (c: ReturnType<typeof good>) => ({ ...c, delta: { ...c.delta, message: { ...c.delta.message, content: null } } }), "delta.message.content is required"],
    [
      "delta.usage.prompt_price",
      (c: ReturnType<typeof good>) => ({ ...c, delta: { ...c.delta, usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2, currency: "USD", latency: 1, prompt_price: "cheap" } } }),
      'delta.usage.prompt_price must be a decimal',
    ],
  ])("fails an LLM chunk with a bad %s, naming the field", (_field, breakIt, message) => {
    expect(() => llmChunkFromPlugin(breakIt(good()))).toThrow(`malformed LLM result chunk from the plugin: ${message}`);
  });

  const piece = (id: string, sequence: number, bytes: Buffer, end = false) => ({
    type: "blob_chunk",
    message: { id, sequence, total_length: 0, blob: bytes.toString("base64"), end },
    meta: { mime_type: "application/octet-stream" },
  });

  it("re-assembles interleaved blobs by id in sequence order", () => {
    const blobs = new BlobAssembler();
    const out = [
      piece("a", 1, Buffer.from("world")),
      piece("b", 0, Buffer.from("other")),
      piece("a", 0, Buffer.from("hello ")),
      piece("a", 2, Buffer.alloc(0), true),
      { type: "text", message: { text: "between" }, meta: null },
      piece("b", 1, Buffer.alloc(0), true),
    ].flatMap((c) => blobs.accept(c) ?? []);
    expect(out.map((m) => (m.message.case === "blob" ? Buffer.from(m.message.value.blob).toString() : m.message.case))).toEqual(["hello world", "text", "other"]);
    expect(out[0]?.meta).toEqual({ mime_type: "application/octet-stream" });
  });

  it("fails a chunk over 8192 bytes and a file over 15 MiB, naming the limit", () => {
    expect(() => new BlobAssembler().accept(piece("a", 0, Buffer.alloc(8193)))).toThrow(/single file chunk is too large: .* the limit is 8192 bytes per chunk/);
    const blobs = new BlobAssembler();
    const full = Buffer.alloc(8192);
    expect(() => {
      for (let i = 0; i <= (15 * 1024 * 1024) / 8192; i++) blobs.accept(piece("big", i, full));
    }).toThrow(/file is too large: blob big exceeds the limit of 15728640 bytes \(15 MiB\) per file/);
  });
});

// The request `data` each RPC sends, and how it reads the answers, on the RPCs themselves with a recording dispatch.
describe("what the plugin is sent", () => {
  let sent: (ActionRequest & { target: InvokeTarget })[] = [];
  let answers: unknown[] = [];
  const dispatch: Dispatch = async function* (target, request) {
    sent.push({ ...request, target });
    yield* answers;
  };
  const client = createClient(
    InvokeService,
    createRouterTransport(({ service }) => service(InvokeService, { ...modelRpcs(dispatch), ...agentRpcs(dispatch) })),
  );
  const base = { tenantId: TENANT, pluginId: MODELS, userId: "u-1", provider: "fixture", credentials: GOOD };
  const answer = (...chunks: unknown[]) => {
    sent = [];
    answers = chunks;
  };
  const last = () => sent.at(-1)!;

  it("invoke_llm: Dify's fields, tool_choice only when set, json_schema null when unset", async () => {
    answer();
    for await (const _ of client.invokeLLM({
      ...base,
      model: "fixture-llm",
      credentialType: CredentialType.API_KEY,
      promptMessages: [
        userSays("hi"),
        {
          role: PromptMessageRole.ASSISTANT,
          content: { case: "text", value: "" },
          toolCalls: [{ id: "c1", type: "function", function: { name: "search", arguments: "{\"q\":1}" } }],
        },
        { role: PromptMessageRole.TOOL, content: { case: "text", value: "result" }, toolCallId: "c1" },
      ],
      tools: [{ name: "search", description: "d" }],
      toolChoice: { mode: ToolChoiceMode.AUTO },
      stream: true,
    })) void _;
    expect(last()).toEqual({
      type: "model",
      action: "invoke_llm",
      target: expect.objectContaining({ tenantId: TENANT, pluginId: MODELS, userId: "u-1" }) as InvokeTarget,
      data: {
        provider: "fixture",
        model: "fixture-llm",
        model_type: "llm",
        credentials: GOOD,
        credential_type: "api-key",
        model_parameters: {},
        prompt_messages: [
          { role: "user", content: "hi", name: "", tool_calls: [], tool_call_id: "" },
          { role: "assistant", content: "", name: "", tool_calls: [{ id: "c1", type: "function", function: { name: "search", arguments: '{"q":1}' } }], tool_call_id: "" },
          { role: "tool", content: "result", name: "", tool_calls: [], tool_call_id: "c1" },
        ],
        tools: [{ name: "search", description: "d", parameters: {} }],
        tool_choice: { mode: "auto" },
        stop: [],
        json_schema: null,
        stream: true,
      },
    });
  });

  it("the other model actions: model_type strings, hex files and audio, rerank defaults, polling", async () => {
    const usage = { tokens: 1, total_tokens: 1, unit_price: "0", price_unit: "0", total_price: "0", currency: "USD", latency: 0.1 };
    answer({ model: "e", embeddings: [[1]], usage });
    await client.invokeMultimodalEmbedding({
      ...base,
      model: "e",
      documents: [{ content: "data:image/png;base64,AA==", contentType: MultimodalContentType.IMAGE }],
      inputType: EmbeddingInputType.QUERY,
    });
    expect(last().data).toEqual({
      provider: "fixture",
      model: "e",
      model_type: "text-embedding",
      credentials: GOOD,
      documents: [{ content: "data:image/png;base64,AA==", content_type: "image" }],
      input_type: "query",
    });

    answer({ model: "r", docs: [] });
    await client.invokeRerank({ ...base, model: "r", query: "q", docs: ["a"] });
    expect(last().data).toMatchObject({ model_type: "rerank", query: "q", docs: ["a"], score_threshold: 0, top_n: 0 });

    answer({ result: "4944", mime_type: "audio/mpeg" }, { result: "33" });
    const audio = [];
    for await (const piece of client.invokeTTS({ ...base, model: "t", contentText: "hello", voice: "alloy" })) audio.push(piece);
    expect(last()).toMatchObject({ action: "invoke_tts", data: { model_type: "tts", content_text: "hello", voice: "alloy", tenant_id: TENANT } });
    expect(Buffer.concat(audio.map((a) => a.audio)).toString()).toBe("ID3");
    expect(audio.map((a) => a.mimeType)).toEqual(["audio/mpeg", ""]);

    answer({ result: "transcript" });
    expect((await client.invokeSpeech2Text({ ...base, model: "s", file: Buffer.from("RIFF") })).text).toBe("transcript");
    expect(last().data).toMatchObject({ model_type: "speech2text", file: "52494646" });

    answer({ result: true });
    expect((await client.invokeModeration({ ...base, model: "m", text: "bad words" })).flagged).toBe(true);
    expect(last()).toMatchObject({ action: "invoke_moderation", data: { model_type: "moderation", text: "bad words" } });

    answer({ voices: [{ name: "Alloy", value: "alloy" }] });
    expect((await client.getTTSModelVoices({ ...base, model: "t", language: "en-US" })).voices).toMatchObject([{ name: "Alloy", value: "alloy" }]);
    expect(last()).toMatchObject({ action: "get_tts_model_voices", data: { model_type: "tts", language: "en-US" } });

    answer({ num_tokens: [1, 2] });
    expect((await client.getTextEmbeddingNumTokens({ ...base, model: "e", texts: ["a", "b c"] })).numTokens).toEqual([1, 2]);
    expect(last()).toMatchObject({ action: "get_text_embedding_num_tokens", data: { model_type: "text-embedding", texts: ["a", "b c"] } });

    answer({ status: "running", plugin_state: { job: "j1" }, next_check_after_seconds: 5 });
    const started = await client.startModelPolling({ ...base, model: "fixture-llm", promptMessages: [userSays("hi")] });
    expect(started.result).toMatchObject({ status: ModelPollingStatus.RUNNING, pluginState: { job: "j1" }, nextCheckAfterSeconds: 5 });
    expect(last()).toMatchObject({ action: "start_polling", data: { model_type: "llm", stream: false, json_schema: null } });
    answer({ status: "succeeded", result: { text: "done" } });
    const checked = await client.checkModelPolling({ ...base, model: "fixture-llm", pluginState: { job: "j1" } });
    expect(checked.result?.status).toBe(ModelPollingStatus.SUCCEEDED);
    expect(last()).toMatchObject({ action: "check_polling", data: { model_type: "llm", plugin_state: { job: "j1" } } });
    expect(() => pollingResult({ status: "failed" })).toThrow("malformed model polling result from the plugin: error is required when status is failed");
    expect(() => pollingResult({ status: "running" })).toThrow("plugin_state is required when status is running");

    answer({ result: true, credentials: null });
    const provider = await client.validateProviderCredentials({ ...base, credentialType: CredentialType.OAUTH2 });
    expect(provider.credentials).toBeUndefined();
    expect(last()).toEqual(expect.objectContaining({ action: "validate_provider_credentials", data: { provider: "fixture", credentials: GOOD, credential_type: "oauth2" } }));
    answer();
    expect((await client.validateModelCredentials({ ...base, model: "x", modelType: ModelType.MULTIMODAL_RERANK })).result).toBe(false);
    expect(last().data).toEqual({ provider: "fixture", model: "x", model_type: "multimodal-rerank", credentials: GOOD });
  });

  it("invoke_agent_strategy: its three fields, type agent_strategy", async () => {
    answer({ type: "text", message: { text: "ok" }, meta: null });
    for await (const _ of client.invokeAgentStrategy({ tenantId: TENANT, pluginId: AGENT, agentStrategyProvider: "p", agentStrategy: "s" })) void _;
    expect(last()).toMatchObject({ type: "agent_strategy", action: "invoke_agent_strategy", data: { agent_strategy_provider: "p", agent_strategy: "s", agent_strategy_params: {} } });
  });
});
