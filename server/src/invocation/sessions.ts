import { randomUUID } from "node:crypto";
import type { Db } from "../db/database.js";
import type { Logger } from "../logger.js";
import type { InvocationRequest, PluginRuntime } from "../runtimes/runtime.js";
import type { DifyInnerApi } from "./backwards/dify-inner-api.js";
import { permissionError } from "./backwards/permissions.js";
import { handleStorage, type StorageRequest } from "./backwards/plugin-storage.js";

/** Who is invoking which plugin: what backwards invocations are checked and scoped against. */
export interface InvocationScope {
  readonly tenantId: string;
  readonly userId: string;
  readonly pluginId: string;
  /** The installed declaration (Dify JSON): its resource.permission gates backwards invocations. */
  readonly declaration: Record<string, unknown>;
}

export interface SessionDeps {
  readonly db: Db;
  readonly dify: DifyInnerApi | null;
  readonly logger: Logger;
}

type Permission = Parameters<typeof permissionError>[1];

/**
 * runSession invokes a plugin and yields its stream chunks. Backwards invocations the plugin makes meanwhile
 * are answered concurrently (storage in the daemon, everything else through Dify's inner API), checked
 * against the manifest's permissions, with the tenant and user taken from the session, never the plugin.
 */
export async function* runSession(
  deps: SessionDeps,
  runtime: PluginRuntime,
  scope: InvocationScope,
  request: Omit<InvocationRequest, "sessionId" | "userId">,
  signal?: AbortSignal,
): AsyncIterable<unknown> {
  const sessionId = randomUUID();
  // Made only when there is something to say: a child logger per call is measurable on the hot path.
  const log = () => deps.logger.child({ session: sessionId, plugin: runtime.uniqueIdentifier });
  const resource = scope.declaration["resource"] as { permission?: Permission } | undefined;
  const permission = resource?.permission;
  const answering = new Set<Promise<void>>();

  const answer = async (backwardsRequestId: string, type: string, body: Record<string, unknown>): Promise<void> => {
    const reply = (r: Parameters<PluginRuntime["respond"]>[2]) => runtime.respond(sessionId, backwardsRequestId, r);
    try {
      if (request.type === "model") throw new Error("you can not invoke dify from model");
      const denied = permissionError(type, permission);
      if (denied) throw new Error(denied);
      const trusted = { ...body, tenant_id: scope.tenantId, user_id: scope.userId, type };
      if (type === "storage") {
        const limit = Number((permission?.["storage"] as { size?: unknown } | undefined)?.size ?? 0);
        const data = await handleStorage(deps.db, { tenantId: scope.tenantId, pluginId: scope.pluginId, limitBytes: limit }, body as unknown as StorageRequest);
        reply({ event: "response", message: "struct", data });
      } else {
        if (!deps.dify) throw new Error("backwards invocation to Dify is not configured on this daemon (set DIFY_INNER_API_URL and DIFY_INNER_API_KEY)");
        for await (const part of deps.dify.call(type, trusted, signal)) reply({ event: "response", message: part.message, data: part.data });
      }
    } catch (err) {
      log().info({ type, err: (err as Error).message }, "backwards invocation failed");
      reply({ event: "error", message: (err as Error).message });
    } finally {
      reply({ event: "end" });
    }
  };

  try {
    for await (const event of runtime.invoke({ ...request, sessionId, userId: scope.userId }, signal)) {
      if (event.kind === "chunk") {
        yield event.data;
        continue;
      }
      const job = answer(event.backwardsRequestId, event.type, { ...event.request });
      answering.add(job);
      void job.finally(() => answering.delete(job));
    }
  } finally {
    await Promise.allSettled([...answering]);
  }
}
