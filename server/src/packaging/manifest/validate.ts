import { at, fail, quote, type Site } from "./fail.js";
import type { I18nText, ManifestFile } from "./schema.js";
import { goTimeJson } from "./timestamp.js";
import type { ValidationMode } from "./types.js";

/**
 * Rules on manifest.yaml values, in two strengths:
 * - "upload": what the daemon enforces when a package is uploaded (author and name patterns, an author that is not
 *   a UUID, a version the unique identifier accepts) plus what the runtime cannot do without (arch values, a python
 *   runner with an entrypoint, a storage size in range, an English label, a readable created_at);
 * - "package": additionally the CLI packager's struct validation of manifest.yaml (required fields, lengths, the
 *   exact 3-part version, type `plugin`, known tags, a URL repo).
 */

export const PLUGIN_TAGS = [
  "search", "image", "videos", "weather", "finance", "design", "travel", "social", "news", "medical", "productivity",
  "education", "business", "entertainment", "utilities", "agent", "rag", "other", "trigger",
] as const;

export const ARCHES = ["amd64", "arm64"] as const;

const AUTHOR = /^[a-z0-9_-]{1,64}$/;
const NAME = /^[a-z0-9_-]{1,128}$/;
/** manifest `version` and `meta.version` for the packager: exactly three numeric parts. */
const MANIFEST_VERSION = /^\d{1,4}(\.\d{1,4}){2}(-\w{1,16})?$/;
/** The version part of the unique identifier the daemon builds on upload: two to four numeric parts. */
const IDENTIFIER_VERSION = /^\d{1,4}(\.\d{1,4}){1,3}(-\w{1,16})?$/;
/** What Go's uuid.Parse accepts among strings the author pattern allows. */
const UUID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/i;

const STORAGE_MIN = 1024;
const STORAGE_MAX = 1073741824;

const MANIFEST: Site = { file: "manifest.yaml", field: "" };

const field = (...parts: PropertyKey[]): Site => at(MANIFEST, ...parts);
function bad(site: Site, what: string): never {
  return fail("invalid_manifest", site, what);
}

/** Go's validator counts characters (runes), not UTF-16 units or bytes. */
const runes = (value: string): number => [...value].length;

function required(value: string | undefined, site: Site, hint: string): string {
  if (value === undefined || value === "") bad(site, `is required; ${hint}`);
  return value;
}

function maxRunes(value: string | undefined, limit: number, site: Site): void {
  if (value !== undefined && runes(value) > limit) {
    bad(site, `is ${runes(value)} characters long; at most ${limit} are allowed`);
  }
}

function oneOf(value: string, allowed: readonly string[], site: Site): void {
  if (!allowed.includes(value)) bad(site, `${quote(value)} is not one of ${allowed.join(", ")}`);
}

function checkI18n(value: I18nText, site: Site, strict: boolean, hint: string): void {
  required(value.en_US, at(site, "en_US"), hint);
  if (strict) for (const [language, text] of Object.entries(value)) maxRunes(text, 1023, at(site, language));
}

/** validateManifest throws the first rule manifest.yaml breaks in the given mode. */
export function validateManifest(m: ManifestFile, mode: ValidationMode): void {
  const strict = mode === "package";
  checkIdentity(m, strict);
  checkTexts(m, strict);
  checkResource(m, strict);
  checkMeta(m, strict);
  checkTrailer(m, strict);
}

/** version, type, author and name: what the plugin's identifier is made of. */
function checkIdentity(m: ManifestFile, strict: boolean): void {
  const version = required(m.version, field("version"), "set the plugin version, e.g. 0.0.1");
  if (!(strict ? MANIFEST_VERSION : IDENTIFIER_VERSION).test(version)) {
    const parts = strict ? "MAJOR.MINOR.PATCH" : "2 to 4 numeric parts";
    bad(field("version"), `${quote(version)} is not a version (${parts} of 1-4 digits, optional -suffix, e.g. 0.0.1)`);
  }
  if (strict && m.type !== "plugin") {
    bad(field("type"), m.type ? `${quote(m.type)} must be "plugin"` : `is required; set it to "plugin"`);
  }
  const author = m.author ?? "";
  if (!AUTHOR.test(author)) {
    bad(field("author"), `${quote(author)} must be 1-64 lowercase letters, digits, "_" or "-" (^[a-z0-9_-]{1,64}$)`);
  }
  if (UUID.test(author)) {
    bad(field("author"), `${quote(author)} is shaped like a UUID; UUID authors are reserved for remote-debugging plugins`);
  }
  const name = m.name ?? "";
  if (!NAME.test(name)) {
    bad(field("name"), `${quote(name)} must be 1-128 lowercase letters, digits, "_" or "-" (^[a-z0-9_-]{1,128}$)`);
  }
}

