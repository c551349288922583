import { createHash, timingSafeEqual } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/** Services any caller may use without a key: operators' probes and tools need them before anything else. */
const OPEN_SERVICE_PREFIXES = ["grpc.health.v1.", "grpc.reflection.v1.", "grpc.reflection.v1alpha."];

/**
 * authInterceptor requires `x-api-key` to equal SERVER_KEY on every RPC but health and reflection.
 * Both sides are hashed before a constant-time compare, so neither the key nor its length leaks
 * through timing.
 */
export function authInterceptor(serverKey: string): Interceptor {
  const expected = digest(serverKey);
  return (next) => async (req) => {
    if (OPEN_SERVICE_PREFIXES.some((prefix) => req.service.typeName.startsWith(prefix))) return next(req);
    const given = req.header.get("x-api-key");
    if (given === null) {
      throw new ConnectError("missing x-api-key header: send the daemon's SERVER_KEY in it", Code.Unauthenticated);
    }
    if (!timingSafeEqual(digest(given), expected)) {
      throw new ConnectError("wrong x-api-key: it must equal the daemon's SERVER_KEY", Code.Unauthenticated);
    }
    return next(req);
  };
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}
