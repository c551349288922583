import { Migrator, NO_MIGRATIONS, type MigrationResult } from "kysely";
import type { Logger } from "../logger.js";
import type { Db } from "./database.js";
import { migrations } from "./migrations/index.js";

/** MigrationOutcome tells what a run of the migrator did, for logs and the CLI's `--json`. */
export interface MigrationOutcome {
  readonly applied: readonly string[];
  readonly latest: string | null;
}

function createMigrator(db: Db): Migrator {
  // A static provider: the list is code, so it cannot drift from what a bundle or a compiled build ships.
  return new Migrator({ db, provider: { getMigrations: async () => migrations } });
}

/** migrateToLatest applies every pending migration in order; a second run applies nothing. */
export async function migrateToLatest(db: Db, logger?: Logger): Promise<MigrationOutcome> {
  const { error, results } = await createMigrator(db).migrateToLatest();
  return outcome(results, error, logger);
}

/** migrateDownAll reverts every applied migration; used by tests and by operators who start over. */
export async function migrateDownAll(db: Db, logger?: Logger): Promise<MigrationOutcome> {
  const { error, results } = await createMigrator(db).migrateTo(NO_MIGRATIONS);
  return outcome(results, error, logger);
}

function outcome(results: MigrationResult[] | undefined, error: unknown, logger?: Logger): MigrationOutcome {
  const done = (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
  const failed = (results ?? []).find((r) => r.status === "Error");
  for (const name of done) logger?.info({ migration: name }, "migration applied");
  if (error) {
    const which = failed ? ` in ${failed.migrationName}` : "";
    throw new Error(`database migration failed${which}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  return { applied: done, latest: done.at(-1) ?? Object.keys(migrations).at(-1) ?? null };
}
