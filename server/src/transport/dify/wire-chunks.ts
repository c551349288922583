import { toJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import type { I18nObject } from "../../../../gen/dify/plugin/v1/common_pb.js";
import type { OnlineDriveFileBucket } from "../../../../gen/dify/plugin/v1/datasource_pb.js";
import type {
  EmbeddingUsage,
  EmbeddingVector,
  LLMResultChunk,
  LLMUsage,
  ModelPollingResult,
  PromptMessage,
  RerankDocument,
} from "../../../../gen/dify/plugin/v1/model_pb.js";
import type { ToolInvokeMessage } from "../../../../gen/dify/plugin/v1/tool_pb.js";
import { CONTENT_TYPES, ROLES } from "../../services/invoke/llm-chunks.js";
import { POLLING_STATUSES } from "../../services/invoke/model-results.js";
import { LOG_STATUS } from "../../services/invoke/tool-messages.js";
import { wordsByValue } from "../../services/invoke/wire-words.js";
import { goDecimal, sortedDeep } from "./wire-json.js";
import { i18nJson } from "./wire-shapes.js";

/**
 * Dispatch chunks as the Go daemon re-encodes them for Dify (spec/dify-http-api.md §5): the proto answers of the
 * InvokeService back to Dify's chunk JSON, field order as Go's structs, `map[string]any` parts with sorted keys,
 * prices as decimal strings, `prompt_messages: []` added to every LLM chunk.
 */

type Obj = Record<string, unknown>;

const LOG_STATUS_WORDS = wordsByValue(LOG_STATUS);
const CONTENT_TYPE_WORDS = wordsByValue(CONTENT_TYPES);
const ROLE_WORDS = wordsByValue(ROLES);
const POLLING_STATUS_WORDS = wordsByValue(POLLING_STATUSES);
const nameOf = (words: Readonly<Record<number, string>>, value: number): string => words[value] ?? "";

const valueJson = (v: Value | undefined): JsonValue => (v ? toJson(ValueSchema, v) : null);
const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");


/** toolMessageParts: the Dify `type` and `message` of a tool message kind. */
function toolMessageParts(m: ToolInvokeMessage): [string, Obj] {
  const body = m.message;
  switch (body.case) {
    case "text":
      return ["text", { text: body.value.text }];
    case "json":
      return ["json", { json_object: valueJson(body.value.jsonObject) }];
    case "link":
      return ["link", { text: body.value.url }];
    case "image":
      return ["image", { text: body.value.url }];
    case "imageLink":
      return ["image_link", { text: body.value.url }];
    case "binaryLink":
      return ["binary_link", { text: body.value.url }];
    case "blob":
      return ["blob", { blob: base64(body.value.blob) }];
    case "blobChunk":
      return [
        "blob_chunk",
        { id: body.value.id, sequence: body.value.sequence, total_length: Number(body.value.totalLength), blob: base64(body.value.blob), end: body.value.end },
      ];
    case "file":
      return ["file", body.value.file ?? {}];
    case "variable":
      return ["variable", { variable_name: body.value.variableName, variable_value: valueJson(body.value.variableValue), stream: body.value.stream }];
    case "log":
      return [
        "log",
        {
          id: body.value.id,
          label: body.value.label,
          parent_id: body.value.parentId ?? null,
          error: body.value.error ?? null,
          status: nameOf(LOG_STATUS_WORDS, body.value.status),
          data: body.value.data ?? {},
          metadata: body.value.metadata ?? null,
        },
      ];
    case "retrieverResources":
      return ["retriever_resources", { retriever_resources: body.value.retrieverResources, context: body.value.context }];
    default:
      return ["text", { text: "" }];
  }
}

/** toolChunkJson: `{type, message, meta}` (tool, agent strategy and datasource content chunks). */
export function toolChunkJson(m: ToolInvokeMessage | undefined): Obj {
  if (!m) return { type: "text", message: { text: "" }, meta: null };
  const [type, message] = toolMessageParts(m);
  return { type, message: sortedDeep(message), meta: m.meta ? sortedDeep(m.meta) : null };
}

function promptMessageJson(m: PromptMessage | undefined): Obj {
  let content: unknown = null;
  if (m?.content.case === "text") content = m.content.value;
  else if (m?.content.case === "parts") {
    content = m.content.value.items.map((p) => {
      const part: Obj = {
        type: nameOf(CONTENT_TYPE_WORDS, p.type),
        base64_data: p.base64Data,
        url: p.url,
        data: p.data,
        encode_format: p.encodeFormat,
        format: p.format,
        mime_type: p.mimeType,
        detail: p.detail,
        filename: p.filename,
      };
      if (p.opaqueBody) part["opaque_body"] = valueJson(p.opaqueBody);
      return part;
    });
  }
  const out: Obj = {
    role: m ? nameOf(ROLE_WORDS, m.role) : "",
    content,
    name: m?.name ?? "",
    tool_calls: (m?.toolCalls ?? []).map((c) => ({ id: c.id, type: c.type, function: { name: c.function?.name ?? "", arguments: c.function?.arguments ?? "" } })),
    tool_call_id: m?.toolCallId ?? "",
  };
  if (m?.opaqueBody) out["opaque_body"] = valueJson(m.opaqueBody);
  return out;
}

function llmUsageJson(u: LLMUsage): Obj {
  return {
    prompt_tokens: u.promptTokens,
    prompt_unit_price: goDecimal(u.promptUnitPrice),
    prompt_price_unit: goDecimal(u.promptPriceUnit),
    prompt_price: goDecimal(u.promptPrice),
    completion_tokens: u.completionTokens,
    completion_unit_price: goDecimal(u.completionUnitPrice),
    completion_price_unit: goDecimal(u.completionPriceUnit),
    completion_price: goDecimal(u.completionPrice),
    total_tokens: u.totalTokens,
    total_price: goDecimal(u.totalPrice),
    currency: u.currency,
    latency: u.latency,
  };
}

/** llmChunkJson: an LLMResultChunk with `prompt_messages: []` after its own fields, as Go's MarshalJSON adds it. */
export function llmChunkJson(c: LLMResultChunk | undefined): Obj {
  return {
    model: c?.model ?? "",
    system_fingerprint: c?.systemFingerprint ?? "",
    delta: {
      index: c?.delta?.index ?? 0,
      message: promptMessageJson(c?.delta?.message),
      usage: c?.delta?.usage ? llmUsageJson(c.delta.usage) : null,
      finish_reason: c?.delta?.finishReason ?? null,
    },
    prompt_messages: [],
  };
}

/** embeddingJson: `{model, embeddings, usage}` of text and multimodal embedding. */
export function embeddingJson(r: { model: string; embeddings: EmbeddingVector[]; usage?: EmbeddingUsage | undefined }): Obj {
  const u = r.usage;
  return {
    model: r.model,
    embeddings: r.embeddings.map((v) => v.values),
    usage: {
      tokens: u?.tokens ?? 0,
      total_tokens: u?.totalTokens ?? 0,
      unit_price: goDecimal(u?.unitPrice ?? "0"),
      price_unit: goDecimal(u?.priceUnit ?? "0"),
      total_price: goDecimal(u?.totalPrice ?? "0"),
      currency: u?.currency ?? "",
      latency: u?.latency ?? 0,
    },
  };
}

/** rerankJson: `{model, docs: [{index, text, score}]}`. */
export function rerankJson(r: { model: string; docs: RerankDocument[] }): Obj {
  return { model: r.model, docs: r.docs.map((d) => ({ index: d.index, text: d.text, score: d.score })) };
}

/** ttsChunkJson: `{result: <hex audio>, mime_type?}`. */
export function ttsChunkJson(r: { audio: Uint8Array; mimeType: string }): Obj {
  return r.mimeType ? { result: hex(r.audio), mime_type: r.mimeType } : { result: hex(r.audio) };
}

/** optionJson: one dynamic select option `{value, label, icon?}`. */
export function optionJson(o: { value: string; label?: I18nObject | undefined; icon: string }): Obj {
  return o.icon ? { value: o.value, label: i18nJson(o.label), icon: o.icon } : { value: o.value, label: i18nJson(o.label) };
}

/** bucketJson: one online drive listing `{bucket?, files, is_truncated, next_page_parameters?}`. */
export function bucketJson(b: OnlineDriveFileBucket): Obj {
  return {
    bucket: b.bucket ?? null,
    files: b.files.map((f) => ({ id: f.id, name: f.name, size: Number(f.size), type: f.type })),
    is_truncated: b.isTruncated,
    next_page_parameters: b.nextPageParameters ? sortedDeep(b.nextPageParameters) : null,
  };
}

/** pollingJson: a ModelPollingResult, optional fields left out when unset. */
export function pollingJson(r: ModelPollingResult | undefined): Obj {
  const out: Obj = { status: r ? nameOf(POLLING_STATUS_WORDS, r.status) : "" };
  if (r?.pluginState) out["plugin_state"] = sortedDeep(r.pluginState);
  if (r?.result) out["result"] = valueJson(r.result);
  if (r?.error) out["error"] = r.error;
  if (r?.nextCheckAfterSeconds !== undefined) out["next_check_after_seconds"] = r.nextCheckAfterSeconds;
  if (r?.expiresAfterSeconds !== undefined) out["expires_after_seconds"] = r.expiresAfterSeconds;
  if (r?.maxAttempts !== undefined) out["max_attempts"] = r.maxAttempts;
  return out;
}
