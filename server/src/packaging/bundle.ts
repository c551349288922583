import { isSeq } from "yaml";
import { filesOf } from "./archive.js";
import { decodeArchive, type DecodeLimits } from "./decode.js";
import { PackageError } from "./errors.js";
import { at, fail, quote, type Site } from "./manifest/fail.js";
import { isMapping, keepScalarText, parseYamlDocument, toMapping, type Mapping } from "./manifest/yaml-file.js";

/**
 * The `.difybndl` format, as the Go daemon's bundle packager writes and reads it: a zip whose root holds
 * `manifest.yaml` (`type: bundle`, a `dependencies` list of `{type, value}`), with every embedded `.difypkg`
 * stored as `_assets/<path>` where `<path>` is the package dependency's `value.path` (the packager uses the
 * package checksum). GitHub and Marketplace dependencies are patterns: `owner/repo:release/asset` and
 * `organization/plugin:version`, split on `:` then `/`.
 */

/** The daemon's default MAX_BUNDLE_PACKAGE_SIZE (600 MiB). */
export const DEFAULT_MAX_BUNDLE_BYTES = 629_145_600;

export const BUNDLE_MANIFEST = "manifest.yaml";
export const BUNDLE_ASSETS_DIR = "_assets/";

export interface GithubDependency {
  readonly type: "github";
  /** `repo_pattern` as written: `owner/repo:release/asset`. */
  readonly repoPattern: string;
  /** `https://github.com/owner/repo`. */
  readonly repoAddress: string;
  /** `owner/repo`. */
  readonly repo: string;
  readonly release: string;
  /** The release asset name or pattern (Dify's `packages`). */
  readonly packages: string;
}

export interface MarketplaceDependency {
  readonly type: "marketplace";
  /** `marketplace_pattern` as written: `organization/plugin:version`. */
  readonly marketplacePattern: string;
  readonly organization: string;
  readonly plugin: string;
  readonly version: string;
}

export interface PackageDependency {
  readonly type: "package";
  /** `value.path` as written, relative to `_assets/`. */
  readonly path: string;
  /** The bundle entry holding the package: `_assets/<path>`. */
  readonly file: string;
  /** The embedded `.difypkg`, not decoded yet. */
  readonly bytes: Buffer;
}

export type BundleDependency = GithubDependency | MarketplaceDependency | PackageDependency;

export interface DecodedBundle {
  /** Informational fields of the bundle manifest, "" when absent. */
  readonly name: string;
  readonly version: string;
  readonly author: string;
  /** The dependencies in manifest order. */
  readonly dependencies: readonly BundleDependency[];
}

const DEPENDENCY_TYPES = ["github", "marketplace", "package"] as const;

/**
 * decodeBundle turns untrusted `.difybndl` bytes into its dependencies, each embedded package's bytes read out
 * of `_assets/`. The zip goes through decodeArchive (same safety checks and limits as a package); the manifest
 * must be `type: bundle` when it says a type, and every dependency must be complete. Embedded packages are not
 * decoded here: the caller decodes and verifies them as uploads. Every refusal is a PackageError naming the
 * bundle file and field.
 */
export async function decodeBundle(bytes: Buffer, limits: DecodeLimits): Promise<DecodedBundle> {
  let files;
  try {
    files = filesOf(await decodeArchive(bytes, limits));
  } catch (err) {
    throw err instanceof PackageError ? asBundleError(err) : err;
  }
  const data = files.read(BUNDLE_MANIFEST);
  if (data === undefined) {
    throw new PackageError(
      "manifest_missing",
      `not a valid difybndl: no ${BUNDLE_MANIFEST} at the root of the bundle (is this a .difypkg or a zipped folder?)`,
      { file: BUNDLE_MANIFEST },
    );
  }
  const doc = parseYamlDocument(data, BUNDLE_MANIFEST);
  // Go decodes scalars into string fields verbatim: a path such as `0123` stays "0123".
  for (const key of ["name", "version", "author"]) keepScalarText(doc, [key]);
  const list = doc?.getIn(["dependencies"], true);
  if (isSeq(list)) {
    list.items.forEach((_, i) => {
      for (const field of ["path", "repo_pattern", "marketplace_pattern"]) keepScalarText(doc, ["dependencies", String(i), "value", field]);
    });
  }
  const manifest = toMapping(doc, BUNDLE_MANIFEST, "invalid_manifest");
  const site: Site = { file: BUNDLE_MANIFEST, field: "" };

  const type = manifest["type"];
  if (type !== undefined && type !== null && type !== "bundle") {
    fail("invalid_manifest", at(site, "type"), `is ${quote(type)}; a bundle manifest has type "bundle" (a .difypkg is uploaded as a package, not a bundle)`);
  }
  const raw = manifest["dependencies"];
  if (raw !== undefined && raw !== null && !Array.isArray(raw)) {
    fail("invalid_manifest", at(site, "dependencies"), `must be a list of {type, value}, found ${quote(raw)}`);
  }
  const dependencies = ((raw ?? []) as unknown[]).map((item, i) => dependencyAt(item, at(site, "dependencies", i), files.read));
  return {
    name: optionalText(manifest, "name"),
    version: optionalText(manifest, "version"),
    author: optionalText(manifest, "author"),
    dependencies,
  };
}

