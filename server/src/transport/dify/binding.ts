/**
 * Request binding as the Go daemon's BindRequest does it (spec/dify-http-api.md §1.3): JSON bodies when the
 * Content-Type says JSON, query parameters otherwise; then validation of what the route requires. A binding
 * failure is answered with HTTP 400 and a `-400 PluginDaemonBadRequestError` envelope, before any service runs.
 */

/** BindError is a request the route cannot bind; its message follows go-playground/validator's wording. */
export class BindError extends Error {
  static field(field: string, tag: string): BindError {
    return new BindError(`Key: '${field}' Error:Field validation for '${field}' failed on the '${tag}' tag`);
  }
}

export type JsonRecord = Readonly<Record<string, unknown>>;

/**
 * parseJsonObject reads a JSON body. Like gin's ShouldBindJSON (whose error the Go daemon ignores), a body that is
 * not a JSON object binds nothing: the route's validation then says what is missing.
 */
export function parseJsonObject(bytes: Buffer): JsonRecord {
  if (bytes.length === 0) return {};
  try {
    const value: unknown = JSON.parse(bytes.toString("utf8"));
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as JsonRecord) : {};
  } catch {
    return {};
  }
}

/** The plugin_unique_identifier rule (§1.3), checked where Go's `plugin_unique_identifier` tag is. */
const UNIQUE_IDENTIFIER = /^(?:([a-z0-9_-]{1,64})\/)?([a-z0-9_-]{1,255}):([0-9]{1,4})(\.[0-9]{1,4}){1,3}(-\w{1,16})?@[a-f0-9]{32,64}$/;

export function isUniqueIdentifier(value: string): boolean {
  return UNIQUE_IDENTIFIER.test(value);
}

/** pluginIdOf is the `author/name` part of a unique identifier (the text before `:`). */
export function pluginIdOf(identifier: string): string {
  const colon = identifier.indexOf(":");
  return colon < 0 ? identifier : identifier.slice(0, colon);
}

/** requireIdentifier: a required plugin_unique_identifier field, checked against the rule. */
export function requireIdentifier(value: unknown, field: string): string {
  if (typeof value !== "string" || value === "") throw BindError.field(field, "required");
  if (!isUniqueIdentifier(value)) throw BindError.field(field, "plugin_unique_identifier");
  return value;
}

/** requireString: a required string field (`validate:"required"`: present and not empty). */
export function requireString(value: unknown, field: string): string {
  if (typeof value !== "string" || value === "") throw BindError.field(field, "required");
  return value;
}

/** optString: a string field, "" when absent or null. */
export function optString(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** optObject: an object field, undefined when absent or not an object. */
export function optObject(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** formInt reads an integer query parameter as gin binds it: unparsable or absent is 0. */
export function formInt(query: URLSearchParams, name: string): number {
  const text = query.get(name);
  if (text === null || !/^[+-]?\d+$/.test(text.trim())) return 0;
  return Number(text.trim());
}

/** pageOf binds Dify's `page` (required, >= 1) and `page_size` (required, 1..max) query parameters. */
export function pageOf(query: URLSearchParams, maxPageSize = 256): { page: number; pageSize: number } {
  const page = formInt(query, "page");
  const pageSize = formInt(query, "page_size");
  if (page === 0) throw BindError.field("Page", "required");
  if (page < 1) throw BindError.field("Page", "min");
  if (pageSize === 0) throw BindError.field("PageSize", "required");
  if (pageSize < 1) throw BindError.field("PageSize", "min");
  if (pageSize > maxPageSize) throw BindError.field("PageSize", "max");
  return { page, pageSize };
}
