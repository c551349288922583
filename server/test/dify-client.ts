import { randomBytes } from "node:crypto";
import http from "node:http";

/**
 * A test double of Dify's plugin client (api/core/plugin/impl/base.py): it sends requests exactly as Dify's httpx
 * client does (headers, JSON as Python's json.dumps writes it, multipart as httpx frames it, GET with a JSON body
 * where Dify does that) and reads answers as Dify does: raise_for_status, then the envelope and its error types;
 * streams line by line, `data:` stripped, one envelope per line.
 */

export interface DifyCall {
  readonly params?: Record<string, string | number>;
  /** A JSON body: sent with `Content-Type: application/json`, as Dify sends JSON (also on one GET). */
  readonly json?: unknown;
  /** Multipart: text fields, then files (name -> [filename, bytes, content type]), as httpx orders them. */
  readonly form?: { readonly data: Record<string, string>; readonly files: Record<string, readonly [string, Buffer, string]> };
  readonly headers?: Record<string, string>;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** What Dify raises: the daemon's error_type and message (for PluginInvokeError, the plugin's own type too). */
export class DifyClientError extends Error {
  constructor(
    readonly kind: string,
    message: string,
    readonly invokeErrorType?: string,
    readonly status?: number,
  ) {
    super(`${kind}: ${message}`);
  }
}

/** pyJson writes JSON as Python's json.dumps does by default: ", " and ": " separators, non-ASCII escaped. */
export function pyJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean" || typeof value === "number") return String(value);
  if (typeof value === "string") return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  if (Array.isArray(value)) return `[${value.map(pyJson).join(", ")}]`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${pyJson(k)}: ${pyJson(v)}`)
    .join(", ")}}`;
}

export class DifyPluginClient {
  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  private prepare(method: string, path: string, call: DifyCall): { url: URL; headers: Record<string, string>; body?: Buffer } {
    const url = new URL(`${this.baseUrl}/${path}`);
    for (const [k, v] of Object.entries(call.params ?? {})) url.searchParams.append(k, String(v));
    const headers: Record<string, string> = { ...call.headers, "X-Api-Key": this.apiKey, "Accept-Encoding": "gzip, deflate, br" };
    if (call.json !== undefined) {
      headers["Content-Type"] = "application/json";
      return { url, headers, body: Buffer.from(pyJson(call.json)) };
    }
    if (call.form) {
      const boundary = randomBytes(16).toString("hex");
      const pieces: Buffer[] = [];
      for (const [name, value] of Object.entries(call.form.data)) {
        pieces.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
      }
      for (const [name, [filename, bytes, type]] of Object.entries(call.form.files)) {
        pieces.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`));
        pieces.push(bytes, Buffer.from("\r\n"));
      }
      pieces.push(Buffer.from(`--${boundary}--\r\n`));
      headers["Content-Type"] = `multipart/form-data; boundary=${boundary}`;
      return { url, headers, body: Buffer.concat(pieces) };
    }
    void method;
    return { url, headers };
  }

  /** send: one request over node:http (fetch refuses a GET with a body), the whole answer buffered. */
  async send(method: string, path: string, call: DifyCall = {}): Promise<RawResponse> {
    const res = await this.open(method, path, call);
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
  }

  open(method: string, path: string, call: DifyCall = {}): Promise<http.IncomingMessage> {
    const { url, headers, body } = this.prepare(method, path, call);
    return new Promise((resolve, reject) => {
      const req = http.request(url, { method, headers: body ? { ...headers, "Content-Length": String(body.length) } : headers }, resolve);
      req.on("error", reject);
      req.end(body);
    });
  }

  /** request: `_request_with_plugin_daemon_response` — status check, envelope, error types, non-null data. */
  async request<T = any>(method: string, path: string, call: DifyCall = {}): Promise<T> {
    const res = await this.send(method, path, call);
    if (res.status < 200 || res.status >= 300) {
      throw new DifyClientError(res.status < 500 ? "PluginDaemonClientSideError" : "PluginDaemonInternalServerError", res.body.toString(), undefined, res.status);
    }
    const envelope = JSON.parse(res.body.toString()) as { code: number; message: string; data: T | null };
    if (typeof envelope.code !== "number" || typeof envelope.message !== "string" || !("data" in envelope)) throw new Error(`not an envelope: ${res.body}`);
    if (envelope.code !== 0) throw errorOf(envelope.code, envelope.message);
    if (envelope.data === null) throw new Error("got empty data from plugin daemon");
    return envelope.data;
  }

  /** lines: the non-empty lines of a streamed answer as they arrive, `data:` stripped (Dify's `_stream_request`). */
  async *lines(method: string, path: string, call: DifyCall = {}): AsyncGenerator<string> {
    const res = await this.open(method, path, call);
    let pending = "";
    for await (const chunk of res) {
      pending += (chunk as Buffer).toString("utf8");
      const parts = pending.split(/\r\n|\n|\r/);
      pending = parts.pop() ?? "";
      for (const line of parts) {
        const text = stripData(line);
        if (text) yield text;
      }
    }
    const last = stripData(pending);
    if (last) yield last;
  }

  /** stream: `_request_with_plugin_daemon_response_stream` — every chunk's data, raising on an error envelope. */
  async *stream<T = any>(path: string, body: unknown, pluginId: string): AsyncGenerator<T> {
    for await (const line of this.lines("POST", path, { json: body, headers: { "X-Plugin-ID": pluginId } })) {
      const envelope = JSON.parse(line) as { code: number; message: string; data: T | null };
      if (envelope.code !== 0) {
        if (envelope.code === -500) throw errorOf(envelope.code, envelope.message);
        throw new DifyClientError("ValueError", `plugin daemon: ${envelope.message}, code: ${envelope.code}`);
      }
      if (envelope.data === null) throw new Error("got empty data from plugin daemon");
      yield envelope.data;
    }
  }

  /** all: every chunk of a stream. */
  async all<T = any>(path: string, body: unknown, pluginId: string): Promise<T[]> {
    const out: T[] = [];
    for await (const chunk of this.stream<T>(path, body, pluginId)) out.push(chunk);
    return out;
  }
}

function stripData(line: string): string {
  let text = line.trim();
  if (text.startsWith("data:")) text = text.slice(5).trim();
  return text;
}

/** errorOf: `_handle_plugin_daemon_error` — the message is JSON {message, error_type}; PluginInvokeError nests the plugin's. */
function errorOf(code: number, message: string): DifyClientError {
  let error: { message: string; error_type: string };
  try {
    error = JSON.parse(message) as { message: string; error_type: string };
  } catch {
    return new DifyClientError("ValueError", `${message}, code: ${code}`);
  }
  if (error.error_type === "PluginInvokeError") {
    const inner = JSON.parse(error.message) as { error_type?: string; message?: string };
    return new DifyClientError("PluginInvokeError", inner.message ?? "", inner.error_type);
  }
  return new DifyClientError(error.error_type, error.message);
}
