import { InvokeService } from "../../../../gen/dify/plugin/v1/invoke_service_pb.js";
import { sortedDeep } from "./wire-json.js";
import { envelopeDispatch, streamDispatch, unaryDispatch } from "./dispatch.js";
import type { DifyRoute } from "./route.js";
import {
  bucketJson,
  embeddingJson,
  llmChunkJson,
  optionJson,
  pollingJson,
  rerankJson,
  toolChunkJson,
  ttsChunkJson,
} from "./wire-chunks.js";
import type { DispatchData } from "./dispatch-data.js";

/**
 * Every `/plugin/{tenant_id}/dispatch/...` route (spec/dify-http-api.md §2.5): the `data` fields Dify sends, to the
 * InvokeService request; the RPC's answers, to the chunks Dify reads.
 */

const rpc = InvokeService.method;
const map = (o: Record<string, unknown> | undefined | null): unknown => (o ? sortedDeep(o) : null);
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

/** The provider, model and credentials every model action carries, with the model type it must name. */
const modelTarget = (d: DispatchData, modelType?: string) => {
  d.modelType(modelType);
  return { provider: d.req("provider"), model: d.req("model"), ...d.credentials() };
};

const llmFields = (d: DispatchData) => ({
  ...modelTarget(d, "llm"),
  modelParameters: d.obj("model_parameters"),
  promptMessages: d.promptMessages("prompt_messages"),
  tools: d.tools("tools"),
  toolChoice: d.toolChoice("tool_choice"),
  stop: d.strings("stop"),
  jsonSchema: d.obj("json_schema"),
  stream: d.bool("stream"),
});

const datasourceTarget = (d: DispatchData) => ({ provider: d.req("provider"), datasource: d.req("datasource"), ...d.credentials() });

