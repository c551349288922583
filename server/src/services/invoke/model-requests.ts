import { toJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import type { CredentialType } from "../../../../gen/dify/plugin/v1/common_pb.js";
import {
  EmbeddingInputType,
  ModelType,
  MultimodalContentType,
  ToolChoiceMode,
  type MultimodalContent,
  type PromptMessage,
  type PromptMessageTool,
  type ToolChoice,
} from "../../../../gen/dify/plugin/v1/model_pb.js";
import { InvalidArgumentError } from "../../errors.js";
import { CONTENT_TYPES, ROLES } from "./llm-chunks.js";
import { CREDENTIAL_TYPES } from "./tool-rpcs.js";
import { wordsByValue } from "./wire-words.js";

/**
 * The request side of model actions: proto fields to the JSON the plugin's SDK reads (spec plugin-protocol §5,
 * dify-http-api §6.2), with Dify's snake_case names and wire strings.
 */

/** Dify's wire names of model types. */
export const MODEL_TYPES: Readonly<Record<number, string>> = {
  [ModelType.LLM]: "llm",
  [ModelType.TEXT_EMBEDDING]: "text-embedding",
  [ModelType.RERANK]: "rerank",
  [ModelType.SPEECH2TEXT]: "speech2text",
  [ModelType.MODERATION]: "moderation",
  [ModelType.TTS]: "tts",
  [ModelType.TEXT2IMG]: "text2img",
  [ModelType.MULTIMODAL_EMBEDDING]: "multimodal-embedding",
  [ModelType.MULTIMODAL_RERANK]: "multimodal-rerank",
};

const ROLE_NAMES = wordsByValue(ROLES);
const CONTENT_TYPE_NAMES = wordsByValue(CONTENT_TYPES);

const TOOL_CHOICE_MODES: Readonly<Record<number, string>> = {
  [ToolChoiceMode.AUTO]: "auto",
  [ToolChoiceMode.NONE]: "none",
  [ToolChoiceMode.REQUIRED]: "required",
  [ToolChoiceMode.TOOL]: "tool",
};

const INPUT_TYPES: Readonly<Record<number, string>> = {
  [EmbeddingInputType.DOCUMENT]: "document",
  [EmbeddingInputType.QUERY]: "query",
};

const MULTIMODAL_TYPES: Readonly<Record<number, string>> = {
  [MultimodalContentType.TEXT]: "text",
  [MultimodalContentType.IMAGE]: "image",
};

function named(names: Readonly<Record<number, string>>, value: number, field: string, fallback?: string): string {
  const name = names[value] ?? fallback;
  if (name === undefined) throw new InvalidArgumentError(`${field} is required (got ${value === 0 ? "unspecified" : `unknown value ${value}`})`);
  return name;
}

/** modelTypeName: the wire name of a model type; UNSPECIFIED is the fallback when one is given, else an error. */
export function modelTypeName(type: ModelType, fallback?: string): string {
  return named(MODEL_TYPES, type, "model_type", fallback);
}

export function inputTypeName(type: EmbeddingInputType): string {
  return named(INPUT_TYPES, type, "input_type");
}

interface ModelTarget {
  readonly provider: string;
  readonly model: string;
  readonly credentials?: JsonObject | undefined;
  readonly credentialType: CredentialType;
}

/** modelFields: provider, model, model_type, credentials and credential_type (only when set), checked. */
export function modelFields(req: ModelTarget, modelType: string): Record<string, unknown> {
  if (req.provider === "") throw new InvalidArgumentError("provider is required");
  if (req.model === "") throw new InvalidArgumentError("model is required");
  return { provider: req.provider, model: req.model, model_type: modelType, ...credentialFields(req) };
}

/** credentialFields: credentials ({} when unset) and credential_type when set, as the Go daemon omits it when empty. */
export function credentialFields(req: Pick<ModelTarget, "credentials" | "credentialType">): Record<string, unknown> {
  const credentialType = CREDENTIAL_TYPES[req.credentialType];
  return { credentials: req.credentials ?? {}, ...(credentialType ? { credential_type: credentialType } : {}) };
}

/**
 * promptMessagesJson encodes the prompt as the Go daemon re-encodes it: {role, content, name, tool_calls,
 * tool_call_id} (+ opaque_body when set); content is the string, the parts array, or null when neither is set.
 * tool_calls is [] rather than Go's null for none, which the SDK's list fields accept.
 */
export function promptMessagesJson(messages: readonly PromptMessage[], field = "prompt_messages"): JsonObject[] {
  return messages.map((m, i) => {
    const at = `${field}[${i}]`;
    const out: JsonObject = {
      role: named(ROLE_NAMES, m.role, `${at}.role`),
      content: contentJson(m, at),
      name: m.name,
      tool_calls: m.toolCalls.map((c) => ({
        id: c.id,
        type: c.type || "function",
        function: { name: c.function?.name ?? "", arguments: c.function?.arguments ?? "" },
      })),
      tool_call_id: m.toolCallId,
    };
    if (m.opaqueBody) out["opaque_body"] = toJson(ValueSchema, m.opaqueBody);
    return out;
  });
}

function contentJson(m: PromptMessage, at: string): JsonValue {
  switch (m.content.case) {
    case "text":
      return m.content.value;
    case "parts":
      return m.content.value.items.map((p, j) => {
        const part: JsonObject = {
          type: named(CONTENT_TYPE_NAMES, p.type, `${at}.content[${j}].type`),
          base64_data: p.base64Data,
          url: p.url,
          data: p.data,
          encode_format: p.encodeFormat,
          format: p.format,
          mime_type: p.mimeType,
          filename: p.filename,
        };
        // The SDK's image detail is an enum (low|high) defaulting to low: "" would fail its validation.
        if (p.detail !== "") part["detail"] = p.detail;
        if (p.opaqueBody) part["opaque_body"] = toJson(ValueSchema, p.opaqueBody);
        return part;
      });
    default:
      return null;
  }
}

/** toolsJson: {name, description, parameters} per tool; parameters {} when unset (the SDK requires a dict). */
export function toolsJson(tools: readonly PromptMessageTool[]): JsonObject[] {
  return tools.map((t, i) => {
    if (t.name === "") throw new InvalidArgumentError(`tools[${i}].name is required`);
    return { name: t.name, description: t.description, parameters: t.parameters ?? {} };
  });
}

/** toolChoiceJson: {mode, name?}, or undefined when unset; mode "tool" needs a name. */
export function toolChoiceJson(choice: ToolChoice | undefined): JsonObject | undefined {
  if (!choice) return undefined;
  const mode = named(TOOL_CHOICE_MODES, choice.mode, "tool_choice.mode");
  if (choice.mode === ToolChoiceMode.TOOL && choice.name.trim() === "") throw new InvalidArgumentError('tool_choice.name is required when tool_choice.mode is "tool"');
  return choice.name ? { mode, name: choice.name } : { mode };
}

/** multimodalJson: {content, content_type} of a multimodal document or query. */
export function multimodalJson(c: MultimodalContent, field: string): JsonObject {
  return { content: c.content, content_type: named(MULTIMODAL_TYPES, c.contentType, `${field}.content_type`) };
}
