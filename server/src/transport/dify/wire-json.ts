import type { Timestamp } from "@bufbuild/protobuf/wkt";

/**
 * JSON as the Go daemon writes it (encoding/json), so the Dify dialect's bytes match: compact, with `<`, `>`, `&`,
 * U+2028 and U+2029 escaped; maps (Go `map[string]any`) with their keys sorted; decimals and times in Go's spelling.
 */

const GO_ESCAPES: Readonly<Record<string, string>> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

/** goJson is JSON.stringify with Go's HTML-safe escaping. The characters escaped only ever occur inside strings. */
export function goJson(value: unknown): string {
  return (JSON.stringify(value) ?? "null").replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c] ?? c);
}

/** sortedDeep orders every object's keys, as Go orders the keys of a `map[string]any` and of maps nested in it. */
export function sortedDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedDeep);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortedDeep((value as Record<string, unknown>)[key]);
  return out;
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * goDecimal spells a decimal as Go's decimal.Decimal writes it (prices in usage): positional, no exponent, no
 * trailing fractional zeros, no leading zeros, "0" for zero or empty ("0.0025000" -> "0.0025", "1E-7" -> "0.0000001").
 * A string that is not a decimal is returned as it is.
 */
export function goDecimal(text: string): string {
  if (text.trim() === "") return "0";
  const match = DECIMAL.exec(text.trim());
  if (!match || (match[2] === "" && (match[3] ?? "") === "")) return text;
  const [, sign = "", whole = "", fraction = "", exponent = "0"] = match;
  let digits = whole + fraction;
  let point = whole.length + Number(exponent);
  if (point < 0) {
    digits = "0".repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits += "0".repeat(point - digits.length);
  const intPart = digits.slice(0, point).replace(/^0+/, "") || "0";
  const fracPart = digits.slice(point).replace(/0+$/, "");
  const spelled = fracPart ? `${intPart}.${fracPart}` : intPart;
  return sign === "-" && spelled !== "0" ? `-${spelled}` : spelled;
}

/** Go's zero time.Time, what an unset time marshals to. */
const GO_ZERO_TIME = "0001-01-01T00:00:00Z";

/** goTime spells a timestamp as Go's time.Time marshals in UTC (RFC 3339, fractional seconds without trailing zeros). */
export function goTime(ts: Timestamp | undefined): string {
  if (!ts) return GO_ZERO_TIME;
  const date = new Date(Number(ts.seconds) * 1000);
  const base = date.toISOString().slice(0, 19);
  const nanos = ts.nanos > 0 ? `.${String(ts.nanos).padStart(9, "0").replace(/0+$/, "")}` : "";
  return `${base}${nanos}Z`;
}
