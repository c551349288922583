import { Code } from "@connectrpc/connect";
import type { ProviderInstallation } from "../../../../gen/dify/plugin/v1/install_pb.js";
import { PluginService } from "../../../../gen/dify/plugin/v1/plugin_service_pb.js";
import { pageOf, requireString } from "./binding.js";
import { difyError, ErrorType } from "./envelope.js";
import { envelopeRoute, tenantOf, when, type DifyRoute, type RouteContext } from "./route.js";
import { callUnary } from "./rpc.js";
import { providerRowJson, type ProviderKind } from "./wire-shapes.js";

/**
 * The per-category provider routes (spec/dify-http-api.md §2.2): `models`, `tools`/`tool`, `agent_strategies`/
 * `agent_strategy`, `datasources`/`datasource`, `triggers`/`trigger`, over the PluginService listing RPCs.
 */

const M = "/plugin/:tenant_id/management";
const rpc = PluginService.method;
const plugin = (ctx: RouteContext) => ctx.services.plugin;
const pluginNotFound = difyError(-404, ErrorType.pluginNotFound, "plugin not found");

/** How one provider kind is listed and looked up (the get is absent for models). */
interface ProviderRpcs {
  list(ctx: RouteContext, page: { page: number; pageSize: number }): Promise<ProviderInstallation[]>;
  get?(ctx: RouteContext, pluginId: string, provider: string): Promise<ProviderInstallation | undefined>;
}

const PROVIDER_RPCS: Readonly<Record<ProviderKind, ProviderRpcs>> = {
  tool: {
    list: async (ctx, page) => (await callUnary(plugin(ctx), rpc.listToolProviders, { tenantId: tenantOf(ctx), ...page }, ctx.scope)).providers,
    get: async (ctx, pluginId, provider) =>
      (await callUnary(plugin(ctx), rpc.getToolProvider, { tenantId: tenantOf(ctx), pluginId, provider }, ctx.scope)).provider,
  },
  model: {
    list: async (ctx, page) => (await callUnary(plugin(ctx), rpc.listModelProviders, { tenantId: tenantOf(ctx), ...page }, ctx.scope)).providers,
  },
  agent_strategy: {
    list: async (ctx, page) => (await callUnary(plugin(ctx), rpc.listAgentStrategyProviders, { tenantId: tenantOf(ctx), ...page }, ctx.scope)).providers,
    get: async (ctx, pluginId, provider) =>
      (await callUnary(plugin(ctx), rpc.getAgentStrategyProvider, { tenantId: tenantOf(ctx), pluginId, provider }, ctx.scope)).provider,
  },
  datasource: {
    list: async (ctx, page) => (await callUnary(plugin(ctx), rpc.listDatasourceProviders, { tenantId: tenantOf(ctx), ...page }, ctx.scope)).providers,
    get: async (ctx, pluginId, provider) =>
      (await callUnary(plugin(ctx), rpc.getDatasourceProvider, { tenantId: tenantOf(ctx), pluginId, provider }, ctx.scope)).provider,
  },
  trigger: {
    list: async (ctx, page) => (await callUnary(plugin(ctx), rpc.listTriggerProviders, { tenantId: tenantOf(ctx), ...page }, ctx.scope)).providers,
    get: async (ctx, pluginId, provider) =>
      (await callUnary(plugin(ctx), rpc.getTriggerProvider, { tenantId: tenantOf(ctx), pluginId, provider }, ctx.scope)).provider,
  },
};

/** providerRoutes: the listing (`tools`, `models`, ...) and the single lookup (`tool`, ...) of one provider kind. */
function providerKindRoutes(kind: ProviderKind, list: string, one?: string): DifyRoute[] {
  const rpcs = PROVIDER_RPCS[kind];
  const routes: DifyRoute[] = [
    envelopeRoute("GET", `${M}/${list}`, async (ctx) => (await rpcs.list(ctx, pageOf(ctx.query))).map((p) => providerRowJson(p, kind))),
  ];
  const get = rpcs.get;
  if (one && get) {
    routes.push(
      envelopeRoute(
        "GET",
        `${M}/${one}`,
        async (ctx) => {
          const pluginId = requireString(ctx.query.get("plugin_id"), "PluginID");
          const provider = requireString(ctx.query.get("provider"), "Provider");
          const found = await get(ctx, pluginId, provider);
          if (!found) throw new Error("the service answered without a provider");
          return providerRowJson(found, kind);
        },
        // A provider the tenant does not have is Dify's PluginNotFoundError.
        when(Code.NotFound, pluginNotFound),
      ),
    );
  }
  return routes;
}

export function providerRoutes(): DifyRoute[] {
  return [
    ...providerKindRoutes("model", "models"),
    ...providerKindRoutes("tool", "tools", "tool"),
    ...providerKindRoutes("agent_strategy", "agent_strategies", "agent_strategy"),
    ...providerKindRoutes("datasource", "datasources", "datasource"),
    ...providerKindRoutes("trigger", "triggers", "trigger"),
  ];
}
