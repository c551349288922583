import { Code, ConnectError } from "@connectrpc/connect";
import { DeadlineExceededError, InvalidPackageError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { PluginInvokeError } from "../../runtimes/runtime.js";
import { toConnectError } from "../error-map.js";
import { difyError, ErrorType, type DifyError } from "./envelope.js";
import { goJson, sortedDeep } from "./wire-json.js";

/**
 * The one table from Connect codes to the Dify envelope (spec/dify-http-api.md §1.2). Errors reach it through
 * transport/error-map.ts (domain error -> Connect code), so the dialect and the Connect API agree on what failed.
 * The HTTP status is the route's business (management answers 200 whatever the envelope says, §1.2).
 */
const BY_CODE: Partial<Record<Code, readonly [number, string]>> = {
  [Code.InvalidArgument]: [-400, ErrorType.badRequest],
  [Code.FailedPrecondition]: [-400, ErrorType.badRequest],
  [Code.AlreadyExists]: [-400, ErrorType.badRequest],
  [Code.OutOfRange]: [-400, ErrorType.badRequest],
  [Code.ResourceExhausted]: [-400, ErrorType.badRequest],
  [Code.NotFound]: [-404, ErrorType.notFound],
  [Code.PermissionDenied]: [-403, ErrorType.permissionDenied],
  [Code.Unauthenticated]: [-401, ErrorType.unauthorized],
};
// Everything else (Internal, Unknown, Unavailable, DeadlineExceeded, Unimplemented, Canceled, ...) is a daemon failure.
const INTERNAL = [-500, ErrorType.internal] as const;

/** A failed call as the dialect sees it: the Connect error (code, message) and the raw error that caused it. */
export interface CallFailure {
  readonly connect: ConnectError;
  readonly cause: unknown;
}

/** failureOf maps whatever a service threw through the shared domain -> Connect map (logging unexpected errors). */
export function failureOf(err: unknown, logger: Logger, method: string): CallFailure {
  const connect = toConnectError(err, logger, method);
  return { connect, cause: connect.cause ?? err };
}

/** difyErrorOf is the envelope error of a failure, by its Connect code. */
export function difyErrorOf(failure: CallFailure): DifyError {
  const [code, errorType] = BY_CODE[failure.connect.code] ?? INTERNAL;
  return difyError(code, errorType, failure.connect.rawMessage);
}

/**
 * streamErrorOf is the error event of a dispatch stream (§1.4). A plugin's own error is wrapped twice, as the Go
 * daemon does: PluginInvokeError whose message is the JSON `{args, error_type, message}` the plugin reported (a Go
 * map, so keys sorted). A malformed chunk is the daemon's `unmarshal_error`; running out of time is "killed by
 * timeout"; anything else is a daemon failure by the table.
 */
export function streamErrorOf(failure: CallFailure): DifyError {
  const { cause } = failure;
  if (cause instanceof PluginInvokeError) {
    const inner = sortedDeep({ message: cause.message, error_type: cause.errorType, args: cause.args ?? null });
    return difyError(-500, ErrorType.pluginInvoke, goJson(inner));
  }
  if (cause instanceof InvalidPackageError) {
    const inner = { error_type: "unmarshal_error", message: `unmarshal json failed: ${cause.message}` };
    return difyError(-500, ErrorType.pluginInvoke, goJson(inner));
  }
  if (cause instanceof DeadlineExceededError) return difyError(-500, ErrorType.internal, "killed by timeout");
  return difyErrorOf(failure);
}

/** failsInStream: errors that come from running the plugin, which Go reports inside a started stream (HTTP 200). */
export function failsInStream(failure: CallFailure): boolean {
  const { cause } = failure;
  return cause instanceof PluginInvokeError || cause instanceof InvalidPackageError || cause instanceof DeadlineExceededError;
}

/** unimplemented is the failure of an RPC the services do not implement (yet). */
export function unimplemented(method: string): ConnectError {
  return new ConnectError(`${method} is not implemented by this daemon`, Code.Unimplemented);
}
