import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  ModelPollingStatus,
  type EmbeddingUsageSchema,
  type ModelPollingResultSchema,
  type RerankDocumentSchema,
  type TtsVoiceSchema,
} from "../../../../gen/dify/plugin/v1/model_pb.js";
import { PluginFields } from "./model-fields.js";

/**
 * The answer side of the unary model actions: the plugin's result object (spec plugin-protocol §5,
 * dify-http-api §5) to the proto response fields, checked as the Go daemon's result structs check them.
 */

/** Dify's statuses of a long-running model task. */
export const POLLING_STATUSES: Readonly<Record<string, ModelPollingStatus>> = {
  running: ModelPollingStatus.RUNNING,
  succeeded: ModelPollingStatus.SUCCEEDED,
  failed: ModelPollingStatus.FAILED,
};

export interface EmbeddingResult {
  model: string;
  embeddings: { values: number[] }[];
  usage: MessageInitShape<typeof EmbeddingUsageSchema>;
}

/** embeddingResult: {model, embeddings: [[f…]], usage} of text and multimodal embedding. */
export function embeddingResult(raw: unknown): EmbeddingResult {
  const r = PluginFields.of("embedding result", raw);
  const model = r.string("model", true);
  const embeddings = r.array("embeddings", true).map((vector, i) => {
    if (!Array.isArray(vector)) return r.fail(`embeddings[${i}]`, "must be an array of numbers");
    return { values: vector.map((x, j) => r.numberValue(`embeddings[${i}][${j}]`, x)) };
  });
  const u = r.object("usage");
  return {
    model,
    embeddings,
    usage: {
      tokens: u.int("tokens"),
      totalTokens: u.int("total_tokens"),
      unitPrice: u.decimal("unit_price"),
      priceUnit: u.decimal("price_unit"),
      totalPrice: u.decimal("total_price"),
      currency: u.string("currency"),
      latency: u.number("latency"),
    },
  };
}

/** rerankResult: {model, docs: [{index, text, score}]}, order kept (best first, as the plugin sorted them). */
export function rerankResult(raw: unknown): { model: string; docs: MessageInitShape<typeof RerankDocumentSchema>[] } {
  const r = PluginFields.of("rerank result", raw);
  const model = r.string("model", true);
  const docs = r.objects("docs", true).map((d) => ({ index: d.int("index"), text: d.string("text"), score: d.number("score") }));
  return { model, docs };
}

/** textEmbeddingNumTokens: {num_tokens: [n…]}. */
export function textEmbeddingNumTokens(raw: unknown): number[] {
  const r = PluginFields.of("text embedding token count", raw);
  return r.array("num_tokens", true).map((n, i) => r.intValue(`num_tokens[${i}]`, n));
}

/** ttsVoices: {voices: [{name, value}]}. */
export function ttsVoices(raw: unknown): MessageInitShape<typeof TtsVoiceSchema>[] {
  const r = PluginFields.of("TTS voice list", raw);
  return r.objects("voices", true).map((v) => ({ name: v.string("name", true), value: v.string("value", true) }));
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** ttsChunk: {result: "<hex audio>", mime_type?} to bytes. */
export function ttsChunk(raw: unknown): { audio: Uint8Array; mimeType: string } {
  const r = PluginFields.of("TTS chunk", raw);
  const hex = r.string("result");
  if (!HEX.test(hex)) r.fail("result", "must be hex-encoded audio");
  return { audio: Buffer.from(hex, "hex"), mimeType: r.optString("mime_type") };
}

/** pollingResult: a ModelPollingResult; running needs plugin_state, succeeded a result, failed an error. */
export function pollingResult(raw: unknown): MessageInitShape<typeof ModelPollingResultSchema> {
  const r = PluginFields.of("model polling result", raw);
  const statusName = r.string("status", true);
  const status = POLLING_STATUSES[statusName] ?? r.fail("status", `must be one of running, succeeded, failed, got ${JSON.stringify(statusName)}`);
  const pluginState = r.json("plugin_state");
  const result = r.value("result");
  const error = r.optString("error");
  if (status === ModelPollingStatus.RUNNING && Object.keys(pluginState ?? {}).length === 0) r.fail("plugin_state", "is required when status is running");
  if (status === ModelPollingStatus.SUCCEEDED && !result) r.fail("result", "is required when status is succeeded");
  if (status === ModelPollingStatus.FAILED && error.trim() === "") r.fail("error", "is required when status is failed");
  return {
    status,
    pluginState,
    result,
    error,
    nextCheckAfterSeconds: r.optInt("next_check_after_seconds"),
    expiresAfterSeconds: r.optInt("expires_after_seconds"),
    maxAttempts: r.optInt("max_attempts"),
  };
}

/** credentialsResult: {result, credentials?} of provider and model credential validation. */
export function credentialsResult(raw: unknown): { result: boolean; credentials: ReturnType<PluginFields["json"]> } {
  const r = PluginFields.of("credential validation result", raw);
  return { result: r.bool("result"), credentials: r.json("credentials") };
}

/** optionalLastChunk: the last chunk of a unary action, or undefined when the plugin sent none. */
export async function optionalLastChunk(chunks: AsyncIterable<unknown>): Promise<unknown> {
  let last: unknown;
  for await (const chunk of chunks) last = chunk;
  return last;
}
