import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { CredentialType } from "../../../../gen/dify/plugin/v1/common_pb.js";
import { InvalidPackageError } from "../../errors.js";
import { CREDENTIAL_TYPES } from "./tool-rpcs.js";

/*
 * Shared by the tool runtime, OAuth, dynamic select, datasource and trigger RPCs (the file name carries the
 * tool-runtime prefix only because of where it was written): reading the plugin's result chunks field by field,
 * and the two request-side helpers every one of those actions needs.
 */

/**
 * ChunkReader reads one result chunk a plugin streamed for an action. A field the action needs that is absent,
 * `null` (the SDK writes Python's None as null) or of the wrong kind fails the call with an error naming the
 * action and the field's path, e.g. `options[1].label.en_US`, instead of reaching the caller as a silent default.
 * Errors name the JSON kind found, never the value: chunks carry credentials.
 */
export interface ChunkReader {
  /** raw is the chunk object itself, as the plugin sent it. */
  readonly raw: JsonObject;
  object(key: string): JsonObject;
  optionalObject(key: string): JsonObject | undefined;
  /** reader reads a required nested object. */
  reader(key: string): ChunkReader;
  /** readers reads a required list of objects. */
  readers(key: string): ChunkReader[];
  string(key: string): string;
  optionalString(key: string): string | undefined;
  strings(key: string): string[];
  boolean(key: string): boolean;
  optionalBoolean(key: string): boolean | undefined;
  integer(key: string): number;
  optionalInteger(key: string): number | undefined;
  /** hex reads a required hex string (how Dify's wire carries bytes) as bytes. */
  hex(key: string): Uint8Array;
}

/** readChunk starts reading one chunk of `action` (written `type/action`, e.g. "oauth/get_credentials"). */
export function readChunk(chunk: unknown, action: string): ChunkReader {
  if (!isObject(chunk)) throw new InvalidPackageError(`the plugin answered ${action} with ${kindOf(chunk)}, expected an object`);
  return reader(chunk, action, "");
}

function reader(raw: JsonObject, action: string, path: string): ChunkReader {
  const at = (key: string) => (path === "" ? key : `${path}.${key}`);
  const fail = (where: string, expected: string, found: unknown) =>
    new InvalidPackageError(
      found === undefined || found === null
        ? `the plugin's ${action} result lacks ${where} (expected ${expected})`
        : `the plugin's ${action} result has ${where} as ${kindOf(found)}, expected ${expected}`,
    );
  const required = <T>(key: string, expected: string, ok: (v: JsonValue) => v is JsonValue & T): T => {
    const v = raw[key];
    if (v === undefined || v === null || !ok(v)) throw fail(at(key), expected, v);
    return v;
  };
  const optional = <T>(key: string, expected: string, ok: (v: JsonValue) => v is JsonValue & T): T | undefined => {
    const v = raw[key];
    if (v === undefined || v === null) return undefined;
    if (!ok(v)) throw fail(at(key), expected, v);
    return v;
  };
  const list = (key: string, expected: string): JsonValue[] => required(key, expected, Array.isArray);

  return {
    raw,
    object: (key) => required(key, "an object", isObject),
    optionalObject: (key) => optional(key, "an object", isObject),
    reader: (key) => reader(required(key, "an object", isObject), action, at(key)),
    readers: (key) =>
      list(key, "a list of objects").map((item, i) => {
        if (!isObject(item)) throw fail(`${at(key)}[${i}]`, "an object", item);
        return reader(item, action, `${at(key)}[${i}]`);
      }),
    string: (key) => required(key, "a string", isString),
    optionalString: (key) => optional(key, "a string", isString),
    strings: (key) =>
      list(key, "a list of strings").map((item, i) => {
        if (!isString(item)) throw fail(`${at(key)}[${i}]`, "a string", item);
        return item;
      }),
    boolean: (key) => required(key, "a boolean", isBoolean),
    optionalBoolean: (key) => optional(key, "a boolean", isBoolean),
    integer: (key) => required(key, "an integer", isInteger),
    optionalInteger: (key) => optional(key, "an integer", isInteger),
    hex: (key) => {
      const text = required(key, "a hex string", isString);
      if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw new InvalidPackageError(`the plugin's ${action} result has ${at(key)} that is not a hex string`);
      return new Uint8Array(Buffer.from(text, "hex"));
    },
  };
}

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === "string";
const isBoolean = (v: unknown): v is boolean => typeof v === "boolean";
const isInteger = (v: unknown): v is number => Number.isInteger(v);

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** credentialTypeField is `{credential_type}` with Dify's wire name, or nothing when unspecified (Dify omits it). */
export function credentialTypeField(type: CredentialType): { credential_type?: string } {
  const name = CREDENTIAL_TYPES[type];
  return name ? { credential_type: name } : {};
}

/** hexOf encodes bytes as Dify's wire carries them inside JSON (lower-case hex, e.g. raw_http_request). */
export function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}
