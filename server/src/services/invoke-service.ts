import type { ServiceImpl } from "@connectrpc/connect";
import { CredentialType, type InvokeContext } from "../../../gen/dify/plugin/v1/common_pb.js";
import { InvokeService } from "../../../gen/dify/plugin/v1/invoke_service_pb.js";
import type { Db } from "../db/database.js";
import { findInstallation } from "../db/repositories/installations.js";
import { InvalidArgumentError, NotFoundError } from "../errors.js";
import { runSession, type SessionDeps } from "../invocation/sessions.js";
import type { RuntimeRegistry } from "../plugins/runtime-registry.js";
import type { InvocationRequest } from "../runtimes/runtime.js";
import { requireTenant } from "./paging.js";
import { toolMessageFromChunk } from "./tool-messages.js";

const CREDENTIAL_TYPES: Record<number, string> = {
  [CredentialType.API_KEY]: "api-key",
  [CredentialType.OAUTH2]: "oauth2",
  [CredentialType.UNAUTHORIZED]: "unauthorized",
};

interface Target {
  readonly tenantId: string;
  readonly pluginId: string;
  readonly userId: string;
  readonly pluginUniqueIdentifier: string;
  readonly context?: InvokeContext;
}

/**
 * createInvokeService routes invocations to the runtime of the package the tenant installed. Tool invocation
 * is wired end to end; the model, agent strategy, datasource, OAuth, dynamic select and trigger actions
 * answer Unimplemented until their typed mappings land.
 */
export function createInvokeService(deps: SessionDeps & { readonly db: Db; readonly runtimes: RuntimeRegistry }): Partial<ServiceImpl<typeof InvokeService>> {
  async function* invoke(target: Target, request: Omit<InvocationRequest, "sessionId" | "userId" | "conversationId" | "messageId" | "appId" | "endpointId" | "context">, signal: AbortSignal) {
    const tenantId = requireTenant(target.tenantId);
    if (target.pluginId === "") throw new InvalidArgumentError("plugin_id is required");
    const installation = await findInstallation(deps.db, tenantId, { pluginId: target.pluginId });
    if (!installation) throw new NotFoundError(`plugin ${target.pluginId} is not installed in tenant ${tenantId}`);
    if (target.pluginUniqueIdentifier && target.pluginUniqueIdentifier !== installation.pluginUniqueIdentifier) {
      throw new NotFoundError(`tenant ${tenantId} has ${installation.pluginUniqueIdentifier} installed, not ${target.pluginUniqueIdentifier}`);
    }
    const runtime = await deps.runtimes.get(installation.pluginUniqueIdentifier);
    const ctx = target.context;
    yield* runSession(
      deps,
      runtime,
      { tenantId, userId: target.userId, pluginId: installation.pluginId, declaration: installation.declaration },
      {
        ...request,
        conversationId: ctx?.conversationId ?? null,
        messageId: ctx?.messageId ?? null,
        appId: ctx?.appId ?? null,
        endpointId: ctx?.endpointId ?? null,
        context: ctx?.difyContext ?? null,
      },
      signal,
    );
  }

  return {
    async *invokeTool(req, ctx) {
      const data: Record<string, unknown> = {
        provider: req.provider,
        tool: req.tool,
        tool_parameters: req.toolParameters ?? {},
        credentials: req.credentials ?? {},
      };
      const credentialType = CREDENTIAL_TYPES[req.credentialType];
      if (credentialType) data["credential_type"] = credentialType;
      for await (const chunk of invoke(req, { type: "tool", action: "invoke_tool", data }, ctx.signal)) {
        yield { message: toolMessageFromChunk(chunk) };
      }
    },

    async validateToolCredentials(req, ctx) {
      let result = false;
      const data = { provider: req.provider, credentials: req.credentials ?? {} };
      for await (const chunk of invoke(req, { type: "tool", action: "validate_tool_credentials", data }, ctx.signal)) {
        result = (chunk as { result?: unknown }).result === true;
      }
      return { result };
    },
  };
}
