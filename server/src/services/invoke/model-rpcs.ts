import type { ServiceImpl } from "@connectrpc/connect";
import type { InvokeLLMRequest, InvokeService, StartModelPollingRequest } from "../../../../gen/dify/plugin/v1/invoke_service_pb.js";
import { InvalidArgumentError } from "../../errors.js";
import { lastChunk, type ActionRequest, type Dispatch } from "./dispatch.js";
import { llmChunkFromPlugin } from "./llm-chunks.js";
import { PluginFields } from "./model-fields.js";
import {
  credentialFields,
  inputTypeName,
  modelFields,
  modelTypeName,
  multimodalJson,
  promptMessagesJson,
  toolChoiceJson,
  toolsJson,
} from "./model-requests.js";
import {
  credentialsResult,
  embeddingResult,
  optionalLastChunk,
  pollingResult,
  rerankResult,
  textEmbeddingNumTokens,
  ttsChunk,
  ttsVoices,
} from "./model-results.js";

type ModelRpcs = Pick<
  ServiceImpl<typeof InvokeService>,
  | "invokeLLM"
  | "getLLMNumTokens"
  | "invokeTextEmbedding"
  | "getTextEmbeddingNumTokens"
  | "invokeMultimodalEmbedding"
  | "invokeRerank"
  | "invokeMultimodalRerank"
  | "invokeTTS"
  | "getTTSModelVoices"
  | "invokeSpeech2Text"
  | "invokeModeration"
  | "validateProviderCredentials"
  | "validateModelCredentials"
  | "getModelSchema"
  | "startModelPolling"
  | "checkModelPolling"
>;

const model = (action: string, data: Record<string, unknown>): ActionRequest => ({ type: "model", action, data });

/** llmFields: what invoke_llm and start_polling send (tool_choice only when set, json_schema null when unset). */
function llmFields(req: InvokeLLMRequest | StartModelPollingRequest): Record<string, unknown> {
  const data: Record<string, unknown> = {
    ...modelFields(req, "llm"),
    model_parameters: req.modelParameters ?? {},
    prompt_messages: promptMessagesJson(req.promptMessages),
    tools: toolsJson(req.tools),
    stop: req.stop,
    json_schema: req.jsonSchema ?? null,
    stream: req.stream,
  };
  const toolChoice = toolChoiceJson(req.toolChoice);
  if (toolChoice) data["tool_choice"] = toolChoice;
  return data;
}

/**
 * modelRpcs: the `model` actions (spec plugin-protocol §5). Requests carry Dify's field names and model_type
 * strings; results are checked field by field (a malformed one fails the call naming the field) and typed.
 * Unary actions answer from the plugin's last chunk (plugins send one).
 */
