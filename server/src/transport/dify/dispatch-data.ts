import { fromJson, type JsonObject, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import { CredentialType } from "../../../../gen/dify/plugin/v1/common_pb.js";
import {
  EmbeddingInputType,
  ModelType,
  MultimodalContentType,
  ToolChoiceMode,
  type MultimodalContentSchema,
  type PromptMessageContentSchema,
  type PromptMessageSchema,
  type PromptMessageToolSchema,
  type ToolChoiceSchema,
} from "../../../../gen/dify/plugin/v1/model_pb.js";
import { CONTENT_TYPES, ROLES } from "../../services/invoke/llm-chunks.js";
import { MODEL_TYPES } from "../../services/invoke/model-requests.js";
import { CREDENTIAL_TYPES } from "../../services/invoke/tool-rpcs.js";
import { BindError } from "./binding.js";

/**
 * DispatchData reads the `data` object of a dispatch body (spec/dify-http-api.md §2.5, §6.1) into proto request
 * fields, checking what the Go daemon's request structs validate (`required`, `eq=llm`, roles, content); a
 * violation is a binding error (HTTP 400). Absent optional fields keep the proto defaults.
 */

const inverse = <T extends number>(names: Readonly<Record<number, string>>): Readonly<Record<string, T>> =>
  Object.fromEntries(Object.entries(names).map(([value, name]) => [name, Number(value) as T]));

const MODEL_TYPE_VALUES = inverse<ModelType>(MODEL_TYPES);
const CREDENTIAL_TYPE_VALUES = inverse<CredentialType>(CREDENTIAL_TYPES);
const INPUT_TYPES: Readonly<Record<string, EmbeddingInputType>> = { document: EmbeddingInputType.DOCUMENT, query: EmbeddingInputType.QUERY };
const MULTIMODAL_TYPES: Readonly<Record<string, MultimodalContentType>> = { text: MultimodalContentType.TEXT, image: MultimodalContentType.IMAGE };
const TOOL_CHOICE_MODES: Readonly<Record<string, ToolChoiceMode>> = {
  auto: ToolChoiceMode.AUTO,
  none: ToolChoiceMode.NONE,
  required: ToolChoiceMode.REQUIRED,
  tool: ToolChoiceMode.TOOL,
};
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const absent = (v: unknown): boolean => v === undefined || v === null;

export class DispatchData {
  constructor(
    private readonly raw: Readonly<Record<string, unknown>>,
    private readonly path = "Data",
  ) {}

  private fail(key: string, tag: string): never {
    throw BindError.field(`${this.path}.${key}`, tag);
  }

  /** str: a string field ("" when absent); a non-string is a binding error. */
  str(key: string): string {
    const v = this.raw[key];
    if (absent(v)) return "";
    if (typeof v !== "string") this.fail(key, "string");
    return v;
  }

  /** req: a required string (present and not empty). */
  req(key: string): string {
    const v = this.str(key);
    if (v === "") this.fail(key, "required");
    return v;
  }

  /** obj: an object field (a proto Struct), undefined when absent. */
  obj(key: string): JsonObject | undefined {
    const v = this.raw[key];
    if (absent(v)) return undefined;
    if (!isObject(v)) this.fail(key, "map");
    return v as JsonObject;
  }

  /** reqObj: a required object; Go's `required` on a map refuses a nil map, not an empty one. */
  reqObj(key: string): JsonObject {
    return this.obj(key) ?? this.fail(key, "required");
  }

  /** nonEmptyObj: a required object with at least one key (`required,min=1`). */
  nonEmptyObj(key: string): JsonObject {
    const v = this.reqObj(key);
    if (Object.keys(v).length === 0) this.fail(key, "min");
    return v;
  }

  bool(key: string): boolean {
    const v = this.raw[key];
    if (absent(v)) return false;
    if (typeof v !== "boolean") this.fail(key, "bool");
    return v;
  }

  /** optNumber: a number, undefined when absent or null (Dify sends null score_threshold / top_n). */
  optNumber(key: string): number | undefined {
    const v = this.raw[key];
    if (absent(v)) return undefined;
    if (typeof v !== "number") this.fail(key, "number");
    return v;
  }

  /** strings: an array of strings; absent is [] unless required. */
  strings(key: string, required = false): string[] {
    const v = this.raw[key];
    if (absent(v)) return required ? this.fail(key, "required") : [];
    if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) this.fail(key, "dive");
    return v as string[];
  }

  /** hex: a required hex string (audio, raw HTTP requests) as bytes. */
  hex(key: string): Uint8Array {
    const v = this.req(key);
    if (!HEX.test(v)) this.fail(key, "hexadecimal");
    return Buffer.from(v, "hex");
  }

  child(key: string, required: boolean): DispatchData | undefined {
    const v = this.raw[key];
    if (absent(v)) return required ? this.fail(key, "required") : undefined;
    if (!isObject(v)) this.fail(key, "struct");
    return new DispatchData(v, `${this.path}.${key}`);
  }

  /** credentialType: Dify's credential type word; one the contract does not know is left unspecified (omitted). */
  credentialType(): CredentialType {
    return CREDENTIAL_TYPE_VALUES[this.str("credential_type")] ?? CredentialType.UNSPECIFIED;
  }

  /** modelType: a required, known model type; `eq` pins it for the routes that serve one type. */
  modelType(eq?: string): ModelType {
    const name = this.req("model_type");
    const type = MODEL_TYPE_VALUES[name];
    if (type === undefined) this.fail("model_type", "model_type");
    if (eq !== undefined && name !== eq) this.fail("model_type", "eq");
    return type;
  }

  inputType(oneOf = false): EmbeddingInputType {
    const name = this.req("input_type");
    const type = INPUT_TYPES[name];
    // Text embedding passes any non-empty input type to the plugin in Go; the contract knows two.
    if (type === undefined) this.fail("input_type", oneOf ? "oneof" : "input_type");
    return type;
  }

  /** credentials: the common `credentials` + `credential_type` pair. */
  credentials(): { credentials: JsonObject | undefined; credentialType: CredentialType } {
    return { credentials: this.obj("credentials"), credentialType: this.credentialType() };
  }

  /** value: any JSON as a google.protobuf.Value, undefined when absent. */
  value(key: string): Value | undefined {
    const v = this.raw[key];
    return absent(v) ? undefined : fromJson(ValueSchema, v as JsonValue);
  }

  promptMessages(key: string): MessageInitShape<typeof PromptMessageSchema>[] {
    return this.children(key).map((m) => m.promptMessage());
  }

  private children(key: string): DispatchData[] {
    const v = this.raw[key];
    if (absent(v)) return [];
    if (!Array.isArray(v)) this.fail(key, "dive");
    return v.map((item, i) => {
      if (!isObject(item)) this.fail(`${key}[${i}]`, "struct");
      return new DispatchData(item, `${this.path}.${key}[${i}]`);
    });
  }

  private promptMessage(): MessageInitShape<typeof PromptMessageSchema> {
    const role = ROLES[this.str("role")];
    if (role === undefined) this.fail("role", "prompt_message_role");
    const content = this.raw["content"];
    let body: MessageInitShape<typeof PromptMessageSchema>["content"];
    if (typeof content === "string") body = { case: "text", value: content };
    else if (Array.isArray(content)) body = { case: "parts", value: { items: this.children("content").map((p) => p.contentPart()) } };
    else this.fail("content", "prompt_message_content");
    return {
      role,
      content: body,
      name: this.str("name"),
      toolCalls: this.children("tool_calls").map((c) => {
        const fn = c.child("function", false);
        return { id: c.str("id"), type: c.str("type"), function: { name: fn?.str("name") ?? "", arguments: fn?.str("arguments") ?? "" } };
      }),
      toolCallId: this.str("tool_call_id"),
      opaqueBody: this.value("opaque_body"),
    };
  }

  private contentPart(): MessageInitShape<typeof PromptMessageContentSchema> {
    const type = CONTENT_TYPES[this.str("type")];
    if (type === undefined) this.fail("type", "prompt_message_content_type");
    return {
      type,
      base64Data: this.str("base64_data"),
      url: this.str("url"),
      data: this.str("data"),
      encodeFormat: this.str("encode_format"),
      format: this.str("format"),
      mimeType: this.str("mime_type"),
      detail: this.str("detail"),
      filename: this.str("filename"),
      opaqueBody: this.value("opaque_body"),
    };
  }

  tools(key: string): MessageInitShape<typeof PromptMessageToolSchema>[] {
    return this.children(key).map((t) => ({ name: t.req("name"), description: t.str("description"), parameters: t.obj("parameters") }));
  }

  toolChoice(key: string): MessageInitShape<typeof ToolChoiceSchema> | undefined {
    const c = this.child(key, false);
    if (!c) return undefined;
    const mode = TOOL_CHOICE_MODES[c.req("mode")];
    if (mode === undefined) c.fail("mode", "oneof");
    if (mode === ToolChoiceMode.TOOL && c.str("name") === "") c.fail("name", "required");
    return { mode, name: c.str("name") };
  }

  multimodal(key: string): MessageInitShape<typeof MultimodalContentSchema> {
    return (this.child(key, true) as DispatchData).multimodalContent();
  }

  multimodalList(key: string): MessageInitShape<typeof MultimodalContentSchema>[] {
    if (absent(this.raw[key])) this.fail(key, "required");
    return this.children(key).map((c) => c.multimodalContent());
  }

  private multimodalContent(): MessageInitShape<typeof MultimodalContentSchema> {
    const contentType = MULTIMODAL_TYPES[this.req("content_type")];
    if (contentType === undefined) this.fail("content_type", "oneof");
    return { content: this.str("content"), contentType };
  }
}
