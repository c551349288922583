import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";

type NodeHandler = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
/** The request and response the Connect adapter's fallback gets, from node:http or node:http2. */
export type NodeRequest = Parameters<NodeHandler>[0];
export type NodeResponse = Parameters<NodeHandler>[1];

/** A request body read up to a limit: the bytes, or the fact that it was longer (the rest is drained, not kept). */
export type Body = { readonly bytes: Buffer; readonly tooLarge: false } | { readonly tooLarge: true };

/**
 * readBody buffers at most `limit` bytes of the body. A longer body is read to its end without being kept, so the
 * client still gets an answer instead of a reset connection.
 */
export async function readBody(req: NodeRequest, limit: number): Promise<Body> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = declared > limit;
  for await (const chunk of req as AsyncIterable<Buffer | string>) {
    if (tooLarge) continue;
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    size += buf.length;
    if (size > limit) {
      tooLarge = true;
      chunks.length = 0;
      continue;
    }
    chunks.push(buf);
  }
  return tooLarge ? { tooLarge: true } : { bytes: Buffer.concat(chunks), tooLarge: false };
}

/** headersOf turns Node's incoming headers into a fetch Headers (for the handler context). */
export function headersOf(req: NodeRequest): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith(":") || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}

/** header reads one request header ("" when absent). */
export function header(req: NodeRequest, name: string): string {
  const value = req.headers[name.toLowerCase()];
  return (Array.isArray(value) ? value[0] : value) ?? "";
}

/** mediaType is the Content-Type without parameters, lowercased. */
export function mediaType(req: NodeRequest): string {
  return header(req, "content-type").split(";")[0]!.trim().toLowerCase();
}

/** writeJson answers with a JSON body already serialized (Go's gin answers `application/json; charset=utf-8`). */
export function writeJson(res: NodeResponse, status: number, body: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const bytes = Buffer.from(body, "utf8");
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": bytes.length });
  res.end(bytes);
}

/** writeBytes answers with raw bytes of a content type. */
export function writeBytes(res: NodeResponse, status: number, contentType: string, bytes: Uint8Array): void {
  res.writeHead(status, { "content-type": contentType, "content-length": bytes.length });
  res.end(bytes);
}

/** write writes one piece of a streamed body, waiting when the client reads slower than we write. */
export async function write(res: NodeResponse, text: string): Promise<void> {
  if (res.write(text)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
