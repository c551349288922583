import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../../gen/grpc/health/v1/health_pb.js";

/** ReadinessProbe answers whether the daemon can serve requests now (database up, ...). */
export type ReadinessProbe = () => Promise<boolean>;

const WATCH_INTERVAL_MS = 2_000;
// Probes from load balancers and orchestrators can arrive many times a second; the database is
// asked at most once per this interval.
const PROBE_CACHE_MS = 1_000;

/**
 * registerHealth serves grpc.health.v1 for the empty service name (the whole daemon) and for each of
 * `services`: SERVING while the readiness probe passes, NOT_SERVING otherwise. Unknown names answer
 * NOT_FOUND, as the protocol asks.
 */
export function registerHealth(router: ConnectRouter, services: readonly string[], probe: ReadinessProbe): void {
  const known = new Set(["", ...services]);
  const ready = cached(() => probe().catch(() => false), PROBE_CACHE_MS);
  const statusOf = async (service: string): Promise<Status> => {
    if (!known.has(service)) throw new ConnectError(`unknown service ${JSON.stringify(service)}`, Code.NotFound);
    return (await ready()) ? Status.SERVING : Status.NOT_SERVING;
  };
  router.service(Health, {
    async check(req) {
      return { status: await statusOf(req.service) };
    },
    // Watch sends the status at once and then each time it changes, until the caller goes away.
    async *watch(req, ctx) {
      let last: Status | undefined;
      while (!ctx.signal.aborted) {
        const status = known.has(req.service) ? await statusOf(req.service) : Status.SERVICE_UNKNOWN;
        if (status !== last) yield { status };
        last = status;
        await sleep(WATCH_INTERVAL_MS, ctx.signal);
      }
    },
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });
}

/** cached shares one in-flight or recent answer of `fn` among all callers for ttlMs. */
function cached<T>(fn: () => Promise<T>, ttlMs: number): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = performance.now();
    if (!last || now - last.at > ttlMs) last = { at: now, value: fn() };
    return last.value;
  };
}
