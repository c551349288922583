/**
 * Endpoint settings against a plugin's endpoint declaration (spec dify-http-api §2.3): what the declaration offers,
 * the Go daemon's settings validation (ValidateProviderConfigs) and masking of secrets (MaskConfigCredentials).
 */
import type { JsonObject, JsonValue } from "../db/tables.js";
import { InvalidArgumentError } from "../errors.js";

/** One entry of the endpoint group's `settings` (a ProviderConfig): only the fields the checks read are typed. */
export interface EndpointSettingConfig {
  readonly name?: string;
  readonly type?: string;
  readonly required?: boolean;
  readonly scope?: string | null;
  readonly options?: readonly { readonly value?: string }[] | null;
  readonly [field: string]: unknown;
}

/** A plugin's endpoint group as the declaration stores it: settings and routes. */
export interface EndpointGroup {
  readonly settings: readonly EndpointSettingConfig[];
  readonly endpoints: readonly { readonly path?: string; readonly method?: string; readonly hidden?: boolean; readonly [field: string]: unknown }[];
}

const SECRET_INPUT = "secret-input";
const MAX_SETTINGS = 64;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** endpointGroupOf reads the `endpoint` section of a stored declaration; undefined when the plugin declares none. */
export function endpointGroupOf(declaration: Readonly<Record<string, unknown>>): EndpointGroup | undefined {
  const section = declaration["endpoint"];
  if (!isObject(section)) return undefined;
  const settings = Array.isArray(section["settings"]) ? section["settings"].filter(isObject) : [];
  const endpoints = Array.isArray(section["endpoints"]) ? section["endpoints"].filter(isObject) : [];
  return { settings: settings as EndpointSettingConfig[], endpoints: endpoints as EndpointGroup["endpoints"] };
}

/** allowsEndpoints is the manifest's `resource.permission.endpoint.enabled`. */
export function allowsEndpoints(declaration: Readonly<Record<string, unknown>>): boolean {
  const resource = declaration["resource"];
  const permission = isObject(resource) ? resource["permission"] : undefined;
  const endpoint = isObject(permission) ? permission["endpoint"] : undefined;
  return isObject(endpoint) && endpoint["enabled"] === true;
}

/** hasSecretInputs tells whether any setting is a secret-input: only then does Dify need to encrypt anything. */
export function hasSecretInputs(configs: readonly EndpointSettingConfig[]): boolean {
  return configs.some((c) => c.type === SECRET_INPUT);
}

/** isSecretSetting tells whether `name` is declared as a secret-input. */
export function isSecretSetting(configs: readonly EndpointSettingConfig[], name: string): boolean {
  return configs.some((c) => c.name === name && c.type === SECRET_INPUT);
}

function requireKeys(name: string, value: Record<string, unknown>, keys: readonly string[]): void {
  for (const key of keys) {
    if (!(key in value)) throw new Error(`setting ${name} is missing ${key}`);
  }
}

const MODEL_SCOPE_KEYS: Record<string, readonly string[]> = {
  all: [],
  llm: [],
  "text-embedding": [],
  rerank: ["score_threshold", "top_n"],
  tts: ["voice"],
  speech2text: [],
  moderation: [],
  vision: ["completion_params"],
};

function checkOne(name: string, config: EndpointSettingConfig, value: unknown): void {
  switch (config.type) {
    case "text-input":
    case SECRET_INPUT:
      if (typeof value !== "string") throw new Error(`setting ${name} is not a string`);
      return;
    case "select":
      if (typeof value !== "string") throw new Error(`setting ${name} is not a string`);
      if (!(config.options ?? []).some((o) => o.value === value)) throw new Error(`setting ${name} is not a valid option`);
      return;
    case "boolean":
      if (typeof value !== "boolean") throw new Error(`setting ${name} is not a boolean`);
      return;
    case "app-selector":
      if (!isObject(value)) throw new Error(`setting ${name} is not a map`);
      requireKeys(name, value, ["app_id"]);
      return;
    case "model-selector": {
      if (!isObject(value)) throw new Error(`setting ${name} is not a map`);
      requireKeys(name, value, ["provider", "model", "model_type"]);
      if (config.scope !== undefined && config.scope !== null && config.scope !== "") {
        const extra = MODEL_SCOPE_KEYS[config.scope];
        if (extra === undefined) throw new Error(`setting ${name} is not a valid model config scope`);
        requireKeys(name, value, extra);
      }
      return;
    }
    default:
      // tools-selector, any, and types this daemon does not know: accepted as the Go daemon accepts them.
      return;
  }
}

/**
 * validateEndpointSettings checks settings against the declared configs as the Go daemon does: at most 64 fields,
 * required ones present and non-null, and each declared one of the right type. Undeclared fields pass. Throws
 * InvalidArgumentError "failed to validate settings: ..." (the text Dify shows).
 */
export function validateEndpointSettings(settings: Readonly<Record<string, unknown>>, configs: readonly EndpointSettingConfig[]): void {
  try {
    if (Object.keys(settings).length > MAX_SETTINGS) throw new Error("too many setting fields");
    for (const config of configs) {
      const name = config.name ?? "";
      const value = settings[name];
      if (value === undefined || value === null) {
        if (config.required === true) throw new Error(`missing required setting: ${name}`);
        continue;
      }
      checkOne(name, config, value);
    }
  } catch (err) {
    throw new InvalidArgumentError(`failed to validate settings: ${(err as Error).message}`);
  }
}

/** maskSecret is the Go daemon's mask: longer than 6 characters keeps the first and last two, else all stars. */
export function maskSecret(value: string): string {
  // Go slices bytes; for the ASCII secrets this is used on, characters and bytes agree.
  if (value.length > 6) return `${value.slice(0, 2)}${"*".repeat(value.length - 4)}${value.slice(-2)}`;
  return "*".repeat(value.length);
}

/** maskSettings returns a copy whose secret-input string values are masked; everything else is kept. */
export function maskSettings(settings: Readonly<Record<string, unknown>>, configs: readonly EndpointSettingConfig[]): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(settings)) {
    out[key] = (isSecretSetting(configs, key) && typeof value === "string" ? maskSecret(value) : value) as JsonValue;
  }
  return out;
}

/**
 * keepMaskedSecrets: in an update, a secret-input value equal to the masked form of the stored one means "unchanged",
 * so the stored (decrypted) value is put back. Returns a new object.
 */
export function keepMaskedSecrets(
  incoming: Readonly<Record<string, unknown>>,
  stored: Readonly<Record<string, unknown>>,
  configs: readonly EndpointSettingConfig[],
): Record<string, unknown> {
  const masked = maskSettings(stored, configs);
  const out: Record<string, unknown> = { ...incoming };
  for (const [key, value] of Object.entries(incoming)) {
    if (isSecretSetting(configs, key) && key in masked && masked[key] === value) out[key] = stored[key];
  }
  return out;
}
