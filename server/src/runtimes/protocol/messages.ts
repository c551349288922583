/**
 * Typed wire messages of the plugin stdio/TCP protocol (spec plugin-protocol §2). Daemon → plugin lines are
 * envelopes whose keys are written in the reference daemon's order; plugin → daemon lines are events, parsed
 * leniently: an unknown or malformed event is ignored, never fatal, exactly as the reference daemon does.
 */
import type { BackwardsResponse, InvocationRequest } from "../runtime.js";

/** The daemon → plugin envelope (spec §2.2/§2.3). Key order matters only to humans reading logs. */
export interface DaemonEnvelope<E extends "request" | "backwards_response", D> {
  readonly session_id: string;
  readonly conversation_id: string | null;
  readonly message_id: string | null;
  readonly app_id: string | null;
  readonly endpoint_id: string | null;
  readonly context: Readonly<Record<string, unknown>> | null;
  readonly event: E;
  readonly data: D;
}

/** `data` of a request envelope: user_id, type and action beside the action's own fields. */
export type RequestData = Readonly<Record<string, unknown>> & {
  readonly user_id: string;
  readonly type: string;
  readonly action: string;
};

/** `data` of a backwards_response envelope (spec §2.3). */
export interface BackwardsResponseData {
  readonly backwards_request_id: string;
  readonly event: "response" | "error" | "end";
  readonly message: string;
  readonly data: unknown;
}

export type RequestEnvelope = DaemonEnvelope<"request", RequestData>;
export type BackwardsResponseEnvelope = DaemonEnvelope<"backwards_response", BackwardsResponseData>;

/** requestEnvelope builds the stdin message that starts a session. */
export function requestEnvelope(request: InvocationRequest): RequestEnvelope {
  return {
    session_id: request.sessionId,
    conversation_id: request.conversationId ?? null,
    message_id: request.messageId ?? null,
    app_id: request.appId ?? null,
    endpoint_id: request.endpointId ?? null,
    context: request.context ?? null,
    event: "request",
    // The action's fields first, so that a stray user_id/type/action among them cannot override the envelope's.
    data: { ...request.data, user_id: request.userId, type: request.type, action: request.action },
  };
}

/**
 * backwardsResponseEnvelope builds the reply to one backwards invocation. Like the reference daemon it carries
 * only the session id; the other envelope fields are null (the plugin matches replies by backwards_request_id).
 */
export function backwardsResponseEnvelope(
  sessionId: string,
  backwardsRequestId: string,
  response: BackwardsResponse,
): BackwardsResponseEnvelope {
  const data: BackwardsResponseData =
    response.event === "response"
      ? { backwards_request_id: backwardsRequestId, event: "response", message: response.message, data: response.data }
      : response.event === "error"
        ? { backwards_request_id: backwardsRequestId, event: "error", message: response.message, data: null }
        : { backwards_request_id: backwardsRequestId, event: "end", message: "", data: null };
  return {
    session_id: sessionId,
    conversation_id: null,
    message_id: null,
    app_id: null,
    endpoint_id: null,
    context: null,
    event: "backwards_response",
    data,
  };
}

/** encodeLine serialises one message as a single `\n`-terminated line (JSON never holds a raw newline). */
export function encodeLine(message: unknown): string {
  return `${JSON.stringify(message)}\n`;
}

// ---- plugin → daemon ----------------------------------------------------------------------------------------

/** A `session` message's payload (spec §2.4): what one session produced. */
export type SessionMessage =
  | { readonly type: "stream"; readonly data: unknown }
  | { readonly type: "end" }
  | {
      readonly type: "error";
      readonly errorType: string;
      readonly message: string;
      readonly args: Readonly<Record<string, unknown>> | null;
    }
  | {
      readonly type: "invoke";
      readonly backwardsRequestId: string;
      readonly invokeType: string;
      readonly request: Readonly<Record<string, unknown>>;
    }
  /** A session message the daemon cannot act on (unknown type, or invoke/error missing fields); fails the session. */
  | { readonly type: "invalid"; readonly errorType: string; readonly reason: string };

export type LogLevel = "debug" | "info" | "warn" | "error";

/** One event a plugin writes to stdout. */
export type PluginEvent =
  | { readonly event: "heartbeat" }
  | { readonly event: "log"; readonly level: LogLevel; readonly message: string; readonly timestamp?: number }
  | { readonly event: "error"; readonly sessionId: string | null; readonly data: unknown }
  | { readonly event: "session"; readonly sessionId: string; readonly message: SessionMessage };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** logLevelOf maps the SDK's Python level names onto pino's (fatal and critical become error). */
export function logLevelOf(level: unknown): LogLevel {
  switch (typeof level === "string" ? level.toLowerCase() : "") {
    case "debug":
      return "debug";
    case "warn":
    case "warning":
      return "warn";
    case "error":
    case "fatal":
    case "critical":
      return "error";
    default:
      return "info";
  }
}

function parseSessionMessage(data: unknown): SessionMessage {
  if (!isRecord(data)) {
    return { type: "invalid", errorType: "unknown_stream_message_type", reason: "the session message is not an object" };
  }
  const inner = data["data"];
  switch (data["type"]) {
    case "stream":
      return { type: "stream", data: inner ?? null };
    case "end":
      return { type: "end" };
    case "error": {
      const body = isRecord(inner) ? inner : {};
      const message = body["message"];
      return {
        type: "error",
        errorType: typeof body["error_type"] === "string" ? body["error_type"] : "PluginInvokeError",
        message: typeof message === "string" ? message : JSON.stringify(message ?? "the plugin reported an error"),
        args: isRecord(body["args"]) ? body["args"] : null,
      };
    }
    case "invoke": {
      const body = isRecord(inner) ? inner : {};
      const id = body["backwards_request_id"];
      const kind = body["type"];
      const request = body["request"];
      if (typeof id !== "string" || id === "" || typeof kind !== "string" || kind === "" || !isRecord(request)) {
        return {
          type: "invalid",
          errorType: "invoke_dify_error",
          reason: "the plugin's backwards invocation lacks backwards_request_id, type or a request object",
        };
      }
      return { type: "invoke", backwardsRequestId: id, invokeType: kind, request };
    }
    default:
      return {
        type: "invalid",
        errorType: "unknown_stream_message_type",
        reason: `unknown session message type ${JSON.stringify(data["type"])}`,
      };
  }
}

/**
 * parsePluginEvent reads one decoded stdout line. It returns undefined for anything that is not a known event
 * (the SDK's first line is its manifest, without `event`), and for a `session` event without a session id.
 */
export function parsePluginEvent(value: unknown): PluginEvent | undefined {
  if (!isRecord(value)) return undefined;
  const data = value["data"];
  switch (value["event"]) {
    case "heartbeat":
      return { event: "heartbeat" };
    case "log": {
      const body = isRecord(data) ? data : {};
      const timestamp = body["timestamp"];
      const message = body["message"];
      return {
        event: "log",
        level: logLevelOf(body["level"]),
        message: typeof message === "string" ? message : JSON.stringify(message ?? null),
        ...(typeof timestamp === "number" ? { timestamp } : {}),
      };
    }
    case "error": {
      const sessionId = value["session_id"];
      return { event: "error", sessionId: typeof sessionId === "string" ? sessionId : null, data: data ?? null };
    }
    case "session": {
      const sessionId = value["session_id"];
      if (typeof sessionId !== "string" || sessionId === "") return undefined;
      return { event: "session", sessionId, message: parseSessionMessage(data) };
    }
    default:
      return undefined;
  }
}
