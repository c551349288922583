/**
 * Reading a plugin's dependency declarations the way an installer will see them, and rewriting them so that
 * both install paths of a daemon stay offline:
 * - pip (ours, and the Go daemon when PIP_MIRROR_URL is set) reads requirements.txt, which gets
 *   `--no-index --find-links=./wheels/` on top;
 * - uv (the Go daemon's default when pyproject.toml exists) runs `uv sync`, which reads `[tool.uv]`: it gets
 *   `no-index` and `find-links`, loses its dev groups (uv resolves them even with --no-dev) and its uv.lock
 *   (a frozen sync downloads the URLs recorded in the lock, whatever the wheels beside it).
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { parse, stringify } from "smol-toml";
import { ignoreRules } from "../packaging/ignore-rules.js";
import { RepackageError } from "./errors.js";
import { logicalLines, readRequirementsFile, withoutHashes } from "./requirements-files.js";

export const WHEELS_DIR = "wheels";
export const OFFLINE_REQUIREMENTS_HEADER = `--no-index --find-links=./${WHEELS_DIR}/`;

/** What pip must resolve for the plugin: requirement lines plus the versions uv.lock pinned. */
export interface DependencySet {
  /** Lines for a requirements file: requirements.txt without index options, then pyproject's dependencies. */
  readonly requirements: readonly string[];
  /** `name==version` for every package uv.lock pins to one version: the versions `uv sync --frozen` would use. */
  readonly constraints: readonly string[];
  /** Which files the set came from, for the summary. */
  readonly sources: readonly string[];
  /** requirements.txt and the files it includes, relative to the package root (all rewritten offline). */
  readonly requirementsFiles: readonly string[];
}

type Table = Record<string, unknown>;
const isTable = (value: unknown): value is Table => typeof value === "object" && value !== null && !Array.isArray(value);

async function readOptional(file: string): Promise<string | undefined> {
  return readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
}

function parseToml(text: string, file: string): Table {
  try {
    return parse(text) as Table;
  } catch (err) {
    throw new RepackageError(`${file} is not valid TOML (${(err as Error).message.split("\n")[0]}); fix the plugin's ${file}`);
  }
}

const INDEX_OPTION = /^\s*(-i|--index-url|--extra-index-url|--no-index|-f|--find-links|--trusted-host)(\s|=|$)/;

/** withoutIndexOptions drops the lines of a requirements file that choose where pip looks: the package decides that now. */
export function withoutIndexOptions(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => !INDEX_OPTION.test(line));
}

/**
 * For resolving, the plugin's extra indexes stay (a PyTorch CPU index, say, is how some of its dependencies
 * resolve at all); its main index and offline switches go, so the operator's PIP_MIRROR_URL decides.
 */
const NOT_FOR_RESOLVING = /^\s*(-i|--index-url|--no-index|-f|--find-links)(\s|=|$)/;

