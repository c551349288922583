import ignore, { type Ignore } from "ignore";

/**
 * ignoreRules builds the packager's filter from a `.difyignore` (or `.gitignore`) text the way the official
 * CLI applies it: gitignore patterns, but a negation (`!x`) never brings anything back, because the CLI stops
 * at the first pattern that excludes. Dropping negations reproduces that exactly.
 */
export function ignoreRules(text: string): Ignore {
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#") && !line.startsWith("!"));
  return ignore().add(lines);
}
