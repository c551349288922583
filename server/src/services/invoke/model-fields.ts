import { fromJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import { InvalidPackageError } from "../../errors.js";

type Raw = Readonly<Record<string, unknown>>;

const INT32_MAX = 2 ** 31 - 1;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** shown renders a received value for an error message, cut short. */
function shown(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

const isObject = (v: unknown): v is Raw => typeof v === "object" && v !== null && !Array.isArray(v);
const absent = (v: unknown) => v === undefined || v === null;

/**
 * PluginFields reads one result the plugin sent (a JSON object), field by field. A missing or mistyped field fails
 * the invocation with an error naming the result and the field's path, e.g. "malformed LLM result chunk from the
 * plugin: delta.index is required", as the Go daemon's unmarshal and validation reject such results rather than
 * pass them on half-read. `null` counts as absent, as it does for Go's pointers and zero values.
 */
export class PluginFields {
  private constructor(
    private readonly what: string,
    private readonly path: string,
    readonly raw: Raw,
  ) {}

  /** of starts reading a whole result, which must be a JSON object. */
  static of(what: string, raw: unknown): PluginFields {
    if (!isObject(raw)) throw new InvalidPackageError(`malformed ${what} from the plugin: expected a JSON object, got ${shown(raw)}`);
    return new PluginFields(what, "", raw);
  }

  private at(key: string | number): string {
    if (typeof key === "number") return `${this.path}[${key}]`;
    return this.path ? `${this.path}.${key}` : key;
  }

  /** fail rejects the result because of the field at key. */
  fail(key: string | number, problem: string): never {
    throw new InvalidPackageError(`malformed ${this.what} from the plugin: ${this.at(key)} ${problem}`);
  }

  private wrong(key: string | number, expected: string, v: unknown): never {
    return this.fail(key, `must be ${expected}, got ${shown(v)}`);
  }

  /** has: the field is present and not null. */
  has(key: string): boolean {
    return !absent(this.raw[key]);
  }

  private child(key: string | number, v: unknown): PluginFields {
    if (!isObject(v)) this.wrong(key, "an object", v);
    return new PluginFields(this.what, this.at(key), v);
  }

  object(key: string): PluginFields {
    const v = this.raw[key];
    if (absent(v)) this.fail(key, "is required");
    return this.child(key, v);
  }

  optObject(key: string): PluginFields | undefined {
    return this.has(key) ? this.object(key) : undefined;
  }

  /** objects reads an array of objects; absent is an empty array unless required. */
  objects(key: string, required = false): PluginFields[] {
    return this.array(key, required).map((item, i) => this.child(`${key}[${i}]`, item));
  }

  array(key: string, required = false): unknown[] {
    const v = this.raw[key];
    if (absent(v)) return required ? this.fail(key, "is required") : [];
    if (!Array.isArray(v)) this.wrong(key, "an array", v);
    return v;
  }

  /** string: required (an empty string passes unless nonEmpty). */
  string(key: string, nonEmpty = false): string {
    const v = this.raw[key];
    if (absent(v) || (nonEmpty && v === "")) this.fail(key, "is required");
    if (typeof v !== "string") this.wrong(key, "a string", v);
    return v;
  }

  /** optString: "" when absent. */
  optString(key: string): string {
    return this.has(key) ? this.string(key) : "";
  }

  /** int: a required 32-bit integer. */
  int(key: string): number {
    const v = this.raw[key];
    if (absent(v)) this.fail(key, "is required");
    return this.intValue(key, v);
  }

  optInt(key: string): number | undefined {
    return this.has(key) ? this.int(key) : undefined;
  }

  /** intValue checks one value (a field or an array item) is a 32-bit integer. */
  intValue(key: string | number, v: unknown): number {
    if (typeof v !== "number" || !Number.isInteger(v) || Math.abs(v) > INT32_MAX) this.wrong(key, "a 32-bit integer", v);
    return v;
  }

  number(key: string): number {
    const v = this.raw[key];
    if (absent(v)) this.fail(key, "is required");
    return this.numberValue(key, v);
  }

  numberValue(key: string | number, v: unknown): number {
    if (typeof v !== "number") this.wrong(key, "a number", v);
    return v;
  }

  /** bool: false when absent. */
  bool(key: string): boolean {
    const v = this.raw[key];
    if (absent(v)) return false;
    if (typeof v !== "boolean") this.wrong(key, "a boolean", v);
    return v;
  }

  /**
   * decimal reads a price: a decimal string as pydantic writes Decimals, or a JSON number (the Go daemon accepts
   * both). It stays a string, unrounded; numbers are written without exponent. Absent is "0", as in Go.
   */
  decimal(key: string): string {
    const v = this.raw[key];
    if (absent(v)) return "0";
    if (typeof v === "number") return plainNumber(v);
    if (typeof v !== "string" || !DECIMAL.test(v.trim())) this.wrong(key, "a decimal (a string such as \"0.0025\" or a number)", v);
    return v.trim();
  }

  /** json: an object passed through as a Struct; undefined when absent. */
  json(key: string): JsonObject | undefined {
    const v = this.raw[key];
    if (absent(v)) return undefined;
    if (!isObject(v)) this.wrong(key, "an object", v);
    return v as JsonObject;
  }

  /** value: any JSON as a google.protobuf.Value; undefined when absent. */
  value(key: string): Value | undefined {
    const v = this.raw[key];
    return absent(v) ? undefined : fromJson(ValueSchema, v as JsonValue);
  }
}

/** plainNumber writes a number in positional notation (1e-7 -> "0.0000001"), as a decimal type would. */
export function plainNumber(n: number): string {
  const text = String(n);
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!match) return text;
  const [, sign = "", lead = "", rest = "", exp = "0"] = match;
  const digits = lead + rest;
  const point = 1 + Number(exp);
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + "0".repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}
