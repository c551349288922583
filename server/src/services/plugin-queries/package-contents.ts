import path from "node:path";
import type { PackageArchive } from "../../packaging/archive.js";
import { mimeTypeOf } from "../../packaging/assets.js";
import { DEFAULT_MAX_PACKAGE_BYTES, decodeArchive } from "../../packaging/decode.js";
import { InvalidArgumentError, NotFoundError } from "../../errors.js";
import { blobKeys, type BlobStorage } from "../../storage/blob-storage.js";

/** The README languages look like Dify's: `en_US`, `zh_Hans`, `ja_JP`, `pt_BR`, ... */
const LANGUAGE = /^[a-z]{2,3}(?:_[A-Za-z0-9]{2,8})?$/;
const README_FILE = /^readme\/README_([^/]+)\.md$/;
export const DEFAULT_README_LANGUAGE = "en_US";
const MAX_FILE_PATH = 1024;

/** requireLanguage checks a README language (empty means en_US) before it reaches SQL. */
export function requireLanguage(language: string): string {
  if (language === "") return DEFAULT_README_LANGUAGE;
  if (language.length > 16 || !LANGUAGE.test(language)) {
    throw new InvalidArgumentError(`language "${language.slice(0, 64)}" is not a language code: use e.g. en_US, zh_Hans, ja_JP or pt_BR`);
  }
  return language;
}

/** requireFilePath checks a path inside a package: relative, `/`-separated, no `.` or `..` segments. */
export function requireFilePath(filePath: string): string {
  if (filePath === "") throw new InvalidArgumentError('file_path is required, e.g. "_assets/icon.svg"');
  if (filePath.length > MAX_FILE_PATH) throw new InvalidArgumentError(`file_path is ${filePath.length} characters: at most ${MAX_FILE_PATH}`);
  const segments = filePath.split("/");
  if (filePath.includes("\\") || filePath.includes("\0") || segments.some((s) => s === "" || s === "." || s === "..")) {
    throw new InvalidArgumentError(`file_path "${filePath.slice(0, 200)}" is not a relative path inside the package: use / separators, no "." or ".." segments`);
  }
  return filePath;
}

/**
 * readmesOf picks a package's READMEs by language: the root `README.md` is en_US, `readme/README_<lang>.md` the
 * others (a root README wins over `readme/README_en_US.md`). NUL characters, which Postgres text refuses, are dropped.
 */
export function readmesOf(archive: PackageArchive): Map<string, string> {
  const found = new Map<string, string>();
  const text = (data: Buffer) => data.toString("utf8").replaceAll("\0", "");
  for (const entry of archive.entries) {
    if (entry.name === "README.md") found.set(DEFAULT_README_LANGUAGE, text(entry.data));
  }
  for (const entry of archive.entries) {
    const language = README_FILE.exec(entry.name)?.[1];
    if (language === undefined || language.length > 16 || !LANGUAGE.test(language) || found.has(language)) continue;
    found.set(language, text(entry.data));
  }
  return found;
}

/** pickReadme applies the fallback: the requested language, then en_US, then the first language by name. */
export function pickReadme(readmes: ReadonlyMap<string, string>, language: string): { language: string; content: string } | undefined {
  for (const candidate of [language, DEFAULT_README_LANGUAGE, [...readmes.keys()].sort()[0]]) {
    if (candidate === undefined) continue;
    const content = readmes.get(candidate);
    if (content !== undefined) return { language: candidate, content };
  }
  return undefined;
}

const TEXT_TYPES: Record<string, string> = {
  ".md": "text/markdown; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".yaml": "application/yaml",
  ".yml": "application/yaml",
  ".json": "application/json",
  ".py": "text/x-python; charset=utf-8",
  ".toml": "application/toml",
};

/** mimeTypeOfFile guesses a package file's content type: images as assets are served, a few text types, else octet-stream. */
export function mimeTypeOfFile(filePath: string): string {
  const guessed = mimeTypeOf(filePath);
  if (guessed !== "application/octet-stream") return guessed;
  return TEXT_TYPES[path.extname(filePath).toLowerCase()] ?? guessed;
}

/** PackageArchives reads stored packages back from blob storage. */
export interface PackageArchives {
  /** read decodes a stored package, or throws NotFound when its bytes are not in storage (e.g. a debugging plugin). */
  read(uniqueIdentifier: string): Promise<PackageArchive>;
}

export function createPackageArchives(storage: BlobStorage, maxPackageBytes = DEFAULT_MAX_PACKAGE_BYTES): PackageArchives {
  return {
    async read(uniqueIdentifier) {
      const bytes = await storage.get(blobKeys.package(uniqueIdentifier));
      if (!bytes) throw new NotFoundError(`package ${uniqueIdentifier} has no stored archive (a debugging plugin has none): upload it again`);
      // The package passed these limits when it was uploaded; a larger configured limit must not reject it now.
      const limit = Math.max(maxPackageBytes, bytes.length);
      return decodeArchive(bytes, { maxPackageBytes: limit, maxUncompressedBytes: limit });
    },
  };
}
