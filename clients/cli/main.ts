import { Command } from "commander";
import { addHealthCommand } from "./commands/health.js";
import { addPackageCommands } from "./commands/package-commands.js";
import { addPluginCommands } from "./commands/plugin-commands.js";
import { addRepackageCommands } from "./commands/repackage-commands.js";
import { addServerCommands } from "./commands/server-commands.js";

// The operator CLI, `dify-plugin-daemon` (from a clone: `npm run cli -- <command>`).
const program = new Command()
  .name("dify-plugin-daemon")
  .description("Dify plugin daemon: run it, migrate its database, and operate it")
  .showHelpAfterError();

addServerCommands(program);
addHealthCommand(program);
addPackageCommands(program);
addPluginCommands(program);
addRepackageCommands(program);

await program.parseAsync(process.argv);
