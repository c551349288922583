import { create, type JsonObject } from "@bufbuild/protobuf";
import { ToolInvokeMessageSchema, type ToolInvokeMessage } from "../../../../gen/dify/plugin/v1/tool_pb.js";
import { InvalidPackageError } from "../../errors.js";
import { toolMessageFromChunk } from "./tool-messages.js";

/** The Go daemon's limits for blobs it re-assembles: decoded bytes per chunk and per file. */
export const MAX_BLOB_CHUNK_BYTES = 8192;
export const MAX_BLOB_FILE_BYTES = 15 * 1024 * 1024;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

interface PendingBlob {
  readonly pieces: { readonly order: number; readonly bytes: Buffer }[];
  size: number;
}

/**
 * BlobAssembler turns the ToolInvokeMessage chunks of an agent strategy into the messages the caller sees: every
 * `blob_chunk` sequence (by `id`) becomes ONE `blob` message, sent when its `end` chunk arrives, with the pieces in
 * `sequence` order and that chunk's `meta`; every other message passes as it comes. As in the Go daemon, the `end`
 * chunk's own blob is ignored, chunks lacking id/total_length/blob/end are skipped, and the limits are 8192 decoded
 * bytes per chunk and 15 MiB per file; breaking one fails the call.
 */
export class BlobAssembler {
  private readonly pending = new Map<string, PendingBlob>();

  /** accept takes one raw chunk; it returns the message to send now, or undefined while a blob is incomplete. */
  accept(raw: unknown): ToolInvokeMessage | undefined {
    const chunk = (raw ?? {}) as { type?: unknown; message?: unknown; meta?: unknown };
    if (chunk.type !== "blob_chunk") return toolMessageFromChunk(raw);
    const m = (chunk.message ?? {}) as Record<string, unknown>;
    const { id, total_length: totalLength, blob, end, sequence } = m;
    if (typeof id !== "string" || typeof totalLength !== "number" || typeof blob !== "string" || typeof end !== "boolean") return undefined;

    let file = this.pending.get(id);
    if (!file) {
      file = { pieces: [], size: 0 };
      this.pending.set(id, file);
    }
    if (end) {
      this.pending.delete(id);
      // Stable sort: pieces without a numeric sequence keep their arrival order.
      const pieces = [...file.pieces].sort((a, b) => a.order - b.order);
      const meta = chunk.meta && typeof chunk.meta === "object" && !Array.isArray(chunk.meta) ? (chunk.meta as JsonObject) : undefined;
      return create(ToolInvokeMessageSchema, { message: { case: "blob", value: { blob: Buffer.concat(pieces.map((p) => p.bytes)) } }, meta });
    }

    const where = `blob_chunk ${id} sequence ${String(sequence)}`;
    if (!BASE64.test(blob)) throw new InvalidPackageError(`the plugin sent a malformed ${where}: blob is not valid base64`);
    const bytes = Buffer.from(blob, "base64");
    if (bytes.length > MAX_BLOB_CHUNK_BYTES) {
      this.pending.delete(id);
      throw new InvalidPackageError(`single file chunk is too large: ${where} carries ${bytes.length} bytes, the limit is ${MAX_BLOB_CHUNK_BYTES} bytes per chunk`);
    }
    if (file.size + bytes.length > MAX_BLOB_FILE_BYTES) {
      this.pending.delete(id);
      throw new InvalidPackageError(`file is too large: blob ${id} exceeds the limit of ${MAX_BLOB_FILE_BYTES} bytes (15 MiB) per file`);
    }
    file.size += bytes.length;
    file.pieces.push({ order: typeof sequence === "number" ? sequence : file.pieces.length, bytes });
    return undefined;
  }
}
