import { isMap, isScalar, parseAllDocuments, type Document } from "yaml";
import type { PackageProblem } from "../errors.js";
import { fail, type Site } from "./fail.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Aliases one document may expand; more is an alias bomb ("billion laughs"). */
const MAX_ALIASES = 100;

/** Mapping is a parsed YAML mapping: a plain object. */
export type Mapping = Record<string, unknown>;

export function isMapping(value: unknown): value is Mapping {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * guarded runs a step of YAML processing on untrusted text; anything the library throws (an alias bomb, nesting too
 * deep for the stack) becomes invalid_yaml for the file instead of escaping as an unexpected error.
 */
function guarded<T>(file: string, step: () => T): T {
  try {
    return step();
  } catch (err) {
    const what = err instanceof Error ? err.message.split("\n")[0] : String(err);
    return fail("invalid_yaml", { file, field: "" }, `cannot be read as YAML: ${what}`);
  }
}

/**
 * parseYamlDocument parses the first YAML document of a file, as Go's yaml.v3 Unmarshal does. Syntax errors,
 * duplicate keys and invalid UTF-8 are invalid_yaml, with the line and column. An empty file has no document.
 */
export function parseYamlDocument(data: Buffer, file: string): Document | undefined {
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    fail("invalid_yaml", { file, field: "" }, "is not valid UTF-8 text");
  }
  // An empty file is an empty stream: no document at all.
  const [doc] = guarded(file, () => parseAllDocuments(text, { merge: true, uniqueKeys: true, prettyErrors: true }));
  if (doc === undefined) return undefined;
  const error = doc.errors[0];
  if (error) {
    const pos = error.linePos?.[0];
    const where = pos ? `line ${pos.line}, column ${pos.col}: ` : "";
    const what = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    fail("invalid_yaml", { file, field: "" }, `${where}${what}`);
  }
  return doc;
}

/**
 * keepScalarText replaces a number or boolean at a path with the text it was written as, because Go decodes any
 * scalar into a string field verbatim: `version: 1.10` is "1.10" there, not 1.1.
 */
export function keepScalarText(doc: Document | undefined, path: readonly string[]): void {
  const node = doc?.getIn(path, true);
  if (isScalar(node) && typeof node.value !== "string" && node.value !== null && node.source !== undefined) {
    node.value = node.source;
  }
}

/** toJS converts a parsed document to plain values (undefined for an empty file). */
function toJS(doc: Document | undefined, file: string): unknown {
  return guarded(file, () => doc?.toJS({ maxAliasCount: MAX_ALIASES }));
}

/** toMapping converts a document to JS and insists on a mapping at the top (`problem` otherwise). */
export function toMapping(doc: Document | undefined, file: string, problem: PackageProblem): Mapping {
  const value = toJS(doc, file);
  if (value === null || value === undefined) fail(problem, { file, field: "" }, "is empty; expected a YAML mapping");
  if (!isMapping(value) || !isMap(doc?.contents)) {
    const found = Array.isArray(value) ? "a list" : "a scalar";
    fail(problem, { file, field: "" }, `expected a YAML mapping at the top level, found ${found}`);
  }
  return value;
}

/** readYamlValue parses a whole file to JS without any shape requirement (position files are plain lists). */
export function readYamlValue(data: Buffer, site: Site): unknown {
  return toJS(parseYamlDocument(data, site.file), site.file);
}
