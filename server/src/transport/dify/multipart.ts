/**
 * A minimal multipart/form-data reader (RFC 7578) for the two upload routes. The body is already buffered under
 * the route's size limit; parts are views into it, not copies. Anything malformed is refused with a message.
 */

export interface FormPart {
  readonly name: string;
  /** The part's file name, when it is a file. */
  readonly filename?: string;
  readonly contentType?: string;
  readonly data: Buffer;
}

export class MultipartError extends Error {}

const MAX_PARTS = 64;
const MAX_PART_HEADER_BYTES = 8 * 1024;
const CRLF = Buffer.from("\r\n");
const HEADER_END = Buffer.from("\r\n\r\n");

/** boundaryOf reads the boundary parameter of a multipart/form-data Content-Type, or undefined. */
export function boundaryOf(contentType: string): string | undefined {
  const [type, ...params] = contentType.split(";");
  if (type?.trim().toLowerCase() !== "multipart/form-data") return undefined;
  for (const param of params) {
    const eq = param.indexOf("=");
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== "boundary") continue;
    let value = param.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    // RFC 2046: 1 to 70 characters.
    return value.length >= 1 && value.length <= 70 ? value : undefined;
  }
  return undefined;
}

/** parseMultipart splits a multipart/form-data body into its parts, in order. */
export function parseMultipart(body: Buffer, boundary: string): FormPart[] {
  const dashBoundary = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // The first boundary starts the body or follows a preamble line.
  let pos = body.subarray(0, dashBoundary.length).equals(dashBoundary) ? 0 : body.indexOf(delimiter);
  if (pos < 0) throw new MultipartError("multipart body has no boundary line");
  if (pos > 0) pos += CRLF.length;
  const parts: FormPart[] = [];
  for (;;) {
    pos += dashBoundary.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return parts; // "--": the close delimiter
    while (body[pos] === 0x20 || body[pos] === 0x09) pos++; // transport padding
    if (!body.subarray(pos, pos + 2).equals(CRLF)) throw new MultipartError("multipart boundary line is not followed by CRLF");
    pos += 2;
    const headerEnd = body.indexOf(HEADER_END, pos);
    if (headerEnd < 0 || headerEnd - pos > MAX_PART_HEADER_BYTES) throw new MultipartError("multipart part headers are missing or too long");
    const headers = parseHeaders(body.subarray(pos, headerEnd).toString("latin1"));
    const dataStart = headerEnd + HEADER_END.length;
    const next = body.indexOf(delimiter, dataStart);
    if (next < 0) throw new MultipartError("multipart body ends without its closing boundary");
    const disposition = parseDisposition(headers.get("content-disposition") ?? "");
    if (disposition.name === undefined) throw new MultipartError("multipart part has no form-data name");
    parts.push({
      name: disposition.name,
      ...(disposition.filename !== undefined ? { filename: disposition.filename } : {}),
      ...(headers.has("content-type") ? { contentType: headers.get("content-type")! } : {}),
      data: body.subarray(dataStart, next),
    });
    if (parts.length > MAX_PARTS) throw new MultipartError(`multipart body has more than ${MAX_PARTS} parts`);
    pos = next + CRLF.length;
  }
}

function parseHeaders(text: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

/** parseDisposition reads `form-data; name="x"; filename="y"` (quoted or token values, `\"` escapes). */
function parseDisposition(value: string): { name?: string; filename?: string } {
  const out: { name?: string; filename?: string } = {};
  const param = /;\s*([A-Za-z*]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g;
  for (let m = param.exec(value); m; m = param.exec(value)) {
    const key = m[1]!.toLowerCase();
    const raw = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : (m[3] ?? "");
    // Header bytes were read as latin1; names and file names are UTF-8 on the wire.
    const text = Buffer.from(raw, "latin1").toString("utf8");
    if (key === "name") out.name = text;
    else if (key === "filename") out.filename = text;
  }
  return out;
}
