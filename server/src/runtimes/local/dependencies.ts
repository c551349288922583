/**
 * Which dependencies a plugin declares. requirements.txt wins when present (it is what pip reads natively and
 * what repackaged offline plugins carry). Otherwise `[project].dependencies` of pyproject.toml is read with a
 * deliberately small reader and handed to pip as requirement strings: `pip install <workdir>` would be wrong,
 * since a plugin is a program, not an installable project, and `uv sync` semantics (lock files, dev groups) are
 * the reference's choice, not pip's. Lock files are therefore not honoured on the pip path.
 */

export type DependencyPlan =
  | { readonly kind: "none"; readonly reason: string }
  | { readonly kind: "requirements-file"; readonly file: string }
  | { readonly kind: "requirements"; readonly requirements: readonly string[]; readonly file: string };

/** hasRequirements tells whether a requirements.txt holds anything besides blank lines and comments. */
export function hasRequirements(text: string): boolean {
  return text.split(/\r?\n/).some((line) => line.replace(/(^|\s)#.*$/, "").trim() !== "");
}

/** planDependencies picks what to install from the files' contents (undefined = file absent). */
export function planDependencies(requirementsTxt: string | undefined, pyprojectToml: string | undefined): DependencyPlan {
  if (requirementsTxt !== undefined) {
    return hasRequirements(requirementsTxt)
      ? { kind: "requirements-file", file: "requirements.txt" }
      : { kind: "none", reason: "requirements.txt lists no requirement" };
  }
  if (pyprojectToml !== undefined) {
    const requirements = pyprojectDependencies(pyprojectToml);
    return requirements.length > 0
      ? { kind: "requirements", requirements, file: "pyproject.toml" }
      : { kind: "none", reason: "pyproject.toml declares no [project] dependencies" };
  }
  return { kind: "none", reason: "the package has neither requirements.txt nor pyproject.toml" };
}

/**
 * pyprojectDependencies reads the `dependencies = [...]` array of the `[project]` table: basic ("...") and
 * literal ('...') strings, across lines, with comments and trailing commas. Anything fancier TOML allows there
 * (multi-line strings, an inline `project = {...}` table) is not read and yields no requirement.
 */
export function pyprojectDependencies(text: string): string[] {
  const lines = text.split(/\r?\n/);
  let table = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const header = /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$/.exec(line);
    if (header) {
      table = header[1] ?? "";
      continue;
    }
    if (table !== "project") continue;
    const key = /^\s*dependencies\s*=\s*(.*)$/.exec(line);
    if (!key) continue;
    // Gather text until the array's closing bracket (outside strings).
    let source = key[1] ?? "";
    while (!arrayClosed(source) && i + 1 < lines.length) source += `\n${lines[++i] ?? ""}`;
    return stringsOfArray(source);
  }
  return [];
}

interface Scan {
  readonly strings: string[];
  readonly closed: boolean;
}

/** scanArray walks a TOML array literal, collecting its string elements and noting whether it closed. */
function scanArray(source: string): Scan {
  const strings: string[] = [];
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "#") {
      const end = source.indexOf("\n", i);
      if (end === -1) break;
      i = end;
    } else if (c === "[") {
      depth++;
    } else if (c === "]") {
      depth--;
      if (depth <= 0) return { strings, closed: true };
    } else if (c === '"' || c === "'") {
      let value = "";
      let j = i + 1;
      for (; j < source.length && source[j] !== c && source[j] !== "\n"; j++) {
        if (c === '"' && source[j] === "\\" && j + 1 < source.length) {
          const escaped = source[++j];
          value += escaped === "n" ? "\n" : escaped === "t" ? "\t" : (escaped ?? "");
        } else {
          value += source[j];
        }
      }
      if (depth === 1) strings.push(value.trim());
      i = j;
    }
  }
  return { strings, closed: false };
}

function arrayClosed(source: string): boolean {
  return scanArray(source).closed;
}

function stringsOfArray(source: string): string[] {
  return scanArray(source).strings.filter((s) => s !== "");
}
