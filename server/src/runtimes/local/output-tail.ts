/** OutputTail keeps the last bytes of a process's output, for error messages ("…; stderr: <tail>"). */
export class OutputTail {
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(limit = 4096) {
    this.#limit = limit;
  }

  push(chunk: Buffer | string): void {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    this.#chunks.push(bytes);
    this.#size += bytes.length;
    // Drop whole chunks from the front while what is left still covers the limit.
    while (this.#chunks.length > 1 && this.#size - (this.#chunks[0]?.length ?? 0) >= this.#limit) {
      this.#size -= this.#chunks.shift()?.length ?? 0;
    }
  }

  /** text is the tail as trimmed UTF-8, at most `limit` bytes (a cut multi-byte character shows as U+FFFD). */
  text(): string {
    const all = Buffer.concat(this.#chunks, this.#size);
    const cut = all.length > this.#limit ? all.subarray(all.length - this.#limit) : all;
    return `${all.length > this.#limit ? "…" : ""}${cut.toString("utf8")}`.trim();
  }

  get empty(): boolean {
    return this.#size === 0;
  }
}
