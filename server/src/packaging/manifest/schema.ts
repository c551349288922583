import { z } from "zod";

/**
 * Shapes of manifest.yaml (here) and of the declaration files (provider-schema.ts, model-schema.ts), as the Go
 * daemon decodes them with yaml.v3 into its structs.
 * These check types only (a list where a list belongs, a boolean where a boolean belongs) and fill in what Go's
 * decoders and JSON marshalers fill in; the rules on values (regexes, enums, ranges) live in validate.ts.
 * Objects are loose: keys we do not model are kept, because Dify reads fields the daemon does not.
 * Null counts as absent, as it does for Go's typed fields.
 */

const absent = (value: unknown): unknown => (value === null ? undefined : value);

/** Go decodes any scalar into a string field as its text: `name: 123` is "123". */
export const scalarText = (value: unknown): unknown =>
  typeof value === "number" || typeof value === "boolean" || typeof value === "bigint" ? String(value) : value;

export const text = z.preprocess(scalarText, z.string());

/** optional: the field may be missing or null. */
export function optional<T extends z.ZodType>(schema: T) {
  return z.preprocess(absent, schema.optional());
}

/** orDefault: a missing or null field takes `fallback` (run through the schema, so nested defaults apply too). */
export function orDefault<T extends z.ZodType>(schema: T, fallback: z.input<T>) {
  return z.preprocess(absent, schema.prefault(fallback));
}

export const bool = orDefault(z.boolean(), false);

/** I18nText is Go's I18nObject: only these four languages survive; en_US is always present (maybe ""). */
export interface I18nText {
  en_US: string;
  ja_JP?: string;
  zh_Hans?: string;
  pt_BR?: string;
}

export const i18n = z
  .object({ en_US: optional(text), ja_JP: optional(text), zh_Hans: optional(text), pt_BR: optional(text) })
  .transform((v): I18nText => {
    const out: I18nText = { en_US: v.en_US ?? "" };
    if (v.ja_JP) out.ja_JP = v.ja_JP;
    if (v.zh_Hans) out.zh_Hans = v.zh_Hans;
    if (v.pt_BR) out.pt_BR = v.pt_BR;
    return out;
  });
/** A non-pointer I18nObject in Go: always in the JSON, `{en_US: ""}` when the YAML has none. */
export const i18nField = orDefault(i18n, {});
export const optionalI18n = optional(i18n);

// ---------------------------------------------------------------------------------------------------------------
// Pieces shared by the declaration files

const isObject = (value: unknown): value is object =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * A list of ProviderConfig, or the mapping form `name: {config}` that Go turns into a list taking names from keys
 * (skipping entries whose value is not a mapping, as Go does).
 */
function configList<T extends z.ZodType>(item: T) {
  const toList = (value: unknown): unknown =>
    isObject(value)
      ? Object.entries(value).flatMap(([name, config]) => (isObject(config) ? [{ ...config, name }] : []))
      : value;
  return z.preprocess(toList, z.array(item));
}

const configOption = z.looseObject({ value: optional(text), label: i18nField });

export const providerConfig = z.looseObject({
  name: optional(text),
  type: optional(text),
  scope: optional(text),
  required: bool,
  default: z.unknown().optional(),
  options: optional(z.array(configOption)),
  multiple: bool,
  label: i18nField,
  help: optionalI18n,
  url: optional(text),
  placeholder: optionalI18n,
});
export type ProviderConfigJson = z.output<typeof providerConfig>;

/** credentials_schema and friends: list or mapping, `[]` when absent. */
export const providerConfigs = orDefault(configList(providerConfig), []);
export const optionalProviderConfigs = optional(configList(providerConfig));

export const oauthSchema = z.looseObject({
  client_schema: optional(z.array(providerConfig)),
  credentials_schema: optional(z.array(providerConfig)),
});

export const parameterOption = z.looseObject({ value: optional(text), label: i18nField, icon: optional(text) });

/** identity of a tool, agent strategy or event. */
export const itemIdentity = z.looseObject({ author: optional(text), name: optional(text), label: i18nField });

/** identity of a tool, agent strategy, datasource or trigger provider. */
export const providerIdentity = z.looseObject({
  author: optional(text),
  name: optional(text),
  description: i18nField,
  icon: optional(text),
  icon_dark: optional(text),
  label: i18nField,
  tags: orDefault(z.array(text), []),
});
export type ProviderIdentityJson = z.output<typeof providerIdentity>;

/** A list whose items are file paths or inline declarations; the loaders sort them out. */
export const itemList = optional(z.array(z.unknown()));

export const objectMap = optional(z.record(z.string(), z.unknown()));

// ---------------------------------------------------------------------------------------------------------------
// manifest.yaml

const enabled = z.object({ enabled: bool });

export const permission = z.object({
  tool: optional(enabled),
  model: optional(
    z.object({
      enabled: bool,
      llm: bool,
      text_embedding: bool,
      rerank: bool,
      tts: bool,
      speech2text: bool,
      moderation: bool,
    }),
  ),
  node: optional(enabled),
  endpoint: optional(enabled),
  app: optional(enabled),
  storage: optional(z.object({ enabled: bool, size: orDefault(z.number().int().nonnegative(), 0) })),
});
export type PluginPermissionJson = z.output<typeof permission>;

const pathList = optional(z.array(text));

export const manifestFile = z.looseObject({
  version: optional(text),
  type: optional(text),
  author: optional(text),
  name: optional(text),
  label: i18nField,
  description: i18nField,
  icon: optional(text),
  icon_dark: optional(text),
  resource: orDefault(z.looseObject({ memory: optional(z.number().int()), permission: optional(permission) }), {}),
  plugins: orDefault(
    z.looseObject({
      tools: pathList,
      models: pathList,
      endpoints: pathList,
      agent_strategies: pathList,
      datasources: pathList,
      triggers: pathList,
    }),
    {},
  ),
  meta: orDefault(
    z.looseObject({
      version: optional(text),
      arch: optional(z.array(text)),
      runner: orDefault(
        z.looseObject({ language: optional(text), version: optional(text), entrypoint: optional(text) }),
        {},
      ),
      minimum_dify_version: optional(text),
    }),
    {},
  ),
  tags: optional(z.array(text)),
  created_at: optional(text),
  privacy: optional(text),
  repo: optional(text),
});
export type ManifestFile = z.output<typeof manifestFile>;
