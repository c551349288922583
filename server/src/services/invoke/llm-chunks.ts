import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  LLMResultChunkSchema,
  PromptMessageContentType,
  PromptMessageRole,
  type LLMResultChunk,
  type LLMUsageSchema,
  type PromptMessageContentSchema,
  type PromptMessageSchema,
  type PromptMessageToolCallSchema,
} from "../../../../gen/dify/plugin/v1/model_pb.js";
import { PluginFields } from "./model-fields.js";

/** Dify's role names (spec plugin-protocol §5.2); the Go daemon accepts exactly these four. */
export const ROLES: Readonly<Record<string, PromptMessageRole>> = {
  system: PromptMessageRole.SYSTEM,
  user: PromptMessageRole.USER,
  assistant: PromptMessageRole.ASSISTANT,
  tool: PromptMessageRole.TOOL,
};

/** Dify's content part types. */
export const CONTENT_TYPES: Readonly<Record<string, PromptMessageContentType>> = {
  text: PromptMessageContentType.TEXT,
  image: PromptMessageContentType.IMAGE,
  audio: PromptMessageContentType.AUDIO,
  video: PromptMessageContentType.VIDEO,
  document: PromptMessageContentType.DOCUMENT,
};

/**
 * llmChunkFromPlugin maps one LLMResultChunk as the plugin streams it (spec plugin-protocol §5.2) to the typed
 * chunk. It checks what the Go daemon checks: `model` (non-empty) and `delta` with `delta.index`, a message whose
 * `role` is system/user/assistant/tool and whose `content` is a string (`""` included) or an array of content parts;
 * a malformed chunk fails the call with an error naming the field. Prices stay decimal strings.
 */
export function llmChunkFromPlugin(raw: unknown): LLMResultChunk {
  const chunk = PluginFields.of("LLM result chunk", raw);
  const model = chunk.string("model", true);
  const delta = chunk.object("delta");
  const usage = delta.optObject("usage");
  return create(LLMResultChunkSchema, {
    model,
    systemFingerprint: chunk.optString("system_fingerprint"),
    delta: {
      index: delta.int("index"),
      message: promptMessageFromPlugin(delta.object("message")),
      usage: usage && llmUsageFromPlugin(usage),
      finishReason: delta.has("finish_reason") ? delta.string("finish_reason") : undefined,
    },
  });
}

function promptMessageFromPlugin(m: PluginFields): MessageInitShape<typeof PromptMessageSchema> {
  const roleName = m.string("role", true);
  const role = ROLES[roleName] ?? m.fail("role", `must be one of ${Object.keys(ROLES).join(", ")}, got ${JSON.stringify(roleName)}`);
  const content = m.raw["content"];
  if (content === undefined || content === null) m.fail("content", "is required");
  let body: MessageInitShape<typeof PromptMessageSchema>["content"];
  if (typeof content === "string") body = { case: "text", value: content };
  else if (Array.isArray(content)) body = { case: "parts", value: { items: m.objects("content").map(contentPartFromPlugin) } };
  else m.fail("content", `must be a string or an array of content parts, got ${typeof content}`);
  return {
    role,
    content: body,
    name: m.optString("name"),
    toolCalls: m.objects("tool_calls").map(toolCallFromPlugin),
    toolCallId: m.optString("tool_call_id"),
    opaqueBody: m.value("opaque_body"),
  };
}

function contentPartFromPlugin(p: PluginFields): MessageInitShape<typeof PromptMessageContentSchema> {
  const typeName = p.string("type", true);
  const type = CONTENT_TYPES[typeName] ?? p.fail("type", `must be one of ${Object.keys(CONTENT_TYPES).join(", ")}, got ${JSON.stringify(typeName)}`);
  return {
    type,
    base64Data: p.optString("base64_data"),
    url: p.optString("url"),
    data: p.optString("data"),
    encodeFormat: p.optString("encode_format"),
    format: p.optString("format"),
    mimeType: p.optString("mime_type"),
    detail: p.optString("detail"),
    filename: p.optString("filename"),
    opaqueBody: p.value("opaque_body"),
  };
}

function toolCallFromPlugin(c: PluginFields): MessageInitShape<typeof PromptMessageToolCallSchema> {
  const fn = c.optObject("function");
  return {
    id: c.optString("id"),
    type: c.optString("type"),
    function: fn && { name: fn.optString("name"), arguments: fn.optString("arguments") },
  };
}

function llmUsageFromPlugin(u: PluginFields): MessageInitShape<typeof LLMUsageSchema> {
  return {
    promptTokens: u.int("prompt_tokens"),
    promptUnitPrice: u.decimal("prompt_unit_price"),
    promptPriceUnit: u.decimal("prompt_price_unit"),
    promptPrice: u.decimal("prompt_price"),
    completionTokens: u.int("completion_tokens"),
    completionUnitPrice: u.decimal("completion_unit_price"),
    completionPriceUnit: u.decimal("completion_price_unit"),
    completionPrice: u.decimal("completion_price"),
    totalTokens: u.int("total_tokens"),
    totalPrice: u.decimal("total_price"),
    currency: u.string("currency"),
    latency: u.number("latency"),
  };
}
