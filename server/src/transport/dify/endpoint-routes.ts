import { Code } from "@connectrpc/connect";
import { EndpointService } from "../../../../gen/dify/plugin/v1/endpoint_service_pb.js";
import { optObject, pageOf, requireIdentifier, requireString } from "./binding.js";
import { difyError, ErrorType } from "./envelope.js";
import { envelopeRoute, jsonBody, tenantOf, type DifyRoute, type RouteContext } from "./route.js";
import { callUnary } from "./rpc.js";
import { endpointJson } from "./wire-shapes.js";

/**
 * The endpoint management routes, `/plugin/{tenant_id}/endpoint/...` (spec/dify-http-api.md §2.3), over the
 * EndpointService RPCs. Answers are `true` for the mutations and the endpoint list for the listings.
 */

const E = "/plugin/:tenant_id/endpoint";
const rpc = EndpointService.method;
const endpoints = (ctx: RouteContext) => ctx.services.endpoint;
// Endpoint lists take at most 100 per page (§1.3).
const MAX_ENDPOINT_PAGE = 100;

async function endpointIdOf(ctx: RouteContext): Promise<string> {
  return requireString((await jsonBody(ctx))["endpoint_id"], "EndpointID");
}

export function endpointRoutes(): DifyRoute[] {
  return [
    envelopeRoute(
      "POST",
      `${E}/setup`,
      async (ctx) => {
        const body = await jsonBody(ctx);
        await callUnary(
          endpoints(ctx),
          rpc.setupEndpoint,
          {
            tenantId: tenantOf(ctx),
            pluginUniqueIdentifier: requireIdentifier(body["plugin_unique_identifier"], "PluginUniqueIdentifier"),
            userId: requireString(body["user_id"], "UserID"),
            name: requireString(body["name"], "Name"),
            settings: optObject(body["settings"]) as never,
          },
          ctx.scope,
        );
        return true;
      },
      // The plugin is not installed in the tenant: Dify's PluginNotFoundError.
      (failure) => (failure.connect.code === Code.NotFound ? difyError(-404, ErrorType.pluginNotFound, failure.connect.rawMessage) : undefined),
    ),

    envelopeRoute(
      "POST",
      `${E}/remove`,
      async (ctx) => {
        await callUnary(endpoints(ctx), rpc.removeEndpoint, { tenantId: tenantOf(ctx), endpointId: await endpointIdOf(ctx) }, ctx.scope);
        return true;
      },
      // Dify treats a PluginDaemonInternalServerError containing "record not found" as an idempotent delete (§11.8).
      (failure) => (failure.connect.code === Code.NotFound ? difyError(-500, ErrorType.internal, "failed to remove endpoint: record not found") : undefined),
    ),

    envelopeRoute("POST", `${E}/update`, async (ctx) => {
      const body = await jsonBody(ctx);
      await callUnary(
        endpoints(ctx),
        rpc.updateEndpoint,
        {
          tenantId: tenantOf(ctx),
          endpointId: requireString(body["endpoint_id"], "EndpointID"),
          userId: requireString(body["user_id"], "UserID"),
          name: requireString(body["name"], "Name"),
          settings: optObject(body["settings"]) as never,
        },
        ctx.scope,
      );
      return true;
    }),

    envelopeRoute("GET", `${E}/list`, async (ctx) => {
      const res = await callUnary(endpoints(ctx), rpc.listEndpoints, { tenantId: tenantOf(ctx), ...pageOf(ctx.query, MAX_ENDPOINT_PAGE) }, ctx.scope);
      return res.endpoints.map(endpointJson);
    }),

    envelopeRoute("GET", `${E}/list/plugin`, async (ctx) => {
      const pluginId = requireString(ctx.query.get("plugin_id"), "PluginID");
      const res = await callUnary(
        endpoints(ctx),
        rpc.listPluginEndpoints,
        { tenantId: tenantOf(ctx), pluginId, ...pageOf(ctx.query, MAX_ENDPOINT_PAGE) },
        ctx.scope,
      );
      return res.endpoints.map(endpointJson);
    }),

    envelopeRoute("POST", `${E}/enable`, async (ctx) => {
      await callUnary(endpoints(ctx), rpc.enableEndpoint, { tenantId: tenantOf(ctx), endpointId: await endpointIdOf(ctx) }, ctx.scope);
      return true;
    }),

    envelopeRoute("POST", `${E}/disable`, async (ctx) => {
      await callUnary(endpoints(ctx), rpc.disableEndpoint, { tenantId: tenantOf(ctx), endpointId: await endpointIdOf(ctx) }, ctx.scope);
      return true;
    }),
  ];
}
