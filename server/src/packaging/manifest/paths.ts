import { posix } from "node:path";
import type { PackageFiles } from "../archive.js";
import { fail, quote, type Site } from "./fail.js";

/**
 * resolveReference turns a path written in a manifest or provider file into a package path: relative to the package
 * root (never to the referencing file, as in the Go daemon), normalised (`./a/../b` is `b`), and confined — an
 * absolute path, a `\`-separated one, or one that climbs out of the root is refused as invalid_declaration.
 */
export function resolveReference(ref: string, site: Site): string {
  if (ref === "") fail("invalid_declaration", site, "is empty; give a path relative to the package root");
  if (ref.includes("\\")) fail("invalid_declaration", site, `${quote(ref)} uses "\\"; package paths are separated by "/"`);
  if (ref.startsWith("/") || /^[A-Za-z]:/.test(ref)) {
    fail("invalid_declaration", site, `${quote(ref)} is absolute; paths are relative to the package root`);
  }
  const path = posix.normalize(ref);
  if (path === ".." || path.startsWith("../")) {
    fail("invalid_declaration", site, `${quote(ref)} points outside the package root`);
  }
  if (path === "." || path.endsWith("/")) fail("invalid_declaration", site, `${quote(ref)} names a directory, not a file`);
  return path;
}

/** readReference resolves a reference and reads the file, or fails with missing_file naming the referencing field. */
export function readReference(files: PackageFiles, ref: string, site: Site): { path: string; data: Buffer } {
  const path = resolveReference(ref, site);
  const data = files.read(path);
  if (data === undefined) {
    const lower = path.toLowerCase();
    const near = files.paths.find((p) => p.toLowerCase() === lower);
    const hint = near === undefined ? "" : ` (there is ${quote(near)}: paths are case-sensitive)`;
    fail("missing_file", site, `${quote(path)} is not in the package${hint}`);
  }
  return { path, data };
}
