import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { RuntimeType, VerificationCategory } from "../../gen/dify/plugin/v1/common_pb.js";
import { InstallationSchema, InstallTaskSchema, InstallTaskStatus, ProviderInstallationSchema } from "../../gen/dify/plugin/v1/install_pb.js";
import { LLMResultChunkSchema, PromptMessageRole } from "../../gen/dify/plugin/v1/model_pb.js";
import { ToolInvokeLogStatus, ToolInvokeMessageSchema } from "../../gen/dify/plugin/v1/tool_pb.js";
import { DeadlineExceededError, InvalidArgumentError, InvalidPackageError, NotFoundError, RuntimeUnavailableError, SignatureError } from "../src/errors.js";
import { PluginInvokeError } from "../src/runtimes/runtime.js";
import { declarationFromJson } from "../src/services/declaration-json.js";
import { errorEnvelope, successEnvelope, UNKNOWN_ROUTE_BODY } from "../src/transport/dify/envelope.js";
import { difyErrorOf, failureOf, streamErrorOf } from "../src/transport/dify/error-table.js";
import { boundaryOf, MultipartError, parseMultipart } from "../src/transport/dify/multipart.js";
import { llmChunkJson, toolChunkJson } from "../src/transport/dify/wire-chunks.js";
import { goDecimal, goJson, goTime, sortedDeep } from "../src/transport/dify/wire-json.js";
import { declarationJson, installationViewJson, installTaskJson, providerRowJson, verificationJson } from "../src/transport/dify/wire-shapes.js";
import { sampleDeclaration } from "./seed.js";

const logger = pino({ level: "silent" });

describe("Go's JSON spelling", () => {
  it("escapes <, >, & and the JS line separators as encoding/json does", () => {
    expect(goJson({ a: "<b>&\u2028\u2029", n: 1 })).toBe('{"a":"\\u003cb\\u003e\\u0026\\u2028\\u2029","n":1}');
  });

  it("sorts map keys at every depth, leaving arrays in order", () => {
    expect(JSON.stringify(sortedDeep({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } }))).toBe('{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}');
  });

  it("writes decimals as Go's decimal.Decimal does", () => {
    expect(goDecimal("0.0025000")).toBe("0.0025");
    expect(goDecimal("0.0")).toBe("0");
    expect(goDecimal("1E-7")).toBe("0.0000001");
    expect(goDecimal("1.5e3")).toBe("1500");
    expect(goDecimal("-0.00")).toBe("0");
    expect(goDecimal("007.10")).toBe("7.1");
    expect(goDecimal("12")).toBe("12");
    expect(goDecimal("-2.50")).toBe("-2.5");
    expect(goDecimal("abc")).toBe("abc");
  });

  it("writes times as RFC 3339 with trimmed fractional seconds, and Go's zero time when unset", () => {
    expect(goTime(timestampFromDate(new Date("2026-08-01T10:00:00.120Z")))).toBe("2026-08-01T10:00:00.12Z");
    expect(goTime(timestampFromDate(new Date("2026-08-01T10:00:00Z")))).toBe("2026-08-01T10:00:00Z");
    expect(goTime(undefined)).toBe("0001-01-01T00:00:00Z");
  });
});

describe("envelope", () => {
  it("writes success and error envelopes byte for byte, the error message JSON inside the string", () => {
    expect(successEnvelope(true)).toBe('{"code":0,"message":"success","data":true}');
    expect(errorEnvelope({ code: -404, errorType: "PluginNotFoundError", message: "plugin not found" })).toBe(
      '{"code":-404,"message":"{\\"message\\":\\"plugin not found\\",\\"error_type\\":\\"PluginNotFoundError\\",\\"args\\":null}","data":null}',
    );
    expect(UNKNOWN_ROUTE_BODY).toBe('{"code":"not_found","message":"route not found"}');
  });
});

