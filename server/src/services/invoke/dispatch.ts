import type { InvokeContext } from "../../../../gen/dify/plugin/v1/common_pb.js";
import { InvalidArgumentError, NotFoundError } from "../../errors.js";
import { runSession, type SessionDeps } from "../../invocation/sessions.js";
import type { InstallationCache } from "../../plugins/installation-cache.js";
import type { RuntimeRegistry } from "../../plugins/runtime-registry.js";
import type { InvocationRequest } from "../../runtimes/runtime.js";
import { requireTenant } from "../paging.js";

/** The fields every InvokeService request carries: who invokes which installed plugin. */
export interface InvokeTarget {
  readonly tenantId: string;
  readonly pluginId: string;
  readonly userId: string;
  readonly pluginUniqueIdentifier: string;
  readonly context?: InvokeContext;
}

/** What one action sends the plugin: the access type and action, and the action's own fields. */
export type ActionRequest = Pick<InvocationRequest, "type" | "action" | "data">;

export type DispatchDeps = SessionDeps & { readonly runtimes: RuntimeRegistry; readonly installations: InstallationCache };

/** Dispatch runs one action on the tenant's installed plugin and yields the plugin's raw stream chunks. */
export type Dispatch = (target: InvokeTarget, request: ActionRequest, signal: AbortSignal) => AsyncIterable<unknown>;

/**
 * createDispatch resolves the tenant's installation of the plugin (refusing a pinned identifier the tenant
 * does not run), finds its runtime and runs the session, so each RPC only maps its fields and chunks.
 */
export function createDispatch(deps: DispatchDeps): Dispatch {
  return async function* dispatch(target, request, signal) {
    const tenantId = requireTenant(target.tenantId);
    if (target.pluginId === "") throw new InvalidArgumentError("plugin_id is required");
    const installation = await deps.installations.find(tenantId, target.pluginId);
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
  };
}

/** lastChunk runs a unary action: the plugin streams one result (the last one counts), or fails. */
export async function lastChunk(chunks: AsyncIterable<unknown>, what: string): Promise<Record<string, unknown>> {
  let last: unknown;
  for await (const chunk of chunks) last = chunk;
  if (last === undefined || last === null || typeof last !== "object") {
    throw new InvalidArgumentError(`the plugin ended ${what} without a result`);
  }
  return last as Record<string, unknown>;
}
