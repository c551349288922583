/**
 * The public endpoint hook, `/e/{hook_id}/{path...}` (spec dify-http-api §2.7, §8): no API key; the whole request
 * (method, path after the hook, query, headers, body) goes to the plugin's invoke_endpoint as raw HTTP/1.1 bytes,
 * and the plugin's answer comes back as it streams: status and headers, then the body piece by piece.
 *
 * Errors before the answer starts are the Dify envelope with the Go daemon's statuses: 404 for an unknown hook, a
 * missing installation, a disabled endpoint or a plugin that is not running; 413 for a body over the request limit;
 * 500 for a failed invocation ("killed by timeout" past PLUGIN_MAX_EXECUTION_TIMEOUT). Once the status line is out,
 * a failure ends the body with the error text (or cuts the connection when the plugin declared a Content-Length).
 */
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { DeadlineExceededError } from "../errors.js";
import type { Logger } from "../logger.js";
import { DEFAULT_MAX_ENDPOINT_REQUEST_BYTES, RequestTooLargeError, isTls, rawHttpRequest, readBody } from "../plugins/endpoint-request.js";
import type { Endpoints } from "../plugins/endpoints.js";
import type { RuntimeRegistry } from "../plugins/runtime-registry.js";
import { PluginInvokeError } from "../runtimes/runtime.js";

/** The default largest response body relayed from a plugin: 64 MiB. */
export const DEFAULT_MAX_ENDPOINT_RESPONSE_BYTES = 64 * 1024 * 1024;

export interface EndpointHookOptions {
  readonly endpoints: Endpoints;
  /** When given, a hook whose plugin has no runtime here answers 404 before the body is read. */
  readonly runtimes?: RuntimeRegistry;
  /** Largest request body (default 10 MiB). */
  readonly maxRequestBytes?: number;
  /** Largest response body relayed (default 64 MiB). */
  readonly maxResponseBytes?: number;
  /** PLUGIN_MAX_EXECUTION_TIMEOUT in ms (default 600 s). */
  readonly maxExecutionMs?: number;
  readonly logger: Logger;
}

/**
 * What the handler uses of a response, common to HTTP/1.1 and HTTP/2 (node's ServerResponse and Http2ServerResponse,
 * and Connect's NodeServerResponse, all fit).
 */
export interface EndpointHookResponse {
  statusCode: number;
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  /** HTTP/1.1 only; an HTTP/2 response tells through its stream. */
  readonly destroyed?: boolean;
  readonly stream?: { readonly destroyed: boolean };
  setHeader(name: string, value: string | number): unknown;
  writeHead(status: number, headers?: Record<string, string | number>): unknown;
  write(chunk: Uint8Array | string): boolean;
  end(chunk?: Uint8Array | string): unknown;
  destroy(error?: Error): unknown;
  once(event: "close", listener: () => void): unknown;
  off(event: "close", listener: () => void): unknown;
}

/** The handler serves HTTP/1.1 and h2c requests alike (the one-port server hands it either). */
export type NodeHandler = (req: IncomingMessage | Http2ServerRequest, res: EndpointHookResponse) => Promise<void>;