export function dispatchRoutes(): DifyRoute[] {
  return [
    // Tools
    streamDispatch(
      "tool/invoke",
      rpc.invokeTool,
      (d) => ({ provider: d.req("provider"), tool: d.req("tool"), toolParameters: d.obj("tool_parameters"), ...d.credentials() }),
      (r) => toolChunkJson(r.message),
    ),
    unaryDispatch(
      "tool/validate_credentials",
      rpc.validateToolCredentials,
      (d) => ({ provider: d.req("provider"), credentials: d.obj("credentials") }),
      (r) => ({ result: r.result }),
    ),
    unaryDispatch(
      "tool/get_runtime_parameters",
      rpc.getToolRuntimeParameters,
      (d) => ({ provider: d.req("provider"), tool: d.req("tool"), credentials: d.obj("credentials") }),
      (r) => ({ parameters: r.parameters }),
    ),

    // Models
    streamDispatch("llm/invoke", rpc.invokeLLM, llmFields, (r) => llmChunkJson(r.chunk)),
    unaryDispatch(
      "llm/num_tokens",
      rpc.getLLMNumTokens,
      (d) => ({ ...modelTarget(d, "llm"), promptMessages: d.promptMessages("prompt_messages"), tools: d.tools("tools") }),
      (r) => ({ num_tokens: r.numTokens }),
    ),
    unaryDispatch(
      "text_embedding/invoke",
      rpc.invokeTextEmbedding,
      (d) => ({ ...modelTarget(d, "text-embedding"), texts: d.strings("texts", true), inputType: d.inputType() }),
      (r) => embeddingJson(r),
    ),
    unaryDispatch(
      "text_embedding/num_tokens",
      rpc.getTextEmbeddingNumTokens,
      (d) => ({ ...modelTarget(d, "text-embedding"), texts: d.strings("texts", true) }),
      (r) => ({ num_tokens: r.numTokens }),
    ),
    unaryDispatch(
      "multimodal_embedding/invoke",
      rpc.invokeMultimodalEmbedding,
      // Any model_type string is passed on in Go (Dify sends "text-embedding"); the contract takes the known ones.
      (d) => ({ ...modelTarget(d), modelType: d.modelType(), documents: d.multimodalList("documents"), inputType: d.inputType(true) }),
      (r) => embeddingJson(r),
    ),
    unaryDispatch(
      "rerank/invoke",
      rpc.invokeRerank,
      (d) => ({
        ...modelTarget(d, "rerank"),
        query: d.req("query"),
        docs: d.strings("docs", true),
        scoreThreshold: d.optNumber("score_threshold"),
        topN: d.optNumber("top_n"),
      }),
      (r) => rerankJson(r),
    ),
    unaryDispatch(
      "multimodal_rerank/invoke",
      rpc.invokeMultimodalRerank,
      (d) => ({
        ...modelTarget(d),
        modelType: d.modelType(),
        query: d.multimodal("query"),
        docs: d.multimodalList("docs"),
        scoreThreshold: d.optNumber("score_threshold"),
        topN: d.optNumber("top_n"),
      }),
      (r) => rerankJson(r),
    ),
    streamDispatch(
      "tts/invoke",
      rpc.invokeTTS,
      // Dify repeats the tenant in the data; the path's tenant is the one invoked.
      (d) => {
        d.req("tenant_id");
        return { ...modelTarget(d, "tts"), contentText: d.req("content_text"), voice: d.req("voice") };
      },
      (r) => ttsChunkJson(r),
    ),
    unaryDispatch(
      "tts/model/voices",
      rpc.getTTSModelVoices,
      (d) => ({ ...modelTarget(d, "tts"), language: d.str("language") }),
      (r) => ({ voices: r.voices.map((v) => ({ name: v.name, value: v.value })) }),
    ),
    unaryDispatch(
      "speech2text/invoke",
      rpc.invokeSpeech2Text,
      (d) => ({ ...modelTarget(d, "speech2text"), file: d.hex("file") }),
      (r) => ({ result: r.text }),
    ),
    unaryDispatch(
      "moderation/invoke",
      rpc.invokeModeration,
      (d) => ({ ...modelTarget(d, "moderation"), text: d.req("text") }),
      (r) => ({ result: r.flagged }),
    ),
    unaryDispatch(
      "model/validate_provider_credentials",
      rpc.validateProviderCredentials,
      (d) => ({ provider: d.req("provider"), ...d.credentials() }),
      (r) => ({ result: r.result, credentials: map(r.credentials) }),
    ),
    unaryDispatch(
      "model/validate_model_credentials",
      rpc.validateModelCredentials,
      (d) => ({ ...modelTarget(d), modelType: d.modelType() }),
      (r) => ({ result: r.result, credentials: map(r.credentials) }),
    ),
    envelopeDispatch("model/polling/start", rpc.startModelPolling, llmFields, (r) => pollingJson(r.result)),
    envelopeDispatch(
      "model/polling/check",
      rpc.checkModelPolling,
      (d) => ({ ...modelTarget(d, "llm"), pluginState: d.nonEmptyObj("plugin_state") }),
      (r) => pollingJson(r.result),
    ),
    unaryDispatch(
      "model/schema",
      rpc.getModelSchema,
      (d) => ({ ...modelTarget(d), modelType: d.modelType() }),
      (r) => ({ model_schema: r.modelSchema ?? null }),
    ),

    // Agent strategies (blob chunks come merged from the service)
    streamDispatch(
      "agent_strategy/invoke",
      rpc.invokeAgentStrategy,
      (d) => ({ agentStrategyProvider: d.req("agent_strategy_provider"), agentStrategy: d.req("agent_strategy"), agentStrategyParams: d.obj("agent_strategy_params") }),
      (r) => toolChunkJson(r.message),
    ),

    // OAuth
    unaryDispatch(
      "oauth/get_authorization_url",
      rpc.getOAuthAuthorizationUrl,
      (d) => ({ provider: d.req("provider"), redirectUri: d.req("redirect_uri"), systemCredentials: d.obj("system_credentials") }),
      (r) => ({ authorization_url: r.authorizationUrl }),
    ),
    unaryDispatch(
      "oauth/get_credentials",
      rpc.getOAuthCredentials,
      (d) => ({ provider: d.req("provider"), redirectUri: d.req("redirect_uri"), systemCredentials: d.obj("system_credentials"), rawHttpRequest: d.hex("raw_http_request") }),
      (r) => ({ ...(r.metadata ? { metadata: map(r.metadata) } : {}), credentials: map(r.credentials ?? {}), expires_at: Number(r.expiresAt) }),
    ),
    unaryDispatch(
      "oauth/refresh_credentials",
      rpc.refreshOAuthCredentials,
      (d) => ({ provider: d.req("provider"), redirectUri: d.req("redirect_uri"), systemCredentials: d.obj("system_credentials"), credentials: d.reqObj("credentials") }),
      (r) => ({ credentials: map(r.credentials ?? {}), expires_at: Number(r.expiresAt) }),
    ),

    // Dynamic select
    unaryDispatch(
      "dynamic_select/fetch_parameter_options",
      rpc.fetchParameterOptions,
      (d) => ({
        provider: d.req("provider"),
        providerAction: d.req("provider_action"),
        parameter: d.req("parameter"),
        credentials: d.reqObj("credentials"),
        credentialType: d.credentialType(),
      }),
      (r) => ({ options: r.options.map(optionJson) }),
    ),

    // Datasources
    unaryDispatch(
      "datasource/validate_credentials",
      rpc.validateDatasourceCredentials,
      (d) => ({ provider: d.req("provider"), ...d.credentials() }),
      (r) => ({ result: r.result }),
    ),
    streamDispatch(
      "datasource/get_website_crawl",
      rpc.getWebsiteCrawl,
      (d) => ({ ...datasourceTarget(d), datasourceParameters: d.reqObj("datasource_parameters") }),
      (r) => ({ result: map(r.result ?? {}) }),
    ),
    streamDispatch(
      "datasource/get_online_document_pages",
      rpc.getOnlineDocumentPages,
      (d) => ({ ...datasourceTarget(d), datasourceParameters: d.reqObj("datasource_parameters") }),
      (r) => ({ result: r.workspaces.map((w) => sortedDeep(w)) }),
    ),
    streamDispatch(
      "datasource/get_online_document_page_content",
      rpc.getOnlineDocumentPageContent,
      (d) => ({ ...datasourceTarget(d), page: d.reqObj("page") }),
      (r) => toolChunkJson(r.message),
    ),
    streamDispatch(
      "datasource/online_drive_browse_files",
      rpc.browseOnlineDriveFiles,
      (d) => {
        const request = d.child("request", true)!;
        const maxKeys = request.optNumber("max_keys") ?? 0;
        if (maxKeys === 0) request.req("max_keys");
        const bucket = request.str("bucket");
        return {
          ...datasourceTarget(d),
          request: { bucket: bucket || undefined, prefix: request.str("prefix"), maxKeys, nextPageParameters: request.obj("next_page_parameters") },
        };
      },
      (r) => ({ result: r.buckets.map(bucketJson) }),
    ),
    streamDispatch(
      "datasource/online_drive_download_file",
      rpc.downloadOnlineDriveFile,
      (d) => {
        const request = d.child("request", true)!;
        return { ...datasourceTarget(d), request: { bucket: request.str("bucket") || undefined, id: request.req("id") } };
      },
      (r) => toolChunkJson(r.message),
    ),

    // Triggers
    unaryDispatch(
      "trigger/invoke_event",
      rpc.invokeTriggerEvent,
      (d) => ({
        provider: d.req("provider"),
        event: d.req("event"),
        rawHttpRequest: d.hex("raw_http_request"),
        parameters: d.obj("parameters"),
        subscription: d.reqObj("subscription"),
        payload: d.obj("payload"),
        ...d.credentials(),
      }),
      (r) => ({ variables: map(r.variables ?? {}), cancelled: r.cancelled }),
    ),
    unaryDispatch(
      "trigger/validate_credentials",
      rpc.validateTriggerCredentials,
      (d) => ({ provider: d.req("provider"), ...d.credentials() }),
      (r) => ({ result: r.result }),
    ),
    unaryDispatch(
      "trigger/dispatch_event",
      rpc.dispatchTriggerEvent,
      (d) => ({ provider: d.req("provider"), subscription: d.reqObj("subscription"), rawHttpRequest: d.hex("raw_http_request"), ...d.credentials() }),
      (r) => ({
        ...(r.userId ? { user_id: r.userId } : {}),
        events: r.events,
        ...(r.payload ? { payload: map(r.payload) } : {}),
        response: hex(r.response),
      }),
    ),
    unaryDispatch(
      "trigger/subscribe",
      rpc.subscribeTrigger,
      (d) => ({ provider: d.req("provider"), endpoint: d.req("endpoint"), parameters: d.obj("parameters"), ...d.credentials() }),
      (r) => ({ subscription: map(r.subscription ?? {}) }),
    ),
    unaryDispatch(
      "trigger/unsubscribe",
      rpc.unsubscribeTrigger,
      (d) => ({ provider: d.req("provider"), subscription: d.reqObj("subscription"), ...d.credentials() }),
      (r) => ({ subscription: map(r.subscription ?? {}) }),
    ),
    unaryDispatch(
      "trigger/refresh",
      rpc.refreshTrigger,
      (d) => ({ provider: d.req("provider"), subscription: d.reqObj("subscription"), ...d.credentials() }),
      (r) => ({ subscription: map(r.subscription ?? {}) }),
    ),
  ];
}
