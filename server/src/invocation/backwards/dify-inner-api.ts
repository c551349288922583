import { RuntimeUnavailableError } from "../../errors.js";

/** Inner API path and whether Dify streams the answer, per backwards invocation type (spec §6.1). */
const ROUTES: Record<string, { readonly path: string; readonly stream: boolean }> = {
  llm: { path: "invoke/llm", stream: true },
  llm_structured_output: { path: "invoke/llm/structured-output", stream: true },
  text_embedding: { path: "invoke/text-embedding", stream: false },
  multimodal_embedding: { path: "invoke/multimodal-embedding", stream: false },
  rerank: { path: "invoke/rerank", stream: false },
  multimodal_rerank: { path: "invoke/multimodal-rerank", stream: false },
  tts: { path: "invoke/tts", stream: true },
  speech2text: { path: "invoke/speech2text", stream: false },
  moderation: { path: "invoke/moderation", stream: false },
  tool: { path: "invoke/tool", stream: true },
  app: { path: "invoke/app", stream: true },
  fetch_app: { path: "fetch/app/info", stream: false },
  node_parameter_extractor: { path: "invoke/parameter-extractor", stream: false },
  node_question_classifier: { path: "invoke/question-classifier", stream: false },
  system_summary: { path: "invoke/summary", stream: false },
  upload_file: { path: "upload/file/request", stream: false },
};

export interface DifyInnerApi {
  /** call forwards one backwards invocation and yields its results: many for streams, one for unary calls. */
  call(type: string, body: Record<string, unknown>, signal?: AbortSignal): AsyncIterable<{ message: "stream" | "struct"; data: unknown }>;
}

// Frames of Dify's streamed answers: [0x0f][reserved][uint16 LE header length = 10][uint32 LE data length][6 reserved][data].
const FRAME_MAGIC = 0x0f;
const MAX_FRAME_BYTES = 30 * 1024 * 1024;

/** createDifyInnerApi forwards backwards invocations to Dify's inner API (`DIFY_INNER_API_URL`, `DIFY_INNER_API_KEY`). */
export function createDifyInnerApi(options: { readonly baseUrl: string; readonly apiKey: string; readonly timeoutMs?: number }): DifyInnerApi {
  const base = options.baseUrl.replace(/\/+$/, "");
  return {
    async *call(type, body, signal) {
      const route = ROUTES[type];
      if (!route) throw new Error(`unsupported invoke type: ${type}`);
      const timeout = AbortSignal.timeout(options.timeoutMs ?? 240_000);
      const response = await fetch(`${base}/inner/api/${route.path}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-inner-api-key": options.apiKey },
        body: JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      }).catch((err: unknown) => {
        throw new RuntimeUnavailableError(`cannot reach the Dify inner API at ${base}: ${(err as Error).message}`, { cause: err });
      });
      if (response.status !== 200) {
        throw new Error(`request failed with status code: ${response.status} and respond with: ${(await response.text()).slice(0, 2048)}`);
      }
      if (!route.stream) {
        yield { message: "struct", data: unwrap(await response.json()) };
        return;
      }
      for await (const payload of frames(response.body)) yield { message: "stream", data: unwrap(JSON.parse(payload.toString("utf8"))) };
    },
  };
}

function unwrap(envelope: unknown): unknown {
  const { data, error } = (envelope ?? {}) as { data?: unknown; error?: unknown };
  if (typeof error === "string" && error !== "") throw new Error(error);
  if (data === undefined || data === null) throw new Error("the Dify inner API answered without data");
  return data;
}

/** frames splits Dify's length-prefixed binary stream into payloads; a clean end between frames ends it. */
async function* frames(body: ReadableStream<Uint8Array> | null): AsyncIterable<Buffer> {
  if (!body) return;
  let pending = Buffer.alloc(0);
  for await (const chunk of body) {
    pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
    for (;;) {
      if (pending.length < 4) break;
      if (pending[0] !== FRAME_MAGIC) throw new Error("the Dify inner API stream is not in its framed format");
      const headerLength = pending.readUInt16LE(2);
      if (pending.length < 4 + headerLength) break;
      const dataLength = pending.readUInt32LE(4);
      if (dataLength > MAX_FRAME_BYTES) throw new Error(`a Dify inner API frame of ${dataLength} bytes exceeds ${MAX_FRAME_BYTES}`);
      const end = 4 + headerLength + dataLength;
      if (pending.length < end) break;
      yield pending.subarray(4 + headerLength, end);
      pending = pending.subarray(end);
    }
  }
  if (pending.length > 0) throw new Error("the Dify inner API stream ended in the middle of a frame");
}
