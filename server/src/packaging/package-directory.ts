import { lstat, readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { PackageEntry } from "./archive.js";
import { PackageError } from "./errors.js";
import { ignoreRules } from "./ignore-rules.js";

/** The files a plugin source directory contributes to its package, after `.difyignore`, sorted by path bytes. */
export interface SourceFiles {
  readonly entries: PackageEntry[];
  /** Which ignore file applied, if any. */
  readonly ignoreFile: ".difyignore" | ".gitignore" | null;
  readonly totalBytes: number;
}

async function readIgnoreFile(root: string): Promise<{ text: string; file: SourceFiles["ignoreFile"] }> {
  for (const file of [".difyignore", ".gitignore"] as const) {
    const text = await readFile(path.join(root, file), "utf8").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
    if (text !== undefined) return { text, file };
  }
  return { text: "", file: null };
}

/**
 * collectSourceFiles walks a plugin source tree as `dify plugin package` does: the root's `.difyignore`, else
 * its `.gitignore` (nested ignore files do not count), excluded directories skipped whole. Symlinks are
 * refused rather than followed, so a package can never carry files from outside its directory.
 */
export async function collectSourceFiles(root: string, maxBytes: number): Promise<SourceFiles> {
  const { text, file } = await readIgnoreFile(root);
  const rules = ignoreRules(text);
  const entries: PackageEntry[] = [];
  let totalBytes = 0;

  async function walk(relativeDir: string): Promise<void> {
    const names = await readdir(path.join(root, relativeDir));
    for (const name of names) {
      const relative = relativeDir ? `${relativeDir}/${name}` : name;
      const stat = await lstat(path.join(root, relative));
      if (stat.isDirectory()) {
        if (!rules.ignores(`${relative}/`)) await walk(relative);
        continue;
      }
      if (rules.ignores(relative)) continue;
      if (stat.isSymbolicLink()) {
        throw new PackageError("symlink_entry", `${relative} is a symlink: packages cannot carry links; copy the file or add it to .difyignore`, { file: relative });
      }
      if (!stat.isFile()) continue;
      const data = await readFile(path.join(root, relative));
      totalBytes += data.length;
      entries.push({ name: relative, data });
    }
  }
  await walk("");

  if (totalBytes > maxBytes) {
    const largest = [...entries]
      .sort((a, b) => b.data.length - a.data.length)
      .slice(0, 5)
      .map((e) => `${e.name} (${e.data.length} bytes)`)
      .join(", ");
    throw new PackageError(
      "uncompressed_too_large",
      `plugin files total ${totalBytes} bytes, over the ${maxBytes}-byte package limit; largest: ${largest}. ` +
        `Add what the plugin does not need at run time to .difyignore, or raise the limit`,
      { limit: maxBytes },
    );
  }
  entries.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  return { entries, ignoreFile: file, totalBytes };
}
