import { Code, ConnectError } from "@connectrpc/connect";
import {
  AlreadyExistsError,
  DatabaseUnavailableError,
  DeadlineExceededError,
  FailedPreconditionError,
  InvalidArgumentError,
  InvalidPackageError,
  NotFoundError,
  RuntimeUnavailableError,
  SignatureError,
} from "../errors.js";
import type { Logger } from "../logger.js";
import { PluginInvokeError } from "../runtimes/runtime.js";

// The one table from domain errors to Connect codes (DESIGN "Errors"); order does not matter, classes are disjoint.
const codes: ReadonlyArray<readonly [abstract new (...args: never[]) => Error, Code]> = [
  [NotFoundError, Code.NotFound],
  [AlreadyExistsError, Code.AlreadyExists],
  [InvalidArgumentError, Code.InvalidArgument],
  [InvalidPackageError, Code.InvalidArgument],
  [SignatureError, Code.PermissionDenied],
  [FailedPreconditionError, Code.FailedPrecondition],
  [RuntimeUnavailableError, Code.Unavailable],
  [DatabaseUnavailableError, Code.Unavailable],
  [DeadlineExceededError, Code.DeadlineExceeded],
];

/**
 * toConnectError maps a thrown value to the error the caller sees. Domain errors keep their message;
 * anything unexpected is logged with its cause and becomes a bare Internal, so no internals leak.
 */
export function toConnectError(err: unknown, logger: Logger, method: string): ConnectError {
  if (err instanceof ConnectError) return err;
  // The plugin's own failure: its type and message reach the caller unchanged (Dify shows them to users).
  if (err instanceof PluginInvokeError) return new ConnectError(`${err.errorType}: ${err.message}`, Code.Unknown, undefined, undefined, err);
  for (const [type, code] of codes) {
    if (err instanceof type) return new ConnectError(err.message, code, undefined, undefined, err);
  }
  if (isUniqueViolation(err)) return new ConnectError("already exists", Code.AlreadyExists, undefined, undefined, err);
  logger.error({ err, method }, "unexpected error");
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "23505";
}