function dependencyAt(item: unknown, site: Site, read: (path: string) => Buffer | undefined): BundleDependency {
  if (!isMapping(item)) fail("invalid_manifest", site, `must be a mapping {type, value}, found ${quote(item)}`);
  const type = item["type"];
  if (!isDependencyType(type)) {
    fail("invalid_manifest", at(site, "type"), `is ${quote(type)}; expected one of ${DEPENDENCY_TYPES.join(", ")}`);
  }
  const value = item["value"];
  if (!isMapping(value)) fail("invalid_manifest", at(site, "value"), `must be a mapping, found ${quote(value)}`);
  const valueSite = at(site, "value");

  if (type === "github") {
    const pattern = requiredText(value, "repo_pattern", valueSite);
    const parts = splitPattern(pattern);
    const [owner, repo, release, asset] = parts;
    if (!owner || !repo || !release || !asset) {
      fail("invalid_manifest", at(valueSite, "repo_pattern"), `is ${quote(pattern)}; expected owner/repo:release/asset (e.g. langgenius/openai:0.0.1/openai.difypkg)`);
    }
    return { type, repoPattern: pattern, repoAddress: `https://github.com/${owner}/${repo}`, repo: `${owner}/${repo}`, release, packages: asset };
  }
  if (type === "marketplace") {
    const pattern = requiredText(value, "marketplace_pattern", valueSite);
    const [organization, plugin, version] = splitPattern(pattern);
    if (!organization || !plugin || !version) {
      fail("invalid_manifest", at(valueSite, "marketplace_pattern"), `is ${quote(pattern)}; expected organization/plugin:version (e.g. langgenius/openai:0.0.1)`);
    }
    return { type, marketplacePattern: pattern, organization, plugin, version };
  }
  const path = requiredText(value, "path", valueSite);
  const file = `${BUNDLE_ASSETS_DIR}${path}`;
  const bytes = read(file);
  if (bytes === undefined) {
    fail("missing_file", at(valueSite, "path"), `names ${quote(path)}, but the bundle has no file ${quote(file)}`);
  }
  return { type, path, file, bytes };
}

function isDependencyType(type: unknown): type is BundleDependency["type"] {
  return typeof type === "string" && (DEPENDENCY_TYPES as readonly string[]).includes(type);
}

/** splitPattern splits a dependency pattern as the Go daemon does: on `:`, then each piece on `/`. */
function splitPattern(pattern: string): string[] {
  return pattern.split(":").flatMap((piece) => piece.split("/"));
}

function requiredText(value: Mapping, key: string, site: Site): string {
  const text = value[key];
  if (typeof text !== "string" || text.trim() === "") {
    fail("invalid_manifest", at(site, key), text === undefined ? "is required" : `must be a non-empty string, found ${quote(text)}`);
  }
  return text;
}

function optionalText(manifest: Mapping, key: string): string {
  const text = manifest[key];
  return typeof text === "string" ? text : "";
}

/** asBundleError rewords a container error from decodeArchive (written for packages) to speak of the bundle. */
function asBundleError(err: PackageError): PackageError {
  const message = err.message.replace(/\bdifypkg\b/g, "difybndl").replace(/^package /, "bundle ");
  return new PackageError(err.problem, message, err.detail);
}
