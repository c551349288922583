/**
 * Reading a plugin's requirements.txt the way pip will, with the files it includes (`-r`, `-c`) inlined, so the
 * repackager hands pip one file it wrote itself. Includes are confined to the package: a requirements file
 * naming `/proc/1/environ` or a URL would otherwise have pip read (and quote, in its errors) whatever is there.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { RepackageError } from "./errors.js";

export interface RequirementsRead {
  /** Requirement and option lines, includes inlined, continuations joined, comments and hashes dropped. */
  readonly requirements: readonly string[];
  /** Lines of the constraints files (`-c`) it names. */
  readonly constraints: readonly string[];
  /** The files read, relative to the package root: requirements.txt first, then each include. */
  readonly files: readonly string[];
}

const INCLUDE = /^(-r|--requirement|-c|--constraint)(?:\s+|=)(\S+)$/;
const MAX_DEPTH = 10;

/** logicalLines joins backslash continuations and drops comments and blank lines, as pip's parser does. */
export function logicalLines(text: string): string[] {
  return text
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((line) => line.replace(/(^|\s)#.*$/, "").trim())
    .filter((line) => line !== "");
}

/**
 * withoutHashes drops `--hash=...` options. The repackager checks every download against the hash the index
 * published, and a wheel it builds from an sdist can never match the sdist's hash: kept, they would make the
 * offline install refuse the very wheels it must use.
 */
export function withoutHashes(line: string): string {
  return line.replace(/\s+--hash(?:=|\s+)\S+/g, "").trim();
}

export async function readRequirementsFile(root: string, relative: string): Promise<RequirementsRead> {
  const requirements: string[] = [];
  const constraints: string[] = [];
  const files: string[] = [];

  async function read(file: string, into: string[], depth: number, from: string, named = file): Promise<void> {
    const resolved = path.resolve(root, file);
    const inside = path.relative(root, resolved);
    if (/^[a-z][a-z0-9+.-]*:/i.test(named) || path.isAbsolute(named) || inside.startsWith("..") || path.isAbsolute(inside)) {
      throw new RepackageError(`${from} includes ${JSON.stringify(named)}, which is not a file of the package: a plugin's requirements may only include its own files`);
    }
    if (depth > MAX_DEPTH || files.includes(inside)) {
      throw new RepackageError(`${from} includes ${inside} again (a cycle, or more than ${MAX_DEPTH} levels of -r/-c)`);
    }
    let text: string;
    try {
      text = await readFile(resolved, "utf8");
    } catch {
      throw new RepackageError(`${from} includes ${inside}, which is not in the package`);
    }
    files.push(inside);
    for (const line of logicalLines(text)) {
      const include = INCLUDE.exec(line);
      if (include) {
        // pip resolves an include relative to the file that names it.
        const named = include[2] ?? "";
        const target = path.join(path.dirname(inside), named);
        await read(target, include[1] === "-c" || include[1] === "--constraint" ? constraints : into, depth + 1, inside, named);
      } else {
        into.push(withoutHashes(line));
      }
    }
  }

  await read(relative, requirements, 0, relative);
  return { requirements, constraints, files };
}
