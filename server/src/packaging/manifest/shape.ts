import type { z } from "zod";
import type { PackageProblem } from "../errors.js";
import { at, fail, type Site } from "./fail.js";

/**
 * parseShape runs a schema from schema.ts over a value read at `site`, or fails with `problem`, naming the file and
 * the exact field of the first mismatch (`tools/x.yaml: parameters[0].required: expected boolean, received string`).
 */
export function parseShape<T extends z.ZodType>(
  schema: T,
  value: unknown,
  site: Site,
  problem: PackageProblem,
): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const what = issue.message.replace(/^Invalid input: /, "");
  return fail(problem, at(site, ...issue.path), what);
}