describe("error table", () => {
  const map = (err: unknown) => difyErrorOf(failureOf(err, logger, "test"));

  it("maps domain errors through their Connect code to Dify's code and error type", () => {
    expect(map(new InvalidArgumentError("bad page"))).toEqual({ code: -400, errorType: "PluginDaemonBadRequestError", message: "bad page" });
    expect(map(new NotFoundError("no such task"))).toEqual({ code: -404, errorType: "PluginDaemonNotFoundError", message: "no such task" });
    expect(map(new SignatureError("unsigned"))).toEqual({ code: -403, errorType: "PluginPermissionDeniedError", message: "unsigned" });
    expect(map(new RuntimeUnavailableError("down"))).toEqual({ code: -500, errorType: "PluginDaemonInternalServerError", message: "down" });
    expect(map(new ConnectError("later", Code.Unimplemented))).toEqual({ code: -500, errorType: "PluginDaemonInternalServerError", message: "later" });
    // Unexpected errors leak nothing.
    expect(map(new Error("password=hunter2"))).toEqual({ code: -500, errorType: "PluginDaemonInternalServerError", message: "internal error" });
  });

  it("wraps a plugin's error twice in a stream, as Dify parses it", () => {
    const error = streamErrorOf(failureOf(new PluginInvokeError("InvokeRateLimitError", "slow down", { description: "x", a: 1 }), logger, "test"));
    expect(errorEnvelope(error)).toBe(
      '{"code":-500,"message":"{\\"message\\":\\"{\\\\\\"args\\\\\\":{\\\\\\"a\\\\\\":1,\\\\\\"description\\\\\\":\\\\\\"x\\\\\\"},\\\\\\"error_type\\\\\\":\\\\\\"InvokeRateLimitError\\\\\\",\\\\\\"message\\\\\\":\\\\\\"slow down\\\\\\"}\\",\\"error_type\\":\\"PluginInvokeError\\",\\"args\\":null}","data":null}',
    );
    const outer = JSON.parse(JSON.parse(errorEnvelope(error)).message);
    expect(outer.error_type).toBe("PluginInvokeError");
    expect(JSON.parse(outer.message)).toEqual({ args: { a: 1, description: "x" }, error_type: "InvokeRateLimitError", message: "slow down" });
  });

  it("reports a malformed chunk as unmarshal_error and a timeout as killed by timeout", () => {
    const malformed = streamErrorOf(failureOf(new InvalidPackageError("delta.index is required"), logger, "test"));
    expect(malformed.errorType).toBe("PluginInvokeError");
    expect(JSON.parse(malformed.message)).toEqual({ error_type: "unmarshal_error", message: "unmarshal json failed: delta.index is required" });
    expect(streamErrorOf(failureOf(new DeadlineExceededError("600 s"), logger, "test"))).toEqual({
      code: -500,
      errorType: "PluginDaemonInternalServerError",
      message: "killed by timeout",
    });
  });
});

describe("multipart", () => {
  // What httpx writes for files={"dify_pkg": ("dify_pkg", pkg, "application/octet-stream")}, data={"verify_signature": "false"}.
  const boundary = "3f1c2b9a8e7d6c5b4a3f2e1d0c9b8a7f";
  const pkg = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x0d, 0x0a, 0x2d, 0x2d, 0x00, 0xff]);
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="verify_signature"\r\n\r\nfalse\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="dify_pkg"; filename="dify_pkg"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    pkg,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);

  it("reads httpx's form fields and file, bytes intact", () => {
    expect(boundaryOf(`multipart/form-data; boundary=${boundary}`)).toBe(boundary);
    expect(boundaryOf(`multipart/form-data; boundary="${boundary}"`)).toBe(boundary);
    expect(boundaryOf("application/json")).toBeUndefined();
    const parts = parseMultipart(body, boundary);
    expect(parts.map((p) => [p.name, p.filename, p.contentType])).toEqual([
      ["verify_signature", undefined, undefined],
      ["dify_pkg", "dify_pkg", "application/octet-stream"],
    ]);
    expect(parts[0]!.data.toString()).toBe("false");
    expect(parts[1]!.data.equals(pkg)).toBe(true);
  });

  it("skips a preamble and refuses a body cut short", () => {
    expect(parseMultipart(Buffer.concat([Buffer.from("preamble\r\n"), body]), boundary)).toHaveLength(2);
    expect(() => parseMultipart(body.subarray(0, body.length - 12), boundary)).toThrow(MultipartError);
    expect(() => parseMultipart(Buffer.from("no boundary here"), boundary)).toThrow(MultipartError);
  });
});

