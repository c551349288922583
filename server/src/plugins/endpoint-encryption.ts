/**
 * Endpoint settings are encrypted by Dify, not by the daemon (spec dify-http-api §2.3, §8, §9): the daemon posts
 * `{tenant_id, user_id, type: "encrypt", opt, namespace: "endpoint", identity: <endpoint id>, data, config}` to
 * `{DIFY_INNER_API_URL}/inner/api/invoke/encrypt` and stores what comes back. Dify answers `{data: {data: {...}},
 * error}`. As in the Go daemon, nothing is sent when the declaration has no secret-input setting: the settings then
 * hold no secret, and are stored and used as they are.
 */
import type { JsonObject } from "../db/tables.js";
import { FailedPreconditionError, RuntimeUnavailableError } from "../errors.js";
import { hasSecretInputs, type EndpointSettingConfig } from "./endpoint-settings.js";

export type EncryptOpt = "encrypt" | "decrypt" | "clear";

export interface EncryptRequest {
  readonly tenantId: string;
  /** The acting user ("" when the daemon acts on its own, e.g. serving a hook). */
  readonly userId: string;
  readonly endpointId: string;
  readonly settings: Readonly<Record<string, unknown>>;
  /** The endpoint group's declared settings: which of them are secrets. */
  readonly config: readonly EndpointSettingConfig[];
}

export interface EndpointEncryption {
  /** Whether the Dify inner API is configured (false: only settings without secrets can be stored). */
  readonly configured: boolean;
  encrypt(request: EncryptRequest): Promise<JsonObject>;
  decrypt(request: EncryptRequest): Promise<JsonObject>;
  /** clear drops Dify's cache of an endpoint's decrypted credentials. */
  clear(request: EncryptRequest): Promise<void>;
}

export interface EndpointEncryptionOptions {
  /** DIFY_INNER_API_URL */
  readonly baseUrl: string;
  /** DIFY_INNER_API_KEY, sent as X-Inner-Api-Key */
  readonly apiKey: string;
  /** Per call (default 30 s). */
  readonly timeoutMs?: number;
}

const NOT_CONFIGURED =
  "the endpoint's settings include secret-input fields, which Dify's inner API must encrypt, and this daemon cannot reach it: " +
  "set DIFY_INNER_API_URL and DIFY_INNER_API_KEY (the daemon never stores secrets in clear)";

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * createEndpointEncryption calls Dify's inner API; with `null` options (DIFY_INNER_API_URL unset) every call that
 * would carry a secret fails with FailedPreconditionError saying what to configure, and settings without secrets
 * pass through unchanged.
 */
export function createEndpointEncryption(options: EndpointEncryptionOptions | null): EndpointEncryption {
  const base = options?.baseUrl.replace(/\/+$/, "");
  const call = async (opt: EncryptOpt, request: EncryptRequest): Promise<JsonObject> => {
    if (!options || base === undefined) throw new FailedPreconditionError(NOT_CONFIGURED);
    const body = {
      tenant_id: request.tenantId,
      user_id: request.userId,
      type: "encrypt",
      opt,
      namespace: "endpoint",
      identity: request.endpointId,
      data: request.settings,
      config: request.config,
    };
    const response = await fetch(`${base}/inner/api/invoke/encrypt`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-inner-api-key": options.apiKey },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    }).catch((err: unknown) => {
      throw new RuntimeUnavailableError(`cannot reach the Dify inner API at ${base} to ${opt} endpoint settings: ${(err as Error).message}`, { cause: err });
    });
    const text = await response.text();
    if (response.status !== 200) {
      throw new RuntimeUnavailableError(`Dify's inner API answered ${response.status} to ${opt} endpoint settings: ${text.slice(0, 1024)}`);
    }
    let envelope: unknown;
    try {
      envelope = JSON.parse(text);
    } catch {
      throw new RuntimeUnavailableError(`Dify's inner API answered ${opt} with something that is not JSON: ${text.slice(0, 256)}`);
    }
    const error = isObject(envelope) ? envelope["error"] : undefined;
    if (typeof error === "string" && error !== "") throw new RuntimeUnavailableError(`Dify failed to ${opt} endpoint settings: ${error}`);
    const outer = isObject(envelope) ? envelope["data"] : undefined;
    const data = isObject(outer) ? outer["data"] : undefined;
    if (opt === "clear") return {};
    if (!isObject(data)) throw new RuntimeUnavailableError(`Dify's inner API answered ${opt} without settings (data.data)`);
    return data as JsonObject;
  };
  return {
    configured: options !== null,
    async encrypt(request) {
      if (!hasSecretInputs(request.config)) return { ...request.settings } as JsonObject;
      return call("encrypt", request);
    },
    async decrypt(request) {
      if (!hasSecretInputs(request.config)) return { ...request.settings } as JsonObject;
      return call("decrypt", request);
    },
    async clear(request) {
      if (!hasSecretInputs(request.config) || !options) return;
      await call("clear", request);
    },
  };
}
