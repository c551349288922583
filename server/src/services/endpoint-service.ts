import { create, type JsonObject as ProtoJsonObject } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { EndpointSchema, type Endpoint, type EndpointService } from "../../../gen/dify/plugin/v1/endpoint_service_pb.js";
import type { InvokeService } from "../../../gen/dify/plugin/v1/invoke_service_pb.js";
import { FailedPreconditionError, NotFoundError } from "../errors.js";
import type { EndpointView, Endpoints } from "../plugins/endpoints.js";
import { requireTenant } from "./paging.js";

/** toEndpointMessage maps an endpoint view onto the contract's Endpoint. */
export function toEndpointMessage(view: EndpointView): Endpoint {
  return create(EndpointSchema, {
    id: view.id,
    tenantId: view.tenantId,
    pluginId: view.pluginId,
    userId: view.userId,
    name: view.name,
    hookId: view.hookId,
    enabled: view.enabled,
    settings: view.settings as ProtoJsonObject,
    declaration: {
      settings: view.declaration.settings.map((s) => ({ ...s }) as ProtoJsonObject),
      endpoints: view.declaration.endpoints.map((e) => ({
        path: typeof e.path === "string" ? e.path : "",
        method: typeof e.method === "string" ? e.method : "",
        hidden: e.hidden === true,
      })),
    },
    createdAt: timestampFromDate(view.createdAt),
    updatedAt: timestampFromDate(view.updatedAt),
    expiredAt: timestampFromDate(view.expiredAt),
  });
}

/**
 * endpointJson is an endpoint in the Dify dialect's shape (the Go daemon's models.Endpoint JSON): what the dialect's
 * `/endpoint/list` and `/endpoint/list/plugin` return in `data`.
 */
export function endpointJson(view: EndpointView): Record<string, unknown> {
  return {
    id: view.id,
    created_at: view.createdAt.toISOString(),
    updated_at: view.updatedAt.toISOString(),
    name: view.name,
    hook_id: view.hookId,
    tenant_id: view.tenantId,
    user_id: view.userId,
    plugin_id: view.pluginId,
    expired_at: view.expiredAt.toISOString(),
    enabled: view.enabled,
    settings: view.settings,
    declaration: {
      settings: view.declaration.settings,
      endpoints: view.declaration.endpoints.map((e) => ({ path: e.path ?? "", method: e.method ?? "", hidden: e.hidden === true })),
    },
  };
}

/** createEndpointService implements EndpointService over the endpoint behaviour (plugins/endpoints.ts). */
export function createEndpointService(endpoints: Endpoints): Partial<ServiceImpl<typeof EndpointService>> {
  return {
    async setupEndpoint(req) {
      return endpoints.setup({
        tenantId: req.tenantId,
        userId: req.userId,
        pluginUniqueIdentifier: req.pluginUniqueIdentifier,
        name: req.name,
        settings: req.settings ?? {},
      });
    },
    async listEndpoints(req) {
      return { endpoints: (await endpoints.list(req.tenantId, req.page, req.pageSize)).map(toEndpointMessage) };
    },
    async listPluginEndpoints(req) {
      return { endpoints: (await endpoints.listByPlugin(req.tenantId, req.pluginId, req.page, req.pageSize)).map(toEndpointMessage) };
    },
    async updateEndpoint(req) {
      await endpoints.update({ tenantId: req.tenantId, endpointId: req.endpointId, userId: req.userId, name: req.name, settings: req.settings ?? {} });
      return {};
    },
    async removeEndpoint(req) {
      await endpoints.remove(req.tenantId, req.endpointId);
      return {};
    },
    async enableEndpoint(req) {
      await endpoints.enable(req.tenantId, req.endpointId);
      return {};
    },
    async disableEndpoint(req) {
      await endpoints.disable(req.tenantId, req.endpointId);
      return {};
    },
  };
}

/**
 * createInvokeEndpointRpc implements InvokeService.InvokeEndpoint: one raw HTTP request for a tenant's endpoint, the
 * answer streamed as status/headers then body pieces. The daemon adds the decrypted settings itself.
 */
export function createInvokeEndpointRpc(endpoints: Endpoints): Pick<ServiceImpl<typeof InvokeService>, "invokeEndpoint"> {
  return {
    async *invokeEndpoint(req, ctx) {
      const tenantId = requireTenant(req.tenantId);
      const endpoint = await endpoints.findForTenant(tenantId, req.endpointId);
      if (req.pluginId !== "" && req.pluginId !== endpoint.pluginId) {
        throw new NotFoundError(`endpoint ${req.endpointId} belongs to plugin ${endpoint.pluginId}, not ${req.pluginId}`);
      }
      const resolved = await endpoints.resolveHook(endpoint.hookId);
      switch (resolved.kind) {
        case "ok":
          break;
        case "disabled":
          throw new FailedPreconditionError(`endpoint ${endpoint.id} is disabled: enable it first`);
        case "no-endpoint-declaration":
          throw new FailedPreconditionError(`plugin ${endpoint.pluginId} no longer declares endpoints`);
        default:
          throw new NotFoundError(`plugin ${endpoint.pluginId} is not installed in tenant ${tenantId}`);
      }
      if (req.pluginUniqueIdentifier !== "" && req.pluginUniqueIdentifier !== resolved.installation.pluginUniqueIdentifier) {
        throw new NotFoundError(`tenant ${tenantId} has ${resolved.installation.pluginUniqueIdentifier} installed, not ${req.pluginUniqueIdentifier}`);
      }
      for await (const part of endpoints.invoke(resolved, Buffer.from(req.rawHttpRequest), ctx.signal)) {
        yield {
          ...(part.status !== undefined ? { status: part.status } : {}),
          headers: part.headers ?? {},
          body: part.body ?? new Uint8Array(),
        };
      }
    },
  };
}
