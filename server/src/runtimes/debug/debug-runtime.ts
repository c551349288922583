/**
 * DebugPluginRuntime is one registered debug plugin: a developer's process connected over TCP (spec plugin-protocol
 * §3.4-§3.5). After registration the wire is the stdio protocol: the daemon writes request and backwards_response
 * lines, the plugin writes session/heartbeat/log/error events. Sessions are multiplexed as on a local instance (one
 * SessionChannel each). Only heartbeats count as life: none for `heartbeatTimeoutMs` closes the connection. When the
 * connection goes, for whatever reason, every in-flight session fails at once with ConnectionClosedError.
 */
import { InvalidArgumentError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { routeSessionMessage, runSessionChannel, SessionChannel } from "../session-channel.js";
import { seconds } from "../local/options.js";
import { eventOfLine } from "../protocol/line-codec.js";
import type { PluginEvent, SessionMessage } from "../protocol/messages.js";
import { backwardsResponseEnvelope, encodeLine, requestEnvelope } from "../protocol/messages.js";
import {
  PluginInvokeError,
  type BackwardsResponse,
  type InvocationRequest,
  type PluginRuntime,
  type RuntimeState,
  type RuntimeStatus,
  type SessionEvent,
} from "../runtime.js";
import { ConnectionClosedError } from "./errors.js";

export interface DebugRuntimeOptions {
  readonly uniqueIdentifier: string;
  readonly tenantId: string;
  readonly logger: Logger;
  /** One invocation's time budget (PLUGIN_MAX_EXECUTION_TIMEOUT). */
  readonly maxExecutionMs: number;
  /** No heartbeat for this long closes the connection (the Go daemon: 60 s). */
  readonly heartbeatTimeoutMs: number;
  /** Writes one whole line to the plugin; false when the connection cannot take it any more. */
  readonly send: (line: string) => boolean;
  /** Closes the connection; the owner then calls closed(). */
  readonly close: (reason: string) => void;
}

export class DebugPluginRuntime implements PluginRuntime {
  readonly uniqueIdentifier: string;
  readonly tenantId: string;
  /** Resolves with the reason once the connection is gone and every session was failed. */
  readonly gone: Promise<string>;
  readonly #options: DebugRuntimeOptions;
  readonly #logger: Logger;
  readonly #sessions = new Map<string, SessionChannel>();
  #state: RuntimeState = "running";
  #reason: string | undefined;
  #heartbeat: NodeJS.Timeout;
  #markGone!: (reason: string) => void;

  constructor(options: DebugRuntimeOptions) {
    this.#options = options;
    this.uniqueIdentifier = options.uniqueIdentifier;
    this.tenantId = options.tenantId;
    this.#logger = options.logger.child({ component: "runtime.debug", plugin: options.uniqueIdentifier, tenantId: options.tenantId });
    this.gone = new Promise<string>((resolve) => {
      this.#markGone = resolve;
    });
    this.#heartbeat = setTimeout(() => this.#heartbeatMissed(), options.heartbeatTimeoutMs);
    this.#heartbeat.unref();
  }

  status(): RuntimeStatus {
    return { state: this.#state, restarts: 0, ...(this.#reason !== undefined ? { reason: this.#reason } : {}) };
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  invoke(request: InvocationRequest, signal?: AbortSignal): AsyncIterable<SessionEvent> {
    return this.#session(request, signal);
  }

  respond(sessionId: string, backwardsRequestId: string, response: BackwardsResponse): boolean {
    if (!this.#sessions.has(sessionId)) return false;
    return this.#options.send(encodeLine(backwardsResponseEnvelope(sessionId, backwardsRequestId, response)));
  }

  /** stop closes the connection; in-flight sessions fail with ConnectionClosedError. Resolves once it is gone. */
  async stop(): Promise<void> {
    if (this.#state !== "stopped") this.#options.close("the debug runtime was stopped by the daemon");
    await this.gone;
  }

  /** onLine takes one line the plugin wrote after registration. */
  onLine(line: Buffer): void {
    const event = eventOfLine(line);
    if (event) this.#onEvent(event);
  }

  /** onOversizedLine fails the session a too-long line belonged to (when it can be told), as the local runtime does. */
  onOversizedLine(bytes: number, limit: number, sessionId: string | undefined): void {
    this.#logger.error({ bytes, limit, sessionId }, "debug plugin line too long; dropped");
    const channel = sessionId === undefined ? undefined : this.#sessions.get(sessionId);
    if (!channel || sessionId === undefined) return;
    this.#sessions.delete(sessionId);
    channel.fail(new PluginInvokeError("PluginOutputTooLargeError", `plugin output line of ${bytes} bytes exceeds the ${limit}-byte limit`, { bytes, limit }));
  }

  /** closed is called by the connection's owner once the socket is gone: every session fails at once. */
  closed(reason: string): void {
    if (this.#state === "stopped") return;
    this.#state = "stopped";
    this.#reason = reason;
    clearTimeout(this.#heartbeat);
    const error = new ConnectionClosedError(`debug plugin ${this.uniqueIdentifier} disconnected: ${reason}`);
    for (const channel of this.#sessions.values()) channel.fail(error);
    this.#sessions.clear();
    this.#logger.info({ reason }, "debug plugin disconnected");
    this.#markGone(reason);
  }

  #heartbeatMissed(): void {
    const timeout = this.#options.heartbeatTimeoutMs;
    this.#logger.warn({ timeoutMs: timeout }, "debug plugin sent no heartbeat; closing its connection");
    this.#options.close(`no heartbeat for ${seconds(timeout)}`);
  }

  #onEvent(event: PluginEvent): void {
    switch (event.event) {
      case "heartbeat":
        this.#heartbeat.refresh();
        return;
      case "log":
        // As the Go daemon: a debug plugin's logs stay on the developer's side; kept here at debug level only.
        this.#logger.debug({ source: "plugin", level: event.level }, event.message);
        return;
      case "error":
        this.#logger.warn({ sessionId: event.sessionId, data: event.data }, "debug plugin reported an error event");
        return;
      case "session":
        this.#onSessionMessage(event.sessionId, event.message);
        return;
    }
  }

  #onSessionMessage(sessionId: string, message: SessionMessage): void {
    routeSessionMessage(this.#sessions, sessionId, message, this.uniqueIdentifier);
  }


  async *#session(request: InvocationRequest, signal: AbortSignal | undefined): AsyncGenerator<SessionEvent, void, undefined> {
    signal?.throwIfAborted();
    if (this.#state === "stopped") {
      throw new ConnectionClosedError(`debug plugin ${this.uniqueIdentifier} is not connected: ${this.#reason ?? "its connection closed"}`);
    }
    if (this.#sessions.has(request.sessionId)) {
      throw new InvalidArgumentError(`session ${request.sessionId} is already running on plugin ${this.uniqueIdentifier}`);
    }
    const channel = new SessionChannel(request.sessionId);
    this.#sessions.set(request.sessionId, channel);
    yield* runSessionChannel({
      channel,
      plugin: this.uniqueIdentifier,
      maxExecutionMs: this.#options.maxExecutionMs,
      signal,
      write: () => this.#options.send(encodeLine(requestEnvelope(request))),
      notAccepting: () => new ConnectionClosedError(`debug plugin ${this.uniqueIdentifier} is not accepting input (its connection is closing)`),
      close: () => this.#sessions.delete(request.sessionId),
    });
  }
}
