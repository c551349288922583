import type { Code } from "@connectrpc/connect";
import type { Logger } from "../../logger.js";
import type { Services } from "../../services/registrations.js";
import { BindError, parseJsonObject, type JsonRecord } from "./binding.js";
import { errorEnvelope, difyError, ErrorType, successEnvelope, type DifyError } from "./envelope.js";
import { difyErrorOf, failureOf, type CallFailure } from "./error-table.js";
import { mediaType, readBody, writeJson, type NodeRequest, type NodeResponse } from "./http-io.js";
import type { CallScope } from "./rpc.js";

/** What every Dify route handler gets: the services, the request, its path parameters and query, a call scope. */
export interface RouteContext {
  readonly services: Services;
  readonly logger: Logger;
  readonly req: NodeRequest;
  readonly res: NodeResponse;
  /** Path parameters by name (`tenant_id`, `id`, the catch-all's name). */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly scope: CallScope;
  /** The largest body a route buffers (JSON bodies; uploads have their own limits). */
  readonly maxBodyBytes: number;
  readonly maxPackageBytes: number;
  /** Where the route's handler is, for logs: "POST /plugin/:tenant_id/...". */
  readonly routeName: string;
}

export interface DifyRoute {
  readonly method: "GET" | "POST";
  /** Path pattern: `:name` matches one segment, `*name` the rest of the path. */
  readonly path: string;
  /** Whether X-Api-Key is required (every route under /plugin/{tenant_id}). */
  readonly auth: boolean;
  handle(ctx: RouteContext): Promise<void>;
}

export const tenantOf = (ctx: RouteContext): string => ctx.params["tenant_id"] ?? "";

/** jsonBody reads the request's JSON object (when the Content-Type is JSON; otherwise nothing binds from the body). */
export async function jsonBody(ctx: RouteContext): Promise<JsonRecord> {
  if (mediaType(ctx.req) !== "application/json") {
    // Drain what was sent so the connection stays usable.
    await readBody(ctx.req, 0);
    return {};
  }
  const body = await readBody(ctx.req, ctx.maxBodyBytes);
  if (body.tooLarge) throw new BindError(`request body exceeds ${ctx.maxBodyBytes} bytes`);
  return parseJsonObject(body.bytes);
}

/** AnswerError ends a route with an error envelope the route decided itself (HTTP 200, as Go's controllers answer). */
export class AnswerError extends Error {
  constructor(readonly error: DifyError) {
    super(error.message);
  }

  static badRequest(message: string): AnswerError {
    return new AnswerError(difyError(-400, ErrorType.badRequest, message));
  }
}

/** What an envelope route does with a failure the services reported: another error, or a success after all. */
export type FailureOverride = (failure: CallFailure) => DifyError | { readonly data: unknown } | undefined;

/** when: a FailureOverride answering `answer` for failures of one Connect code. */
export const when =
  (code: Code, answer: ReturnType<FailureOverride>): FailureOverride =>
  (failure) =>
    failure.connect.code === code ? answer : undefined;

/**
 * envelopeRoute makes a management-style route: the handler returns the success `data` (never null); a binding
 * failure answers HTTP 400; a service failure answers HTTP 200 with the error envelope (§1.2: management results
 * are always 200), by the error table unless the route overrides it.
 */
export function envelopeRoute(
  method: DifyRoute["method"],
  path: string,
  handler: (ctx: RouteContext) => Promise<unknown>,
  override?: FailureOverride,
): DifyRoute {
  return {
    method,
    path,
    auth: true,
    async handle(ctx) {
      let data: unknown;
      try {
        data = await handler(ctx);
      } catch (err) {
        if (err instanceof BindError) {
          writeJson(ctx.res, 400, errorEnvelope(difyError(-400, ErrorType.badRequest, err.message)));
          return;
        }
        if (err instanceof AnswerError) {
          writeJson(ctx.res, 200, errorEnvelope(err.error));
          return;
        }
        const failure = failureOf(err, ctx.logger, ctx.routeName);
        const answer = override?.(failure) ?? difyErrorOf(failure);
        if ("data" in answer) {
          writeJson(ctx.res, 200, successEnvelope(answer.data));
          return;
        }
        ctx.logger.warn({ route: ctx.routeName, code: answer.code, error: answer.message }, "dify route failed");
        writeJson(ctx.res, 200, errorEnvelope(answer));
        return;
      }
      if (data === null || data === undefined) {
        // Dify raises on a success without data; say what went wrong instead.
        ctx.logger.error({ route: ctx.routeName }, "dify route answered no data");
        writeJson(ctx.res, 200, errorEnvelope(difyError(-500, ErrorType.internal, "the daemon produced no answer")));
        return;
      }
      writeJson(ctx.res, 200, successEnvelope(data));
    },
  };
}
