/**
 * Test support for the local runtime tests (not used by the daemon): fixture packages read into archive
 * entries in memory, and a logger that keeps what it logged.
 */
import { createHash } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Logger, pino } from "pino";
import type { PackageEntry } from "../../packaging/archive.js";

/** The runtime fixtures directory, server/test/fixtures/runtime. */
export const RUNTIME_FIXTURES = fileURLToPath(new URL("../../../test/fixtures/runtime/", import.meta.url));

/** readEntries reads a directory into package entries (`/`-separated names), skipping caches. */
export async function readEntries(directory: string): Promise<PackageEntry[]> {
  const entries: PackageEntry[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const item of await readdir(dir, { withFileTypes: true })) {
      if (item.name === "__pycache__" || item.name === ".venv") continue;
      const full = path.join(dir, item.name);
      if (item.isDirectory()) await walk(full);
      else if (item.isFile()) {
        entries.push({ name: path.relative(directory, full).split(path.sep).join("/"), data: await readFile(full) });
      }
    }
  };
  await walk(directory);
  return entries.sort((a, b) => a.name.localeCompare(b.name));
}

/** identifierOf makes a unique identifier whose checksum is the entries' digest, as a real package's would be. */
export function identifierOf(author: string, name: string, version: string, entries: readonly PackageEntry[]): string {
  const hash = createHash("sha256");
  for (const entry of entries) hash.update(entry.name).update(entry.data);
  return `${author}/${name}:${version}@${hash.digest("hex")}`;
}

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** recordingLogger is a pino logger at debug level that keeps every line it writes. */
export function recordingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: "debug" }, { write: (text: string) => void lines.push(JSON.parse(text) as LogLine) });
  return { logger, lines };
}
