import { create, fromJson, type JsonObject, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { ToolInvokeLogStatus, ToolInvokeMessageSchema, type ToolInvokeMessage } from "../../../../gen/dify/plugin/v1/tool_pb.js";
import { InvalidPackageError } from "../../errors.js";

type Chunk = { type?: unknown; message?: Record<string, unknown> | null; meta?: JsonObject | null };

/** Dify's log statuses of a tool's log message. */
export const LOG_STATUS: Readonly<Record<string, ToolInvokeLogStatus>> = {
  start: ToolInvokeLogStatus.START,
  error: ToolInvokeLogStatus.ERROR,
  success: ToolInvokeLogStatus.SUCCESS,
};

const value = (v: unknown) => fromJson(ValueSchema, (v ?? null) as JsonValue);
const str = (v: unknown): string => (typeof v === "string" ? v : "");
const obj = (v: unknown): JsonObject | undefined => (v && typeof v === "object" && !Array.isArray(v) ? (v as JsonObject) : undefined);

/**
 * toolMessageFromChunk maps one ToolInvokeMessage chunk as the plugin writes it ({type, message, meta}, spec
 * plugin-protocol §5.1) to the typed proto message. A chunk of an unknown type fails the invocation, as the Go
 * daemon's validation does, rather than being passed on half-understood.
 */
export function toolMessageFromChunk(raw: unknown): ToolInvokeMessage {
  const chunk = (raw ?? {}) as Chunk;
  const m = chunk.message ?? {};
  const meta = obj(chunk.meta);
  const of = (message: MessageInitShape<typeof ToolInvokeMessageSchema>["message"]) => create(ToolInvokeMessageSchema, { message, meta });
  switch (chunk.type) {
    case "text":
      return of({ case: "text", value: { text: str(m["text"]) } });
    case "json":
      return of({ case: "json", value: { jsonObject: value(m["json_object"]) } });
    case "link":
    case "image":
    case "image_link":
    case "binary_link":
      return of({ case: toCase(chunk.type), value: { url: str(m["text"]) } });
    case "blob":
      return of({ case: "blob", value: { blob: Buffer.from(str(m["blob"]), "base64") } });
    case "blob_chunk":
      return of({
        case: "blobChunk",
        value: {
          id: str(m["id"]),
          sequence: Number(m["sequence"] ?? 0),
          totalLength: BigInt(Math.trunc(Number(m["total_length"] ?? 0))),
          blob: Buffer.from(str(m["blob"]), "base64"),
          end: m["end"] === true,
        },
      });
    case "file":
      return of({ case: "file", value: { file: m as JsonObject } });
    case "variable":
      return of({
        case: "variable",
        value: { variableName: str(m["variable_name"]), variableValue: value(m["variable_value"]), stream: m["stream"] === true },
      });
    case "log":
      return of({
        case: "log",
        value: {
          id: str(m["id"]),
          label: str(m["label"]),
          parentId: typeof m["parent_id"] === "string" ? m["parent_id"] : undefined,
          error: typeof m["error"] === "string" ? m["error"] : undefined,
          status: LOG_STATUS[str(m["status"])] ?? ToolInvokeLogStatus.UNSPECIFIED,
          data: obj(m["data"]),
          metadata: obj(m["metadata"]),
        },
      });
    case "retriever_resources":
      return of({
        case: "retrieverResources",
        value: { retrieverResources: (Array.isArray(m["retriever_resources"]) ? m["retriever_resources"] : []) as JsonObject[], context: str(m["context"]) },
      });
    default:
      throw new InvalidPackageError(`the plugin sent a tool message of unknown type ${JSON.stringify(chunk.type)}`);
  }
}

function toCase(type: "link" | "image" | "image_link" | "binary_link") {
  return ({ link: "link", image: "image", image_link: "imageLink", binary_link: "binaryLink" } as const)[type];
}
