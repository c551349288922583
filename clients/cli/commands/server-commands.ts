import type { Command } from "commander";
import { createOutput, fail } from "../output.js";

// Loaded on demand: only `serve` and `migrate` need the server's code.
const serverCommands = () => import("../../../server/src/commands.js");

/** addServerCommands registers `serve` and `migrate`, which run daemon code in this process. */
export function addServerCommands(program: Command): void {
  program
    .command("serve")
    .description("start the daemon (configured by environment variables, see README)")
    .action(async () => {
      await (await serverCommands()).serve();
    });

  program
    .command("migrate")
    .description("apply pending database migrations (the daemon also does this at start)")
    .option("--json", "print one JSON result")
    .action(async (opts: { json?: boolean }) => {
      const out = createOutput(Boolean(opts.json));
      try {
        const result = await (await serverCommands()).migrate();
        const applied = result.applied.length
          ? `applied ${result.applied.length} migration(s): ${result.applied.join(", ")}`
          : "nothing to apply";
        out.result(result, `${result.database}: ${applied}; schema at ${result.latest ?? "(empty)"}`);
      } catch (err) {
        fail(out, err);
      }
    });
}
