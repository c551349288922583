import { loadConfig } from "./config.js";
import { openDatabase } from "./db/database.js";
import { migrateToLatest, type MigrationOutcome } from "./db/migrate.js";
import { createLogger } from "./logger.js";
import { runFromEnvironment } from "./main.js";

/**
 * The daemon-side commands of the operator CLI. The CLI (clients/) loads this one module lazily for
 * `serve` and `migrate`, so that client-only commands never load server code.
 */

export const serve = runFromEnvironment;

/** migrate applies pending migrations to the configured database and reports what it did. */
export async function migrate(): Promise<MigrationOutcome & { database: string }> {
  const config = loadConfig();
  const logger = createLogger({ log: { ...config.log, level: "warn" } });
  const database = await openDatabase(config.database);
  try {
    return { database: database.description, ...(await migrateToLatest(database.db, logger)) };
  } finally {
    await database.destroy();
  }
}
