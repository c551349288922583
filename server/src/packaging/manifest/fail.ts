import { PackageError, type PackageProblem } from "../errors.js";

/** Where a value came from: a package file and, inside it, a field path such as `meta.arch[0]` ("" for the whole file). */
export interface Site {
  readonly file: string;
  readonly field: string;
}

/** fieldPath formats a path like zod's (`["meta", "arch", 0]`) as `meta.arch[0]`, appended to a prefix. */
export function fieldPath(prefix: string, parts: readonly PropertyKey[]): string {
  let out = prefix;
  for (const part of parts) {
    if (typeof part === "number") out += `[${part}]`;
    else if (typeof part === "string" && /^[A-Za-z0-9_-]+$/.test(part)) out += out === "" ? part : `.${part}`;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}

/** at names a field below a site: `at({file, field: "tools[1]"}, "identity")` is `tools[1].identity`. */
export function at(site: Site, ...parts: readonly PropertyKey[]): Site {
  return { file: site.file, field: fieldPath(site.field, parts) };
}

/**
 * fail throws the PackageError for a problem at a site. The message always starts with the file and, when there is
 * one, the field (`manifest.yaml: meta.arch[0]: "x86" is not one of amd64, arm64`), so a user can find the line to fix.
 */
export function fail(problem: PackageProblem, site: Site, what: string): never {
  const where = site.field ? `${site.file}: ${site.field}` : site.file;
  const detail = site.field ? { file: site.file, field: site.field } : { file: site.file };
  throw new PackageError(problem, `${where}: ${what}`, detail);
}

/** quote shows a user's value in a message, shortened so a huge value cannot flood logs. */
export function quote(value: unknown): string {
  const text = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
