/**
 * created_at as Go reads and writes it. yaml.v3 decodes an unquoted timestamp leniently (`2024-1-2`,
 * `2024-01-02 03:04:05`, `2024-01-02T03:04:05.5Z`) and a quoted one as RFC 3339; encoding/json writes it back as
 * RFC 3339 with nanoseconds trimmed of trailing zeros, a zero offset as `Z`. A missing one is Go's zero time.
 */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

const TIMESTAMP =
  /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt ](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,9}))?\s*(Z|[+-]\d{2}:\d{2})?)?$/;

const pad = (value: string, width: number): string => value.padStart(width, "0");

/** goTimeJson parses a timestamp and formats it as Go's JSON does, or returns undefined when Go would refuse it. */
export function goTimeJson(value: string): string | undefined {
  const match = TIMESTAMP.exec(value.trim());
  if (!match) return undefined;
  const [, year = "", month = "", day = "", hour = "0", minute = "0", second = "0", fraction = "", zone = "Z"] = match;
  const [y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0] = [year, month, day, hour, minute, second].map(Number);
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  const frac = fraction.replace(/0+$/, "");
  const offset = zone === "+00:00" || zone === "-00:00" ? "Z" : zone;
  const time = `${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}${frac ? `.${frac}` : ""}`;
  return `${year}-${pad(month, 2)}-${pad(day, 2)}T${time}${offset}`;
}
