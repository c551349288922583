/**
 * The one interface every runtime (local subprocess, debug TCP, serverless HTTP) offers the invocation layer.
 * A runtime runs one plugin package (`author/name:version@checksum`); an invocation is one session, multiplexed
 * with others over the runtime's connection, identified by its session id.
 */

/** InvocationRequest is what the daemon sends a plugin for one session (spec plugin-protocol §2.2). */
export interface InvocationRequest {
  readonly sessionId: string;
  /** Access type: tool, model, endpoint, agent_strategy, oauth, datasource, dynamic_parameter, trigger. */
  readonly type: string;
  /** Access action, e.g. invoke_tool, invoke_llm. */
  readonly action: string;
  /** The invoking user ("" for endpoint invocations). */
  readonly userId: string;
  /** The action's own fields (provider, tool, credentials, ...), merged into `data` beside user_id/type/action. */
  readonly data: Readonly<Record<string, unknown>>;
  readonly conversationId?: string | null;
  readonly messageId?: string | null;
  readonly appId?: string | null;
  readonly endpointId?: string | null;
  /** Opaque context Dify passes through (credentials of tools the plugin may call back). */
  readonly context?: Readonly<Record<string, unknown>> | null;
}

/** What a session yields while it runs: the plugin's stream chunks, and its backwards invocations. */
export type SessionEvent =
  | { readonly kind: "chunk"; readonly data: unknown }
  | {
      readonly kind: "invoke";
      readonly backwardsRequestId: string;
      /** The backwards invocation type: llm, tool, storage, app, ... */
      readonly type: string;
      readonly request: Readonly<Record<string, unknown>>;
    };

/** A reply to one backwards invocation, written back to the plugin (spec §2.3). */
export type BackwardsResponse =
  | { readonly event: "response"; readonly message: "stream" | "struct"; readonly data: unknown }
  | { readonly event: "error"; readonly message: string }
  | { readonly event: "end" };

/** PluginInvokeError is the plugin's own error for a session, as it reported it (`session/error`). */
export class PluginInvokeError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
    readonly args: Readonly<Record<string, unknown>> | null = null,
  ) {
    super(message);
    this.name = "PluginInvokeError";
  }
}

export type RuntimeState = "starting" | "running" | "restarting" | "failed" | "stopped";

export interface RuntimeStatus {
  readonly state: RuntimeState;
  /** Why the runtime is failed or restarting, for operators and callers. */
  readonly reason?: string;
  readonly restarts: number;
  /** Process id of the running instance (local runtime only). */
  readonly pid?: number;
}

export interface PluginRuntime {
  readonly uniqueIdentifier: string;
  /**
   * invoke starts a session and yields its events until the plugin ends it. It throws PluginInvokeError when
   * the plugin reports an error, RuntimeUnavailableError when the runtime is down or dies mid-session (at once,
   * not at a timeout), and DeadlineExceededError past the execution timeout. Aborting `signal` ends the session.
   */
  invoke(request: InvocationRequest, signal?: AbortSignal): AsyncIterable<SessionEvent>;
  /** respond writes a backwards-invocation reply into a live session; false when the session has ended. */
  respond(sessionId: string, backwardsRequestId: string, response: BackwardsResponse): boolean;
  status(): RuntimeStatus;
  /** stop ends the runtime: SIGTERM, then SIGKILL after the grace period; in-flight sessions fail. */
  stop(): Promise<void>;
}
