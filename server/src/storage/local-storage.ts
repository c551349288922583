import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { BlobStorage } from "./blob-storage.js";

/**
 * createLocalStorage keeps blobs as files under `root`. Writes go to a temporary file in the same directory
 * and are renamed into place, so a crash never leaves a truncated package behind. Keys are confined to the
 * root: a key that would resolve outside it is a programming error and throws.
 */
export function createLocalStorage(root: string): BlobStorage {
  const base = path.resolve(root);
  const fileOf = (key: string): string => {
    const file = path.resolve(base, key);
    if (key === "" || path.isAbsolute(key) || !file.startsWith(base + path.sep)) {
      throw new Error(`storage key ${JSON.stringify(key)} is outside the storage directory`);
    }
    return file;
  };
  return {
    description: `local directory ${base}`,
    async put(key, data) {
      const file = fileOf(key);
      await mkdir(path.dirname(file), { recursive: true });
      const temporary = `${file}.${randomBytes(6).toString("hex")}.tmp`;
      try {
        await writeFile(temporary, data, { mode: 0o600 });
        await rename(temporary, file);
      } catch (err) {
        await rm(temporary, { force: true });
        throw err;
      }
    },
    async get(key) {
      return readFile(fileOf(key)).catch((err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") return undefined;
        throw err;
      });
    },
    async exists(key) {
      return stat(fileOf(key)).then(
        (s) => s.isFile(),
        () => false,
      );
    },
    async delete(key) {
      await rm(fileOf(key), { force: true });
    },
  };
}
