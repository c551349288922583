import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** findOnPath is the executable `binary` the shell would run (first match on PATH), or undefined. */
export async function findOnPath(binary: string): Promise<string | undefined> {
  for (const dir of (process.env["PATH"] ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, binary);
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
  }
  return undefined;
}

/**
 * findPython is `python<version>` from PATH when it runs and is that version. Version managers (pyenv) put a
 * shim for every version on PATH that fails for the versions not selected: finding the file is not enough.
 */
export async function findPython(version: string): Promise<string | undefined> {
  const candidate = await findOnPath(`python${version}`);
  if (candidate === undefined) return undefined;
  const probe = await run(candidate, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], { timeout: 10_000 }).catch(() => undefined);
  return probe?.stdout.trim() === version ? candidate : undefined;
}
