import { z } from "zod";
import { bool, i18nField, objectMap, optional, optionalI18n, orDefault, scalarText, text } from "./schema.js";

/** Shapes of a model provider and its model declarations (see schema.ts for the conventions). */

/** A price: Go decodes it as a decimal from its text and writes it back as a string without trailing zeros. */
const decimal = z.preprocess(scalarText, z.string()).transform((value, ctx) => {
  const out = decimalText(value);
  if (out === undefined) {
    ctx.issues.push({ code: "custom", message: `${JSON.stringify(value)} is not a decimal number`, input: value });
    return z.NEVER;
  }
  return out;
});

/** decimalText is shopspring/decimal's String() of a decimal literal (`5.00` → `5`, `1e-7` → `0.0000001`). */
export function decimalText(literal: string): string | undefined {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (!match) return undefined;
  const [, sign = "", whole = "", fraction = "", exponent = "0"] = match;
  // A huge exponent would make a huge string (or hang BigInt); no price needs one.
  if ((whole === "" && fraction === "") || Math.abs(Number(exponent)) > 1000) return undefined;
  const digits = BigInt(`${whole}${fraction}` || "0");
  const scale = Number(exponent) - fraction.length;
  if (digits === 0n) return "0";
  const minus = sign === "-" ? "-" : "";
  if (scale >= 0) return `${minus}${(digits * 10n ** BigInt(scale)).toString()}`;
  const padded = digits.toString().padStart(-scale + 1, "0");
  const integer = padded.slice(0, padded.length + scale);
  const fractional = padded.slice(padded.length + scale).replace(/0+$/, "");
  return `${minus}${integer}${fractional ? `.${fractional}` : ""}`;
}

export const parameterRule = z.looseObject({
  name: optional(text),
  use_template: optional(text),
  label: optionalI18n,
  type: optional(text),
  help: optionalI18n,
  required: bool,
  default: z.unknown().optional(),
  min: optional(z.number()),
  max: optional(z.number()),
  precision: optional(z.number().int()),
  options: optional(z.array(text)),
});
export type ParameterRuleJson = z.output<typeof parameterRule>;

export const modelDeclaration = z.looseObject({
  model: optional(text),
  label: optionalI18n,
  model_type: optional(text),
  features: optional(z.array(text)),
  fetch_from: orDefault(text, "predefined-model"),
  model_properties: objectMap,
  deprecated: bool,
  parameter_rules: orDefault(z.array(parameterRule), []),
  pricing: optional(
    z.looseObject({ input: decimal, output: optional(decimal), unit: decimal, currency: optional(text) }),
  ),
});
export type ModelDeclarationJson = z.output<typeof modelDeclaration>;

const showOn = z.looseObject({ variable: optional(text), value: optional(text) });

const credentialFormSchema = z.looseObject({
  variable: optional(text),
  label: i18nField,
  type: optional(text),
  required: bool,
  default: optional(text),
  options: orDefault(
    z.array(z.looseObject({ label: i18nField, value: optional(text), show_on: orDefault(z.array(showOn), []) })),
    [],
  ),
  help: optionalI18n,
  url: optional(text),
  placeholder: optionalI18n,
  max_length: orDefault(z.number().int(), 0),
  show_on: orDefault(z.array(showOn), []),
});

/** Position lists per model type, keyed as in the `models:` mapping. */
export const MODEL_POSITION_TYPES = ["llm", "text_embedding", "rerank", "tts", "speech2text", "moderation"] as const;
export type ModelPositionJson = Partial<Record<(typeof MODEL_POSITION_TYPES)[number], string[]>>;

export const modelProviderFile = z.looseObject({
  provider: optional(text),
  label: i18nField,
  description: optionalI18n,
  icon_small: optionalI18n,
  icon_large: optionalI18n,
  icon_small_dark: optionalI18n,
  icon_large_dark: optionalI18n,
  background: optional(text),
  help: optional(z.looseObject({ title: i18nField, url: i18nField })),
  supported_model_types: orDefault(z.array(text), []),
  configurate_methods: orDefault(z.array(text), []),
  provider_credential_schema: optional(
    z.looseObject({ credential_form_schemas: orDefault(z.array(credentialFormSchema), []) }),
  ),
  model_credential_schema: optional(
    z.looseObject({
      model: orDefault(z.looseObject({ label: i18nField, placeholder: optionalI18n }), {}),
      credential_form_schemas: orDefault(z.array(credentialFormSchema), []),
    }),
  ),
  position: optional(z.record(z.string(), z.array(text))),
  /** A list of inline model declarations, or a mapping by model type with `predefined` globs and a `position` file. */
  models: z.unknown().optional(),
});