/** label, description, icons. */
function checkTexts(m: ManifestFile, strict: boolean): void {
  checkI18n(m.label, field("label"), strict, "give the plugin's English label");
  if (!strict) return;
  checkI18n(m.description, field("description"), strict, "give the plugin's English description");
  required(m.icon, field("icon"), "name an icon file under _assets/, e.g. icon.svg");
  maxRunes(m.icon, 128, field("icon"));
  maxRunes(m.icon_dark, 128, field("icon_dark"));
}

/** resource (memory, storage size) and the provider lists. */
function checkResource(m: ManifestFile, strict: boolean): void {
  if (strict && !m.resource.memory) {
    bad(field("resource", "memory"), "is required; give the memory the plugin needs in bytes, e.g. 268435456");
  }
  const storage = m.resource.permission?.storage;
  if (storage && (storage.size < STORAGE_MIN || storage.size > STORAGE_MAX)) {
    const site = field("resource", "permission", "storage", "size");
    bad(site, `${storage.size} is out of range; storage size must be ${STORAGE_MIN}..${STORAGE_MAX} bytes`);
  }
  if (!strict) return;
  for (const [list, paths] of Object.entries(m.plugins)) {
    if (!Array.isArray(paths)) continue;
    paths.forEach((path, index) => maxRunes(String(path), 128, field("plugins", list, index)));
  }
}

/** meta: format version, architectures, runner. */
function checkMeta(m: ManifestFile, strict: boolean): void {
  const { meta } = m;
  if (strict) {
    const version = required(meta.version, field("meta", "version"), "set the manifest format version, e.g. 0.0.1");
    if (!MANIFEST_VERSION.test(version)) bad(field("meta", "version"), `${quote(version)} is not a version like 0.0.1`);
    if (!meta.arch?.length) bad(field("meta", "arch"), `is required; list one or more of ${ARCHES.join(", ")}`);
  }
  meta.arch?.forEach((arch, index) => oneOf(arch, ARCHES, field("meta", "arch", index)));

  const language = required(meta.runner.language, field("meta", "runner", "language"), `set it to "python"`);
  if (language !== "python") {
    bad(field("meta", "runner", "language"), `${quote(language)} is not supported; only "python" is`);
  }
  if (strict) {
    required(meta.runner.version, field("meta", "runner", "version"), `give the Python version, e.g. "3.12"`);
    maxRunes(meta.runner.version, 128, field("meta", "runner", "version"));
  }
  required(meta.runner.entrypoint, field("meta", "runner", "entrypoint"), "name the Python module to run, e.g. main");
  if (strict) maxRunes(meta.runner.entrypoint, 256, field("meta", "runner", "entrypoint"));
}

/** tags, created_at, repo. */
function checkTrailer(m: ManifestFile, strict: boolean): void {
  if (strict) m.tags?.forEach((tag, index) => oneOf(tag, PLUGIN_TAGS, field("tags", index)));

  const example = `an RFC 3339 timestamp like "2024-01-01T00:00:00Z"`;
  if (m.created_at === undefined || m.created_at === "") {
    if (strict) bad(field("created_at"), `is required; give ${example}`);
  } else if (goTimeJson(m.created_at) === undefined) {
    bad(field("created_at"), `${quote(m.created_at)} is not ${example}`);
  }

  if (strict && m.repo && !URL.canParse(m.repo)) {
    bad(field("repo"), `${quote(m.repo)} is not a URL; give the repository's address, e.g. https://github.com/you/plugin`);
  }
}
