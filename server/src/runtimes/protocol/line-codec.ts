/**
 * Line framing for plugin output (spec plugin-protocol §2.1): `\n`-separated JSON, empty lines skipped.
 *
 * The reference daemon reads with a fixed-size scanner and kills the whole plugin instance when one line is
 * longer than 5 MB. Here a line over the limit is skipped while it streams by (never buffered past the limit),
 * reported once with its size and the session id recovered from its first bytes, and reading carries on with
 * the next line. Chunks are collected as Buffers and joined once per line, so a long line costs linear time.
 */
import type { Readable } from "node:stream";
import { type PluginEvent, parsePluginEvent } from "./messages.js";

/** Default longest accepted line: large tool outputs (files, 20 MB texts) must pass. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

/** How many leading bytes of an oversized line are kept to find out whose it was. */
const PREFIX_BYTES = 1024;

const NEWLINE = 0x0a;

export interface OversizedLine {
  /** The line's full length in bytes, without the newline. */
  readonly bytes: number;
  /** Its first bytes (at most 1 KiB). */
  readonly prefix: Buffer;
}

export interface LineSplitterOptions {
  readonly maxLineBytes: number;
  readonly onLine: (line: Buffer) => void;
  readonly onOversizedLine: (line: OversizedLine) => void;
}

/** LineSplitter cuts a byte stream into lines; push() chunks as they come, end() at EOF. */
export class LineSplitter {
  readonly #options: LineSplitterOptions;
  #parts: Buffer[] = [];
  #size = 0;
  /** Bytes of the current line seen so far once it went over the limit; -1 while within it. */
  #discarded = -1;
  #prefix: Buffer = Buffer.alloc(0);

  constructor(options: LineSplitterOptions) {
    this.#options = options;
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline === -1) {
        this.#append(chunk.subarray(start));
        return;
      }
      this.#append(chunk.subarray(start, newline));
      this.#finishLine();
      start = newline + 1;
    }
  }

  /** end flushes a last line that had no trailing newline. */
  end(): void {
    this.#finishLine();
  }

  #append(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.#discarded >= 0) {
      this.#discarded += piece.length;
      return;
    }
    if (this.#size + piece.length <= this.#options.maxLineBytes) {
      this.#parts.push(piece);
      this.#size += piece.length;
      return;
    }
    // Over the limit: keep only the head (to recover the session id) and count the rest as it streams by.
    this.#prefix = headOf([...this.#parts, piece], PREFIX_BYTES);
    this.#discarded = this.#size + piece.length;
    this.#parts = [];
    this.#size = 0;
  }

  #finishLine(): void {
    if (this.#discarded >= 0) {
      const line: OversizedLine = { bytes: this.#discarded, prefix: this.#prefix };
      this.#discarded = -1;
      this.#prefix = Buffer.alloc(0);
      this.#options.onOversizedLine(line);
      return;
    }
    if (this.#size === 0) return;
    const line = this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts, this.#size);
    this.#parts = [];
    this.#size = 0;
    this.#options.onLine(line);
  }
}

/** headOf copies the first `bytes` bytes of a list of buffers, without joining the rest. */
function headOf(parts: readonly Buffer[], bytes: number): Buffer {
  const head: Buffer[] = [];
  let size = 0;
  for (const part of parts) {
    if (size >= bytes) break;
    const take = part.subarray(0, bytes - size);
    head.push(take);
    size += take.length;
  }
  return Buffer.concat(head, size);
}

/**
 * sessionIdOfPrefix finds the top-level `session_id` in the first bytes of a JSON event line. The SDK writes
 * `{"event": …, "session_id": …, "data": …}` in that order, so the id comes before `data`; an id that only
 * appears after `"data"` belongs to the payload and is not trusted.
 */
export function sessionIdOfPrefix(prefix: Buffer): string | undefined {
  const text = prefix.toString("utf8");
  const match = /"session_id"\s*:\s*"((?:[^"\\]|\\.){1,256})"/.exec(text);
  if (!match || match[1] === undefined) return undefined;
  const dataAt = text.indexOf('"data"');
  if (dataAt !== -1 && dataAt < match.index) return undefined;
  try {
    const id: unknown = JSON.parse(`"${match[1]}"`);
    return typeof id === "string" && id !== "" ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * eventOfLine decodes one output line into a known protocol event, or undefined for anything else (the
 * SDK's manifest line, stray prints, unknown events): those are not errors, the protocol ignores them.
 */
export function eventOfLine(line: Buffer): PluginEvent | undefined {
  try {
    return parsePluginEvent(JSON.parse(line.toString("utf8")));
  } catch {
    return undefined;
  }
}

export interface PluginEventReaderOptions {
  readonly maxLineBytes?: number;
  /** A known protocol event. */
  readonly onEvent: (event: PluginEvent) => void;
  /** A line over the limit; `sessionId` when its session could be recovered from its first bytes. */
  readonly onOversizedLine?: (line: { bytes: number; limit: number; sessionId: string | undefined }) => void;
  /** A line that is not JSON or not a known event (the SDK's manifest line, stray prints). */
  readonly onIgnoredLine?: (line: Buffer) => void;
  /** EOF of the stream. */
  readonly onEnd?: () => void;
}

/**
 * readPluginEvents decodes a plugin's stdout into events until the stream ends. It returns a function that
 * detaches it from the stream.
 */
export function readPluginEvents(stream: Readable, options: PluginEventReaderOptions): () => void {
  const limit = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const splitter = new LineSplitter({
    maxLineBytes: limit,
    onLine: (line) => {
      const event = eventOfLine(line);
      if (event) options.onEvent(event);
      else options.onIgnoredLine?.(line);
    },
    onOversizedLine: ({ bytes, prefix }) =>
      options.onOversizedLine?.({ bytes, limit, sessionId: sessionIdOfPrefix(prefix) }),
  });
  const onData = (chunk: Buffer | string): void => splitter.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  const onEnd = (): void => {
    splitter.end();
    options.onEnd?.();
  };
  stream.on("data", onData);
  stream.once("end", onEnd);
  return () => {
    stream.off("data", onData);
    stream.off("end", onEnd);
  };
}
