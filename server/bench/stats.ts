/** Latency statistics over one run, in microseconds. */
export interface LatencyStats {
  readonly n: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p99Us: number;
}

export function latencyStats(samplesMs: number[]): LatencyStats {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const us = (ms: number) => Math.round(ms * 1000);
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  return { n: sorted.length, meanUs: us(mean), p50Us: us(at(0.5)), p99Us: us(at(0.99)) };
}

/** timeSequential runs `call` `count` times one after another (after `warmup` unmeasured calls). */
export async function timeSequential(call: () => Promise<unknown>, count: number, warmup = 200): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await call();
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await call();
    samples.push(performance.now() - t0);
  }
  return samples;
}

/** printFigure writes one benchmark figure as one JSON line, the format `npm run bench` promises. */
export function printFigure(figure: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(figure)}\n`);
}

/** median of a few timed runs (the upper middle one for an even count). */
export function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
}

/** ratio of two figures, to two decimals, as the figures print it. */
export function ratio(value: number, baseline: number): number {
  return Math.round((value / Math.max(Number.EPSILON, baseline)) * 100) / 100;
}
