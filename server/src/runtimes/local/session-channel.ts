/**
 * SessionChannel is one session's inbox: the instance's stdout reader pushes into it, the invoking caller
 * pulls from it. Pushing never waits, so a slow consumer never stalls the reader (and with it every other
 * session of the instance, as the reference daemon's blocking buffers do). The price is that a session's
 * backlog is unbounded: a plugin producing faster than its caller reads is buffered in memory.
 */
import type { SessionEvent } from "../runtime.js";

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
