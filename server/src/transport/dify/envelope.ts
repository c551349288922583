import { goJson } from "./wire-json.js";

/**
 * The Dify dialect's JSON envelope (spec/dify-http-api.md §1.2): `{"code":0,"message":"success","data":<data>}` on
 * success; on failure a negative code, `data: null`, and a message that is itself the JSON of
 * `{"message", "error_type", "args"}` (in that order).
 */

/** The error types Dify maps to its exceptions (§1.2, §7.1). */
export const ErrorType = {
  internal: "PluginDaemonInternalServerError",
  badRequest: "PluginDaemonBadRequestError",
  notFound: "PluginDaemonNotFoundError",
  unauthorized: "PluginDaemonUnauthorizedError",
  uniqueIdentifier: "PluginUniqueIdentifierError",
  pluginNotFound: "PluginNotFoundError",
  permissionDenied: "PluginPermissionDeniedError",
  pluginInvoke: "PluginInvokeError",
} as const;

/** DifyError is one error as the dialect answers it: envelope code, error type and message. */
export interface DifyError {
  readonly code: number;
  readonly errorType: string;
  readonly message: string;
}

export const difyError = (code: number, errorType: string, message: string): DifyError => ({ code, errorType, message });

/** successEnvelope: the bytes of a success answer; `data` must not be null (Dify raises on null data). */
export function successEnvelope(data: unknown): string {
  return goJson({ code: 0, message: "success", data });
}

/** errorEnvelope: the bytes of an error answer, message JSON-encoded inside the envelope; args are always null. */
export function errorEnvelope(error: DifyError): string {
  return goJson({ code: error.code, message: goJson({ message: error.message, error_type: error.errorType, args: null }), data: null });
}

/** The unknown-route answer: a different shape, with a string code (§1.2, §11.11). */
export const UNKNOWN_ROUTE_BODY = goJson({ code: "not_found", message: "route not found" });

/** The missing or wrong X-Api-Key answer, with HTTP 401 (§1.1). */
export const UNAUTHORIZED = difyError(-401, ErrorType.unauthorized, "unauthorized");
