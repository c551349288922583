/** Hooks observed while a response stream is consumed. */
export interface StreamHooks {
  /** Called once with the error that ended the stream; returns what to throw instead. */
  onError?: (err: unknown) => unknown;
  /** Called once when the stream ends, with the error if it failed. */
  onEnd?: (err: unknown) => void;
}

/** mapStream passes every message through and lets interceptors see how a server stream ends. */
export async function* mapStream<T>(source: AsyncIterable<T>, hooks: StreamHooks): AsyncIterable<T> {
  try {
    yield* source;
  } catch (err) {
    const mapped = hooks.onError ? hooks.onError(err) : err;
    hooks.onEnd?.(mapped);
    throw mapped;
  }
  hooks.onEnd?.(undefined);
}
