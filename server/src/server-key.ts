import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "./logger.js";

/**
 * resolveServerKey returns SERVER_KEY when set. Without it, the daemon must not run open, and a
 * newcomer must not have to invent a key before the first start: it generates one once, keeps it in
 * `<dataDir>/server-key` (mode 0600) and reuses it on every start, and says where it is.
 */
export async function resolveServerKey(configured: string | null, dataDir: string, logger: Logger): Promise<string> {
  if (configured !== null) return configured;
  const file = path.join(dataDir, "server-key");
  const existing = await readFile(file, "utf8").then(
    (s) => s.trim(),
    (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return "";
      throw err;
    },
  );
  if (existing) {
    logger.info({ file }, "SERVER_KEY not set: using the key stored in the data directory");
    return existing;
  }
  const key = randomBytes(32).toString("base64url");
  await mkdir(dataDir, { recursive: true });
  // "wx": never overwrite a key another process wrote a moment ago.
  await writeFile(file, `${key}\n`, { mode: 0o600, flag: "wx" });
  logger.warn({ file }, "SERVER_KEY not set: generated a key and stored it; send it as x-api-key");
  return key;
}