describe("management shapes", () => {
  const declaration = declarationFromJson(sampleDeclaration("search") as never);

  it("renders a declaration as Dify's manifest JSON, in Go's field order", () => {
    const json = declarationJson(declaration)!;
    expect(Object.keys(json)).toEqual([
      "version", "type", "author", "name", "label", "description", "icon", "icon_dark", "resource", "plugins", "meta", "tags", "created_at", "verified", "tool",
    ]);
    expect(json).toMatchObject({
      version: "0.0.1",
      type: "plugin",
      author: "langgenius",
      label: { en_US: "search label", zh_Hans: "search 标签" },
      description: { en_US: "search description" },
      icon_dark: "",
      resource: { memory: 268435456, permission: { tool: { enabled: true }, storage: { enabled: true, size: 1048576 } } },
      plugins: { tools: ["provider/search.yaml"], models: [], endpoints: [], agent_strategies: [], datasources: [], triggers: [] },
      meta: { version: "0.0.1", arch: ["amd64", "arm64"], runner: { language: "python", version: "3.12", entrypoint: "main" }, minimum_dify_version: null },
      tags: ["search", "utilities"],
      created_at: "2025-01-02T03:04:05Z",
      verified: false,
      tool: { identity: { name: "search", author: "langgenius" } },
    });
    expect(Object.keys(json["label"] as object)).toEqual(["en_US", "zh_Hans"]);
    expect(json).not.toHaveProperty("category");
  });

  it("renders verification, installations, tasks and provider rows with Dify's words", () => {
    expect(verificationJson(VerificationCategory.NONE)).toBeNull();
    expect(verificationJson(VerificationCategory.PARTNER)).toEqual({ authorized_category: "partner" });
    const at = timestampFromDate(new Date("2026-01-02T03:04:05Z"));
    const view = installationViewJson(
      create(InstallationSchema, {
        id: "i-1",
        tenantId: "t-1",
        pluginId: "langgenius/search",
        pluginUniqueIdentifier: "langgenius/search:0.0.1@abc",
        version: "0.0.1",
        runtimeType: RuntimeType.DEBUG,
        createdAt: at,
        updatedAt: at,
        declaration,
        source: "marketplace",
        meta: { z: 1, a: 2 },
        name: "search",
        checksum: "abc",
      }),
    );
    expect(Object.keys(view)).toEqual([
      "id", "name", "plugin_id", "tenant_id", "plugin_unique_identifier", "endpoints_active", "endpoints_setups", "installation_id",
      "declaration", "runtime_type", "version", "created_at", "updated_at", "source", "checksum", "meta",
    ]);
    expect(view).toMatchObject({ installation_id: "i-1", runtime_type: "remote", created_at: "2026-01-02T03:04:05Z" });
    expect(Object.keys(view["meta"] as object)).toEqual(["a", "z"]);

    const task = installTaskJson(
      create(InstallTaskSchema, {
        id: "task-1",
        tenantId: "t-1",
        status: InstallTaskStatus.RUNNING,
        totalPlugins: 1,
        plugins: [{ pluginUniqueIdentifier: "x", pluginId: "a/b", status: InstallTaskStatus.PENDING, labels: { enUs: "B" }, icon: "i.svg" }],
      }),
    );
    expect(task).toEqual({
      id: "task-1",
      created_at: "0001-01-01T00:00:00Z",
      updated_at: "0001-01-01T00:00:00Z",
      status: "running",
      tenant_id: "t-1",
      total_plugins: 1,
      completed_plugins: 0,
      plugins: [{ plugin_unique_identifier: "x", labels: { en_US: "B" }, icon: "i.svg", icon_dark: "", plugin_id: "a/b", status: "pending", message: "", source: "" }],
    });

    const row = create(ProviderInstallationSchema, { id: "p", tenantId: "t", pluginId: "a/b", provider: "x", declaration: { k: 1 } });
    expect(Object.keys(providerRowJson(row, "model"))).toEqual(["id", "created_at", "updated_at", "provider", "tenant_id", "plugin_unique_identifier", "plugin_id", "declaration"]);
    expect(Object.keys(providerRowJson(row, "tool"))).toEqual(["id", "created_at", "updated_at", "tenant_id", "provider", "plugin_unique_identifier", "plugin_id", "declaration"]);
    expect(providerRowJson(row, "agent_strategy")["meta"]).toEqual({ version: "", arch: [], runner: { language: "", version: "", entrypoint: "" }, minimum_dify_version: null });
  });
});

describe("dispatch chunks", () => {
  it("renders every tool message kind as {type, message, meta}, message keys sorted as a Go map", () => {
    const chunk = (message: Parameters<typeof create<typeof ToolInvokeMessageSchema>>[1]) => toolChunkJson(create(ToolInvokeMessageSchema, message));
    expect(chunk({ message: { case: "text", value: { text: "hi" } } })).toEqual({ type: "text", message: { text: "hi" }, meta: null });
    expect(chunk({ message: { case: "imageLink", value: { url: "u" } }, meta: { b: 1, a: 2 } })).toEqual({ type: "image_link", message: { text: "u" }, meta: { a: 2, b: 1 } });
    expect(
      chunk({ message: { case: "blobChunk", value: { id: "f", sequence: 1, totalLength: 10n, blob: Buffer.from("abc"), end: false } } }).message,
    ).toEqual({ blob: "YWJj", end: false, id: "f", sequence: 1, total_length: 10 });
    expect(
      Object.keys(chunk({ message: { case: "log", value: { id: "l", label: "L", status: ToolInvokeLogStatus.SUCCESS, data: { q: 1 } } } }).message as object),
    ).toEqual(["data", "error", "id", "label", "metadata", "parent_id", "status"]);
  });

  it("renders an LLM chunk with prices as Go decimals and prompt_messages: [] last", () => {
    const json = llmChunkJson(
      create(LLMResultChunkSchema, {
        model: "m",
        delta: {
          index: 2,
          message: { role: PromptMessageRole.ASSISTANT, content: { case: "text", value: " world" } },
          usage: { promptTokens: 3, promptUnitPrice: "0.5", promptPriceUnit: "0.001", promptPrice: "0.0015000", totalPrice: "0.0060000", currency: "USD", latency: 0.1 },
          finishReason: "stop",
        },
      }),
    );
    expect(Object.keys(json)).toEqual(["model", "system_fingerprint", "delta", "prompt_messages"]);
    expect(json).toMatchObject({
      model: "m",
      system_fingerprint: "",
      prompt_messages: [],
      delta: {
        index: 2,
        message: { role: "assistant", content: " world", name: "", tool_calls: [], tool_call_id: "" },
        usage: { prompt_tokens: 3, prompt_unit_price: "0.5", prompt_price: "0.0015", total_price: "0.006", completion_price: "0", currency: "USD" },
        finish_reason: "stop",
      },
    });
  });
});