const METHODS = new Set(["HEAD", "GET", "POST", "PUT", "DELETE", "OPTIONS"]);
const HOOK_PATH = /^\/e\/([^/?#]+)(\/[^?#]*)?$/;
/** Response headers that describe one hop, never relayed from the plugin. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "trailer", "te", "proxy-connection"]);

/** isEndpointHookPath tells whether a request URL is an endpoint hook (`/e/...`), for the server's routing. */
export function isEndpointHookPath(url: string | undefined): boolean {
  return url !== undefined && (url.startsWith("/e/") || url === "/e");
}

/** The Dify envelope of an error (spec §1.2): the message is a JSON string of {message, error_type, args}. */
function envelope(code: number, errorType: string, message: string): string {
  return JSON.stringify({ code, message: JSON.stringify({ message, error_type: errorType, args: null }), data: null });
}

function sendJson(res: EndpointHookResponse, status: number, body: string): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/** The error envelope for an invocation that failed before any of the answer was written. */
function failureBody(err: unknown): string {
  if (err instanceof DeadlineExceededError) return envelope(-500, "PluginDaemonInternalServerError", "killed by timeout");
  if (err instanceof PluginInvokeError) {
    const inner = JSON.stringify({ message: err.message, error_type: err.errorType, args: err.args ?? {} });
    return envelope(-500, "PluginInvokeError", inner);
  }
  return envelope(-500, "PluginDaemonInternalServerError", err instanceof Error ? err.message : String(err));
}

/**
 * createEndpointHookHandler returns the node handler for `/e/{hook_id}/...`; mount it for every URL starting with
 * `/e/` (isEndpointHookPath). Other URLs and other methods answer the dialect's unknown-route 404.
 */
export function createEndpointHookHandler(options: EndpointHookOptions): NodeHandler {
  const { endpoints } = options;
  const maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_ENDPOINT_REQUEST_BYTES;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_ENDPOINT_RESPONSE_BYTES;
  const maxExecutionMs = options.maxExecutionMs ?? 600_000;
  const logger = options.logger.child({ component: "endpoint-hook" });

  return async function handleEndpointHook(req, res) {
    const url = req.url ?? "/";
    const queryAt = url.indexOf("?");
    const pathPart = queryAt === -1 ? url : url.slice(0, queryAt);
    const query = queryAt === -1 ? "" : url.slice(queryAt + 1);
    const match = HOOK_PATH.exec(pathPart);
    const method = (req.method ?? "GET").toUpperCase();
    if (!match || !METHODS.has(method)) {
      return sendJson(res, 404, JSON.stringify({ code: "not_found", message: "route not found" }));
    }
    const hookId = match[1] ?? "";
    const path = match[2] ?? "/";

    let resolved;
    try {
      resolved = await endpoints.resolveHook(hookId);
    } catch (err) {
      logger.error({ err, hookId }, "endpoint lookup failed");
      return sendJson(res, 500, envelope(-500, "PluginDaemonInternalServerError", "internal server error"));
    }
    switch (resolved.kind) {
      case "unknown":
        return sendJson(res, 404, envelope(-400, "PluginDaemonBadRequestError", "endpoint not found"));
      case "no-installation":
        return sendJson(res, 404, envelope(-400, "PluginDaemonBadRequestError", "plugin installation not found"));
      case "disabled":
        return sendJson(res, 404, envelope(-404, "PluginDaemonNotFoundError", "endpoint not found"));
      case "no-endpoint-declaration":
        return sendJson(res, 404, envelope(-404, "PluginNotFoundError", "plugin not found"));
      case "ok":
        break;
    }
    if (options.runtimes) {
      try {
        await options.runtimes.get(resolved.installation.pluginUniqueIdentifier);
      } catch (err) {
        // Dify's caller gets Go's answer; the operator gets the reason (a launch that failed, a runtime gone).
        logger.warn({ err, hookId, plugin: resolved.installation.pluginUniqueIdentifier }, "endpoint's plugin has no running runtime");
        return sendJson(res, 404, envelope(-404, "PluginNotFoundError", "plugin not found"));
      }
    }

    let body: Buffer;
    try {
      body = await readBody(req, maxRequestBytes);
    } catch (err) {
      if (err instanceof RequestTooLargeError) {
        // HTTP/1.1 only: the unread rest of the body must not be taken for the next request (HTTP/2 refuses the header).
        if (req.httpVersionMajor === 1) res.setHeader("connection", "close");
        return sendJson(res, 413, envelope(-400, "PluginDaemonBadRequestError", err.message));
      }
      logger.info({ err, hookId }, "reading the endpoint request failed");
      return sendJson(res, 400, envelope(-400, "PluginDaemonBadRequestError", `cannot read the request: ${(err as Error).message}`));
    }
    const raw = rawHttpRequest({ method, path, query, rawHeaders: req.rawHeaders, body, hookId, tls: isTls(req) });

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DeadlineExceededError("killed by timeout")), maxExecutionMs);
    const onClose = (): void => {
      if (!res.writableEnded) controller.abort(new Error("the caller closed the connection"));
    };
    res.once("close", onClose);

    let status = 200;
    const headers: Record<string, string> = {};
    let started = false;
    let declaredLength = false;
    let sent = 0;
    const start = (): void => {
      started = true;
      for (const [name, value] of Object.entries(headers)) {
        const lower = name.toLowerCase();
        if (HOP_BY_HOP.has(lower)) continue;
        if (lower === "content-length" && !/^\d+$/.test(value)) continue;
        try {
          res.setHeader(name, value);
          if (lower === "content-length") declaredLength = true;
        } catch (err) {
          logger.warn({ hookId, header: name, err: (err as Error).message }, "dropped an invalid response header from the plugin");
        }
      }
      res.writeHead(status);
    };
    const failAfterStart = (text: string): void => {
      if (declaredLength) res.destroy(new Error(text));
      else res.end(`\n${text}`);
    };

    try {
      for await (const part of endpoints.invoke(resolved, raw, controller.signal)) {
        if (!started) {
          if (part.status !== undefined) status = part.status;
          // Headers accumulate until the first body piece; later ones cannot be sent any more.
          if (part.headers) Object.assign(headers, part.headers);
          if (part.body === undefined) continue;
          start();
        }
        if (!part.body || part.body.length === 0) continue;
        sent += part.body.length;
        if (sent > maxResponseBytes) {
          controller.abort(new Error("response too large"));
          logger.warn({ hookId, limit: maxResponseBytes }, "endpoint response over the limit; cut");
          failAfterStart(`endpoint response exceeds the ${maxResponseBytes}-byte limit; the rest was dropped`);
          return;
        }
        res.write(part.body);
      }
      if (!started) start();
      res.end();
    } catch (err) {
      const reason = controller.signal.aborted ? controller.signal.reason : err;
      if (res.destroyed === true || res.stream?.destroyed === true) return;
      if (!started) return sendJson(res, 500, failureBody(reason));
      failAfterStart(reason instanceof DeadlineExceededError ? "killed by timeout" : reason instanceof Error ? reason.message : String(reason));
    } finally {
      clearTimeout(timer);
      res.off("close", onClose);
    }
  };
}
