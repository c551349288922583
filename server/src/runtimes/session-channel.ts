/**
 * SessionChannel is one session's inbox: the instance's stdout reader pushes into it, the invoking caller
 * pulls from it. Pushing never waits, so a slow consumer never stalls the reader (and with it every other
 * session of the instance, as the reference daemon's blocking buffers do). The price is that a session's
 * backlog is unbounded: a plugin producing faster than its caller reads is buffered in memory.
 */
import { DeadlineExceededError } from "../errors.js";
import { seconds } from "./local/options.js";
import type { SessionMessage } from "./protocol/messages.js";
import { PluginInvokeError, type SessionEvent } from "./runtime.js";

type Item =
  | { readonly kind: "event"; readonly event: SessionEvent }
  | { readonly kind: "end" }
  | { readonly kind: "error"; readonly error: Error };

const RELEASED: Item = { kind: "end" };

export class SessionChannel {
  readonly id: string;
  #items: Item[] = [];
  #head = 0;
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(id: string) {
    this.id = id;
  }

  /** closed is true once end or an error was queued; later pushes are dropped. */
  get closed(): boolean {
    return this.#closed;
  }

  push(event: SessionEvent): void {
    this.#enqueue({ kind: "event", event });
  }

  end(): void {
    this.#enqueue({ kind: "end" });
    this.#closed = true;
  }

  /** fail queues an error; the consumer sees it after the events already queued. */
  fail(error: Error): void {
    this.#enqueue({ kind: "error", error });
    this.#closed = true;
  }

  #enqueue(item: Item): void {
    if (this.#closed) return;
    this.#items.push(item);
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** next resolves with the next queued item, waiting for one if needed. One consumer at a time. */
  async next(): Promise<Item> {
    while (this.#head >= this.#items.length) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    const item = this.#items[this.#head] as Item;
    this.#items[this.#head] = RELEASED; // drop the reference to the payload
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}

/**
 * routeSessionMessage delivers one `session` message from a plugin to its session's channel, the same way for
 * every runtime: stream and invoke are queued; end, error and malformed messages close the session. Returns
 * false when no session listens any more (the caller may log it).
 */
export function routeSessionMessage(
  sessions: Map<string, SessionChannel>,
  sessionId: string,
  message: SessionMessage,
  plugin: string,
): boolean {
  const channel = sessions.get(sessionId);
  if (!channel) return false;
  switch (message.type) {
    case "stream":
      channel.push({ kind: "chunk", data: message.data });
      break;
    case "invoke":
      channel.push({ kind: "invoke", backwardsRequestId: message.backwardsRequestId, type: message.invokeType, request: message.request });
      break;
    case "end":
      sessions.delete(sessionId);
      channel.end();
      break;
    case "error":
      sessions.delete(sessionId);
      channel.fail(new PluginInvokeError(message.errorType, message.message, message.args));
      break;
    case "invalid":
      sessions.delete(sessionId);
      channel.fail(new PluginInvokeError(message.errorType, `plugin ${plugin}: ${message.reason}`));
      break;
  }
  return true;
}

/** How one session runs on a connection: where its request goes and how it is let go. */
export interface SessionRun {
  readonly channel: SessionChannel;
  /** The plugin, for messages. */
  readonly plugin: string;
  readonly maxExecutionMs: number;
  readonly signal: AbortSignal | undefined;
  /** Writes the request line; false when the connection no longer accepts input. */
  write(): boolean;
  /** The error when write() is refused. */
  notAccepting(): Error;
  /** Detaches the session from its connection (later output for it is dropped). */
  close(): void;
}

/**
 * runSessionChannel writes a session's request and yields its events until the plugin ends it, failing it on
 * the execution deadline (PLUGIN_MAX_EXECUTION_TIMEOUT) or when the caller aborts; it always detaches.
 */
export async function* runSessionChannel(run: SessionRun): AsyncGenerator<SessionEvent, void, undefined> {
  const { channel, signal } = run;
  const timer = setTimeout(() => {
    run.close();
    channel.fail(new DeadlineExceededError(`plugin ${run.plugin} did not finish the invocation within ${seconds(run.maxExecutionMs)} (PLUGIN_MAX_EXECUTION_TIMEOUT)`));
  }, run.maxExecutionMs);
  const onAbort = (): void => {
    run.close();
    channel.fail(signal?.reason instanceof Error ? signal.reason : new Error("the invocation was cancelled"));
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    if (!run.write()) throw run.notAccepting();
    for (;;) {
      const item = await channel.next();
      if (item.kind === "end") return;
      if (item.kind === "error") throw item.error;
      yield item.event;
    }
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    run.close();
  }
}