export function modelRpcs(dispatch: Dispatch): ModelRpcs {
  return {
    async *invokeLLM(req, ctx) {
      for await (const chunk of dispatch(req, model("invoke_llm", llmFields(req)), ctx.signal)) {
        yield { chunk: llmChunkFromPlugin(chunk) };
      }
    },

    async getLLMNumTokens(req, ctx) {
      const data = { ...modelFields(req, "llm"), prompt_messages: promptMessagesJson(req.promptMessages), tools: toolsJson(req.tools) };
      const result = await optionalLastChunk(dispatch(req, model("get_llm_num_tokens", data), ctx.signal));
      // No answer counts 0, as Dify reads it.
      if (result === undefined) return { numTokens: 0 };
      const r = PluginFields.of("LLM token count", result);
      return { numTokens: r.optInt("num_tokens") ?? 0 };
    },

    async invokeTextEmbedding(req, ctx) {
      const data = { ...modelFields(req, "text-embedding"), texts: req.texts, input_type: inputTypeName(req.inputType) };
      return embeddingResult(await lastChunk(dispatch(req, model("invoke_text_embedding", data), ctx.signal), "text embedding"));
    },

    async getTextEmbeddingNumTokens(req, ctx) {
      const data = { ...modelFields(req, "text-embedding"), texts: req.texts };
      const result = await lastChunk(dispatch(req, model("get_text_embedding_num_tokens", data), ctx.signal), "text embedding token count");
      return { numTokens: textEmbeddingNumTokens(result) };
    },

    async invokeMultimodalEmbedding(req, ctx) {
      const data = {
        ...modelFields(req, modelTypeName(req.modelType, "text-embedding")),
        documents: req.documents.map((d, i) => multimodalJson(d, `documents[${i}]`)),
        input_type: inputTypeName(req.inputType),
      };
      return embeddingResult(await lastChunk(dispatch(req, model("invoke_multimodal_embedding", data), ctx.signal), "multimodal embedding"));
    },

    async invokeRerank(req, ctx) {
      // Unset threshold and top_n are sent as 0, as the Go daemon sends Dify's nulls.
      const data = { ...modelFields(req, "rerank"), query: req.query, docs: req.docs, score_threshold: req.scoreThreshold ?? 0, top_n: req.topN ?? 0 };
      return rerankResult(await lastChunk(dispatch(req, model("invoke_rerank", data), ctx.signal), "rerank"));
    },

    async invokeMultimodalRerank(req, ctx) {
      if (!req.query) throw new InvalidArgumentError("query is required");
      const data = {
        ...modelFields(req, modelTypeName(req.modelType, "rerank")),
        query: multimodalJson(req.query, "query"),
        docs: req.docs.map((d, i) => multimodalJson(d, `docs[${i}]`)),
        score_threshold: req.scoreThreshold ?? 0,
        top_n: req.topN ?? 0,
      };
      return rerankResult(await lastChunk(dispatch(req, model("invoke_multimodal_rerank", data), ctx.signal), "multimodal rerank"));
    },

    async *invokeTTS(req, ctx) {
      const data = { ...modelFields(req, "tts"), content_text: req.contentText, voice: req.voice, tenant_id: req.tenantId };
      for await (const chunk of dispatch(req, model("invoke_tts", data), ctx.signal)) yield ttsChunk(chunk);
    },

    async getTTSModelVoices(req, ctx) {
      const data = { ...modelFields(req, "tts"), language: req.language };
      return { voices: ttsVoices(await lastChunk(dispatch(req, model("get_tts_model_voices", data), ctx.signal), "the TTS voice list")) };
    },

    async invokeSpeech2Text(req, ctx) {
      if (req.file.length === 0) throw new InvalidArgumentError("file is required");
      const data = { ...modelFields(req, "speech2text"), file: Buffer.from(req.file).toString("hex") };
      const r = PluginFields.of("speech-to-text result", await lastChunk(dispatch(req, model("invoke_speech2text", data), ctx.signal), "speech to text"));
      return { text: r.optString("result") };
    },

    async invokeModeration(req, ctx) {
      const data = { ...modelFields(req, "moderation"), text: req.text };
      const r = PluginFields.of("moderation result", await lastChunk(dispatch(req, model("invoke_moderation", data), ctx.signal), "moderation"));
      return { flagged: r.bool("result") };
    },

    async validateProviderCredentials(req, ctx) {
      if (req.provider === "") throw new InvalidArgumentError("provider is required");
      const data = { provider: req.provider, ...credentialFields(req) };
      const result = await optionalLastChunk(dispatch(req, model("validate_provider_credentials", data), ctx.signal));
      // No answer is not valid, as Dify reads it.
      return result === undefined ? { result: false } : credentialsResult(result);
    },

    async validateModelCredentials(req, ctx) {
      const data = modelFields(req, modelTypeName(req.modelType));
      const result = await optionalLastChunk(dispatch(req, model("validate_model_credentials", data), ctx.signal));
      return result === undefined ? { result: false } : credentialsResult(result);
    },

    async getModelSchema(req, ctx) {
      const data = modelFields(req, modelTypeName(req.modelType));
      const result = await optionalLastChunk(dispatch(req, model("get_ai_model_schemas", data), ctx.signal));
      // {"model_schema": null} (or no answer): the plugin knows no such model.
      return { modelSchema: result === undefined ? undefined : PluginFields.of("model schema result", result).json("model_schema") };
    },

    async startModelPolling(req, ctx) {
      const result = await lastChunk(dispatch(req, model("start_polling", llmFields(req)), ctx.signal), "start polling");
      return { result: pollingResult(result) };
    },

    async checkModelPolling(req, ctx) {
      if (Object.keys(req.pluginState ?? {}).length === 0) throw new InvalidArgumentError("plugin_state is required");
      const data = { ...modelFields(req, "llm"), plugin_state: req.pluginState };
      const result = await lastChunk(dispatch(req, model("check_polling", data), ctx.signal), "check polling");
      return { result: pollingResult(result) };
    },
  };
}
