import type { Migration } from "kysely";
import * as createSchema from "./2026_11_24_000001_create_schema.js";

/**
 * Every migration, in order, keyed by name. A static list rather than a folder scan: it works the same
 * under tsx, a bundle or compiled output, and a migration that is not listed here is never run.
 */
export const migrations: Record<string, Migration> = {
  "2026_11_24_000001_create_schema": createSchema,
};