/** declaresRequirements: whether any line names something to install (not only options or constraints). */
export function declaresRequirements(lines: readonly string[]): boolean {
  return lines.some((line) => {
    const text = line.replace(/(^|\s)#.*$/, "").trim();
    return text !== "" && (!text.startsWith("-") || /^(-r|--requirement|-e|--editable)(\s|=)/.test(text));
  });
}

/** readDependencySet reads requirements.txt, pyproject.toml and uv.lock of an extracted plugin. */
export async function readDependencySet(dir: string): Promise<DependencySet> {
  const requirements: string[] = [];
  const constraints: string[] = [];
  const sources: string[] = [];

  let requirementsFiles: readonly string[] = [];
  if ((await readOptional(path.join(dir, "requirements.txt"))) !== undefined) {
    const read = await readRequirementsFile(dir, "requirements.txt");
    requirements.push(...read.requirements.filter((line) => !NOT_FOR_RESOLVING.test(line)));
    constraints.push(...read.constraints.filter((line) => !NOT_FOR_RESOLVING.test(line)));
    requirementsFiles = read.files;
    sources.push("requirements.txt");
  }

  const pyprojectText = await readOptional(path.join(dir, "pyproject.toml"));
  if (pyprojectText !== undefined) {
    const pyproject = parseToml(pyprojectText, "pyproject.toml");
    const project = pyproject["project"];
    const declared = isTable(project) && Array.isArray(project["dependencies"]) ? project["dependencies"] : [];
    const strings = declared.filter((d): d is string => typeof d === "string" && d.trim() !== "");
    if (strings.length > 0) {
      requirements.push(...strings);
      sources.push("pyproject.toml");
    }
    // Indexes the plugin resolves some dependencies from (uv's [[tool.uv.index]], e.g. PyTorch's CPU wheels).
    const uv = isTable(pyproject["tool"]) && isTable(pyproject["tool"]["uv"]) ? pyproject["tool"]["uv"] : {};
    for (const index of Array.isArray(uv["index"]) ? uv["index"] : []) {
      if (isTable(index) && typeof index["url"] === "string" && /^https?:\/\//.test(index["url"])) requirements.unshift(`--extra-index-url ${index["url"]}`);
    }
  }

  const lockText = await readOptional(path.join(dir, "uv.lock"));
  if (lockText !== undefined) {
    const packages = parseToml(lockText, "uv.lock")["package"];
    const versions = new Map<string, Set<string>>();
    for (const entry of Array.isArray(packages) ? packages : []) {
      if (!isTable(entry) || typeof entry["name"] !== "string" || typeof entry["version"] !== "string") continue;
      // The project itself (and path dependencies) are not downloaded.
      const source = entry["source"];
      if (isTable(source) && ("virtual" in source || "editable" in source || "directory" in source || "path" in source)) continue;
      const seen = versions.get(entry["name"]) ?? new Set<string>();
      seen.add(entry["version"]);
      versions.set(entry["name"], seen);
    }
    // A package locked at two versions (forked by markers) is left to pip rather than pinned wrongly; so is a
    // local version (torch 2.3.0+cpu), which only the index uv found it on knows.
    for (const [name, set] of versions) {
      const [version] = [...set];
      if (set.size === 1 && version !== undefined && !version.includes("+")) constraints.push(`${name}==${version}`);
    }
    sources.push("uv.lock (as version constraints)");
  }

  return { requirements, constraints, sources, requirementsFiles };
}

/**
 * writeOfflineLayout rewrites the extracted plugin for an index-free install and returns what it changed, in
 * words for the summary. Call it after the wheels are in `wheels/`.
 */
export async function writeOfflineLayout(dir: string, set: DependencySet, uvEnvironments: readonly string[] = []): Promise<string[]> {
  const changes: string[] = [];

  const requirementsFile = path.join(dir, "requirements.txt");
  const requirementsTxt = await readOptional(requirementsFile);
  if (!declaresRequirements(set.requirements)) {
    // Nothing to install: the file (if any) stays as it is; there is nothing for an installer to fetch.
  } else if (requirementsTxt !== undefined) {
    for (const [i, relative] of set.requirementsFiles.entries()) {
      const file = path.join(dir, relative);
      const lines = logicalLines(await readFile(file, "utf8"))
        .filter((line) => !INDEX_OPTION.test(line))
        .map(withoutHashes);
      await writeFile(file, `${i === 0 ? `${OFFLINE_REQUIREMENTS_HEADER}\n` : ""}${lines.map((l) => `${l}\n`).join("")}`);
    }
    changes.push(
      `requirements.txt${set.requirementsFiles.length > 1 ? ` (and ${set.requirementsFiles.slice(1).join(", ")})` : ""}: ` +
        `installs from ./${WHEELS_DIR}/ only (--no-index); index options, comments and hashes removed (every wheel was checked against the index's sha256)`,
    );
  } else {
    // pyproject-only plugin: pip-based daemons (and ours) read requirements.txt first.
    await writeFile(requirementsFile, `${OFFLINE_REQUIREMENTS_HEADER}\n# from pyproject.toml [project].dependencies, by the offline repackager\n${set.requirements.join("\n")}\n`);
    changes.push(`requirements.txt: written from pyproject.toml's dependencies, installing from ./${WHEELS_DIR}/ only`);
  }

  const pyprojectFile = path.join(dir, "pyproject.toml");
  const pyprojectText = await readOptional(pyprojectFile);
  if (pyprojectText !== undefined) {
    const pyproject = parseToml(pyprojectText, "pyproject.toml");
    if ("dependency-groups" in pyproject) {
      delete pyproject["dependency-groups"];
      changes.push("pyproject.toml: [dependency-groups] removed (uv resolves dev groups even when it does not install them)");
    }
    const project = pyproject["project"];
    if (isTable(project) && "optional-dependencies" in project) {
      delete project["optional-dependencies"];
      changes.push("pyproject.toml: [project.optional-dependencies] removed (uv locks every extra; a plugin runs without them)");
    }
    const tool = isTable(pyproject["tool"]) ? pyproject["tool"] : (pyproject["tool"] = {});
    const uv: Table = isTable(tool["uv"]) ? tool["uv"] : (tool["uv"] = {});
    for (const key of ["dev-dependencies", "default-groups", "index", "index-url", "extra-index-url"]) {
      if (key in uv) {
        delete uv[key];
        changes.push(`pyproject.toml: [tool.uv] ${key} removed`);
      }
    }
    if (isTable(uv["sources"])) {
      // Sources that name an index, a git repository or a URL need the network; local paths stay.
      for (const [name, source] of Object.entries(uv["sources"])) {
        if (isTable(source) && ("index" in source || "git" in source || "url" in source)) {
          delete uv["sources"][name];
          changes.push(`pyproject.toml: [tool.uv.sources] ${name} removed (it points at the network)`);
        }
      }
    }
    uv["no-index"] = true;
    uv["find-links"] = [`./${WHEELS_DIR}`];
    // uv locks for every platform and Python unless told which: only the targets' wheels are inside.
    if (uvEnvironments.length > 0) uv["environments"] = [...uvEnvironments];
    // A plugin runs from its directory; building it as a package would need its build backend offline too.
    uv["package"] = false;
    await writeFile(pyprojectFile, `${stringify(pyproject)}\n`);
    changes.push(
      `pyproject.toml: [tool.uv] no-index = true, find-links = ["./${WHEELS_DIR}"], package = false${uvEnvironments.length > 0 ? `, environments = ${JSON.stringify(uvEnvironments)}` : ""}`,
    );
  }

  if ((await readOptional(path.join(dir, "uv.lock"))) !== undefined) {
    await rm(path.join(dir, "uv.lock"));
    changes.push("uv.lock removed (a frozen `uv sync` downloads the URLs it records; uv re-locks from ./wheels instead)");
  }

  changes.push(...(await keepWheelsPackaged(dir)));
  return changes;
}

/**
 * keepWheelsPackaged removes the lines of the ignore file in effect (.difyignore, else .gitignore) that would
 * leave the wheels out of the package: any pattern that ignores `wheels/` or a wheel file in it, not only the
 * literal `wheels/` line the reference tool deletes.
 */
async function keepWheelsPackaged(dir: string): Promise<string[]> {
  for (const name of [".difyignore", ".gitignore"]) {
    const file = path.join(dir, name);
    const text = await readOptional(file);
    if (text === undefined) continue;
    const removed: string[] = [];
    const kept = text.split(/\r?\n/).filter((line) => {
      const rules = ignoreRules(line);
      const hides = rules.ignores(`${WHEELS_DIR}/`) || rules.ignores(`${WHEELS_DIR}/x-1.0-py3-none-any.whl`);
      if (hides) removed.push(line.trim());
      return !hides;
    });
    if (removed.length === 0) return [];
    await writeFile(file, kept.join("\n"));
    return [`${name}: ${removed.map((l) => JSON.stringify(l)).join(", ")} removed so that ./${WHEELS_DIR}/ is packaged`];
  }
  return [];
}
