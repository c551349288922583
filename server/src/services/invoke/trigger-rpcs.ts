import type { ServiceImpl } from "@connectrpc/connect";
import type { InvokeService } from "../../../../gen/dify/plugin/v1/invoke_service_pb.js";
import { lastChunk, type Dispatch, type InvokeTarget } from "./dispatch.js";
import { credentialTypeField, hexOf, readChunk } from "./chunk-reader.js";

type TriggerRpcs = Pick<
  ServiceImpl<typeof InvokeService>,
  "invokeTriggerEvent" | "validateTriggerCredentials" | "dispatchTriggerEvent" | "subscribeTrigger" | "unsubscribeTrigger" | "refreshTrigger"
>;

/**
 * triggerRpcs: the six `trigger` actions, each unary. Webhook requests go to the plugin as hex
 * (`raw_http_request`) and the webhook response comes back as hex (`response`), decoded to bytes here. Unset
 * object fields (parameters, payload, subscription) go as `{}`: the SDK requires them to be objects.
 */
export function triggerRpcs(dispatch: Dispatch): TriggerRpcs {
  const call = async (req: InvokeTarget, action: string, data: Record<string, unknown>, signal: AbortSignal) =>
    readChunk(await lastChunk(dispatch(req, { type: "trigger", action, data }, signal), `trigger/${action}`), `trigger/${action}`);

  return {
    async invokeTriggerEvent(req, ctx) {
      const data = {
        provider: req.provider,
        event: req.event,
        raw_http_request: hexOf(req.rawHttpRequest),
        parameters: req.parameters ?? {},
        subscription: req.subscription ?? {},
        payload: req.payload ?? {},
        credentials: req.credentials ?? {},
        ...credentialTypeField(req.credentialType),
      };
      const result = await call(req, "invoke_trigger_event", data, ctx.signal);
      return { variables: result.object("variables"), cancelled: result.optionalBoolean("cancelled") ?? false };
    },

    async validateTriggerCredentials(req, ctx) {
      const data = { provider: req.provider, credentials: req.credentials ?? {}, ...credentialTypeField(req.credentialType) };
      const result = await call(req, "validate_trigger_credentials", data, ctx.signal);
      return { result: result.boolean("result") };
    },

    async dispatchTriggerEvent(req, ctx) {
      const data = {
        provider: req.provider,
        subscription: req.subscription ?? {},
        raw_http_request: hexOf(req.rawHttpRequest),
        credentials: req.credentials ?? {},
        ...credentialTypeField(req.credentialType),
      };
      const result = await call(req, "dispatch_trigger_event", data, ctx.signal);
      return {
        userId: result.optionalString("user_id") ?? "",
        events: result.strings("events"),
        payload: result.optionalObject("payload"),
        response: result.hex("response"),
      };
    },

    async subscribeTrigger(req, ctx) {
      const data = {
        provider: req.provider,
        endpoint: req.endpoint,
        parameters: req.parameters ?? {},
        credentials: req.credentials ?? {},
        ...credentialTypeField(req.credentialType),
      };
      const result = await call(req, "subscribe_trigger", data, ctx.signal);
      return { subscription: result.object("subscription") };
    },

    async unsubscribeTrigger(req, ctx) {
      const data = { provider: req.provider, subscription: req.subscription ?? {}, credentials: req.credentials ?? {}, ...credentialTypeField(req.credentialType) };
      const result = await call(req, "unsubscribe_trigger", data, ctx.signal);
      return { subscription: result.object("subscription") };
    },

    async refreshTrigger(req, ctx) {
      const data = { provider: req.provider, subscription: req.subscription ?? {}, credentials: req.credentials ?? {}, ...credentialTypeField(req.credentialType) };
      const result = await call(req, "refresh_trigger", data, ctx.signal);
      return { subscription: result.object("subscription") };
    },
  };
}
