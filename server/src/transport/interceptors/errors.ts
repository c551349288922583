import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "../../logger.js";
import { toConnectError } from "../error-map.js";
import { mapStream } from "./stream.js";

/** errorsInterceptor turns domain errors into Connect errors, for unary calls and inside streams. */
export function errorsInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const method = `${req.service.typeName}/${req.method.name}`;
    try {
      const res = await next(req);
      if (!res.stream) return res;
      return { ...res, message: mapStream(res.message, { onError: (err) => toConnectError(err, logger, method) }) };
    } catch (err) {
      throw toConnectError(err, logger, method);
    }
  };
}
