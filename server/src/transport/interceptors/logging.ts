import { ConnectError, Code, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../../logger.js";
import { mapStream } from "./stream.js";

/**
 * loggingInterceptor logs one line per RPC when it ends: method, code and duration (for a server
 * stream, until its last message). It is the one place RPC failures are logged.
 */
export function loggingInterceptor(logger: Logger): Interceptor {
  const log = logger.child({ component: "rpc" });
  return (next) => async (req) => {
    const started = performance.now();
    const method = `${req.service.typeName}/${req.method.name}`;
    const done = (err: unknown): void => {
      const code = err === undefined ? "ok" : Code[ConnectError.from(err).code];
      const fields = { method, code, durationMs: Math.round((performance.now() - started) * 10) / 10 };
      if (err === undefined) log.info(fields, "rpc");
      else log.warn({ ...fields, error: ConnectError.from(err).rawMessage }, "rpc failed");
    };
    try {
      const res = await next(req);
      if (!res.stream) {
        done(undefined);
        return res;
      }
      return { ...res, message: mapStream(res.message, { onEnd: done }) };
    } catch (err) {
      done(err);
      throw err;
    }
  };
}
