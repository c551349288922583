/**
 * The HTTP request an endpoint plugin receives (spec dify-http-api §8 step 4): the caller's request re-serialised as
 * raw HTTP/1.1 bytes, path relative to the hook, body whole and with a Content-Length (the SDK reads the bytes after
 * the blank line as the body and does not undo chunked encoding), the client-address headers stripped, the original
 * host as Host, and `Dify-Hook-Id` / `Dify-Hook-Url` added.
 */
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { TLSSocket } from "node:tls";
import { InvalidArgumentError } from "../errors.js";

/** Request headers never passed to the plugin: client address traces (as the Go daemon) and hop-by-hop framing. */
const STRIPPED = new Set([
  "x-forwarded-for",
  "x-real-ip",
  "x-forwarded",
  "x-original-forwarded-for",
  "x-original-url",
  "x-original-host",
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "te",
  "trailer",
  "upgrade",
  "proxy-connection",
]);

/** The default largest request body an endpoint accepts: 10 MiB, as the Go daemon reads. */
export const DEFAULT_MAX_ENDPOINT_REQUEST_BYTES = 10 * 1024 * 1024;

/** RequestTooLargeError: the body is over the endpoint request limit. */
export class RequestTooLargeError extends InvalidArgumentError {
  constructor(readonly limit: number) {
    super(`the request body exceeds the ${limit}-byte limit of endpoint requests`);
  }
}

export interface HookRequest {
  readonly method: string;
  /** The path after `/e/{hook_id}`, starting with "/", still percent-encoded as the caller sent it. */
  readonly path: string;
  /** The query string without "?", as sent ("" when none). */
  readonly query: string;
  /** Node's rawHeaders: names in the caller's case, in order, repeated headers kept. */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  readonly hookId: string;
  /** Whether the caller reached the daemon over TLS. */
  readonly tls: boolean;
}

function headerOf(rawHeaders: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === name) return rawHeaders[i + 1];
  }
  return undefined;
}

/** A header line must not smuggle another line into the request. */
function clean(text: string): string {
  return text.replace(/[\r\n]/g, " ");
}

/** rawHttpRequest serialises a hook request for the plugin (the bytes `raw_http_request` carries, hex-encoded). */
export function rawHttpRequest(request: HookRequest): Buffer {
  const host =
    headerOf(request.rawHeaders, "x-original-host") || headerOf(request.rawHeaders, "host") || headerOf(request.rawHeaders, ":authority") || "localhost";
  const lines: string[] = [`${clean(request.method)} ${clean(request.path)}${request.query ? `?${clean(request.query)}` : ""} HTTP/1.1`, `Host: ${clean(host)}`];
  let hookUrlSet = false;
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i] ?? "";
    const lower = name.toLowerCase();
    // HTTP/2 pseudo-headers (:method, :path, :authority, :scheme) are not headers of the HTTP/1.1 request.
    if (STRIPPED.has(lower) || lower === "dify-hook-id" || lower.startsWith(":")) continue;
    if (lower === "dify-hook-url") hookUrlSet = true;
    lines.push(`${clean(name)}: ${clean(request.rawHeaders[i + 1] ?? "")}`);
  }
  // As Go's Request.Write: a length for any body, and an explicit 0 for methods that normally carry one.
  if (request.body.length > 0 || ["POST", "PUT", "PATCH"].includes(request.method)) lines.push(`Content-Length: ${request.body.length}`);
  lines.push(`Dify-Hook-Id: ${request.hookId}`);
  if (!hookUrlSet) {
    const proto = headerOf(request.rawHeaders, "x-forwarded-proto");
    const scheme = request.tls || proto === "https" ? "https" : "http";
    lines.push(`Dify-Hook-Url: ${scheme}://${clean(host)}/e/${request.hookId}${clean(request.path)}`);
  }
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), request.body]);
}

/**
 * readBody collects a request body, refusing one over `limit` bytes with RequestTooLargeError: at once when the
 * Content-Length says so, else as soon as the bytes read pass it (the rest is not buffered).
 */
export async function readBody(req: IncomingMessage | Http2ServerRequest, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw new RequestTooLargeError(limit);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const piece = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    size += piece.length;
    if (size > limit) throw new RequestTooLargeError(limit);
    parts.push(piece);
  }
  return Buffer.concat(parts, size);
}

/** isTls tells whether a request came over TLS. */
export function isTls(req: IncomingMessage | Http2ServerRequest): boolean {
  return (req.socket as Partial<TLSSocket>).encrypted === true;
}
