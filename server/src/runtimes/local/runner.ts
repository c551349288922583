/**
 * What manifest.yaml's `meta.runner` tells the local runtime: the module to run (`python -m <entrypoint>`,
 * `main` when unsaid) and the python version (`"3.12"`). Both are checked against narrow shapes, so neither can
 * smuggle an option (`-c …`) or a path into a command line. The full manifest is validated elsewhere.
 */
import { parse } from "yaml";
import { InvalidPackageError } from "../../errors.js";
import type { PackageEntry } from "../../packaging/archive.js";

const MODULE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const PYTHON_VERSION = /^3\.[0-9]{1,2}$/;

/** checkEntrypoint returns the name when it is a module name, and throws InvalidPackageError otherwise. */
export function checkEntrypoint(name: string): string {
  if (!MODULE_NAME.test(name)) {
    throw new InvalidPackageError(`plugin entrypoint ${JSON.stringify(name)} is not a python module name (e.g. "main")`);
  }
  return name;
}

function runnerOf(entries: readonly PackageEntry[]): Record<string, unknown> | undefined {
  const manifest = entries.find((e) => e.name === "manifest.yaml");
  if (!manifest) return undefined;
  try {
    // The failsafe schema keeps every scalar as written: an unquoted `version: 3.10` must stay "3.10", not 3.1.
    const document = parse(manifest.data.toString("utf8"), { schema: "failsafe" }) as { meta?: { runner?: unknown } } | null;
    const runner = document?.meta?.runner;
    return typeof runner === "object" && runner !== null ? (runner as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** entrypointOf reads the entrypoint from the package's manifest.yaml ("main" when absent). */
export function entrypointOf(entries: readonly PackageEntry[]): string {
  const entrypoint = runnerOf(entries)?.["entrypoint"];
  return typeof entrypoint === "string" && entrypoint !== "" ? checkEntrypoint(entrypoint) : "main";
}

/** runnerVersionOf reads the python version the manifest asks for, when it is a plain `3.N`. */
export function runnerVersionOf(entries: readonly PackageEntry[]): string | undefined {
  const version = runnerOf(entries)?.["version"];
  return typeof version === "string" && PYTHON_VERSION.test(version) ? version : undefined;
}
