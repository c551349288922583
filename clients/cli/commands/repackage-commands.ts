import type { Command } from "commander";
import { CliError, createOutput, fail } from "../output.js";

// Loaded on demand, like the progress bars and the summary: other commands never pay for them.
const engine = () => import("../../../server/src/repackage/command.js");

type Source = import("../../../server/src/repackage/types.js").RepackageSource;

const CATEGORIES = ["langgenius", "partner", "community"] as const;
/** How much of pip's output a failure shows. */
const DETAIL_LINES = 20;

interface RepackageFlags {
  platform: string[];
  pythonVersion?: string;
  suffix: string;
  outputDir: string;
  signKey?: string;
  category: string;
  pre?: boolean;
  proof: boolean;
  json?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** withRepackageOptions adds the options every source form shares (the reference tool's, then ours). */
function withRepackageOptions(command: Command): Command {
  return command
    .option("-p, --platform <tag>", "pip platform tag to bundle wheels for, repeatable (default: this machine's)", collect, [])
    .option("--python-version <X.Y>", "target CPython version (default: the plugin's meta.runner.version)")
    .option("-s, --suffix <suffix>", "output name suffix: <name>-<suffix>.difypkg", "offline")
    .option("-o, --output-dir <dir>", "where to write the offline package", ".")
    .option("--sign-key <private.pem>", "sign the output with this private key (the original signature cannot survive)")
    .option("-c, --category <category>", `authorized category written when signing: ${CATEGORIES.join(", ")}`, "community")
    .option("--pre", "let dependency resolution pick pre-releases")
    .option("--no-proof", "skip the offline install check")
    .option("--json", "print one JSON result");
}

async function run(source: Source, flags: RepackageFlags): Promise<void> {
  const out = createOutput(Boolean(flags.json));
  const { createProgressDisplay } = await import("../repackage-progress.js");
  const { repackageSummary } = await import("../repackage-summary.js");
  const display = createProgressDisplay(Boolean(flags.json));
  const abort = new AbortController();
  // The first signal cancels (pip's process groups get SIGTERM, the scratch directory is removed); a second one
  // must not kill the CLI halfway through that clean-up, so it is only acknowledged.
  const onSignal = (): void => {
    process.stderr.write(abort.signal.aborted ? "dify-plugin-daemon: still cleaning up\n" : "dify-plugin-daemon: cancelling\n");
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const category = flags.category.toLowerCase();
    if (!(CATEGORIES as readonly string[]).includes(category)) throw new CliError(`--category ${flags.category}: use one of ${CATEGORIES.join(", ")}`, 2);
    const result = await (await engine()).runRepackageCommand({
      source,
      platforms: flags.platform,
      ...(flags.pythonVersion ? { pythonVersion: flags.pythonVersion } : {}),
      suffix: flags.suffix,
      outputDir: flags.outputDir,
      ...(flags.signKey ? { signKeyFile: flags.signKey } : {}),
      category: category as (typeof CATEGORIES)[number],
      allowPrerelease: Boolean(flags.pre),
      skipOfflineProof: !flags.proof,
      onProgress: (p) => display.update(p),
      signal: abort.signal,
    });
    display.stop();
    const summary = repackageSummary(result.output, result.outcome, result.maxPackageBytes);
    out.result(summary.json, summary.text);
  } catch (err) {
    display.stop();
    if (abort.signal.aborted) {
      fail(out, new CliError("repackaging was cancelled; nothing was written", 130));
      return;
    }
    // The engine's errors carry the tool output behind them (pip's own words); operators need its last lines.
    const detail = typeof (err as { detail?: unknown }).detail === "string" ? ((err as { detail: string }).detail.split("\n").slice(-DETAIL_LINES).join("\n")) : "";
    if (out.json && detail) {
      process.stdout.write(`${JSON.stringify({ error: (err as Error).message, detail })}\n`);
      process.exitCode = 1;
      return;
    }
    fail(out, err);
    if (detail) process.stderr.write(`${detail.replace(/^/gm, "  | ")}\n`);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** addRepackageCommands registers `repackage market|github|local`, the reference tool's three forms. */
export function addRepackageCommands(program: Command): void {
  const repackage = program
    .command("repackage")
    .description("make a plugin installable without internet: bundle its Python dependencies as wheels (market | github | local)");

  withRepackageOptions(repackage.command("market <author> <name> <version>"))
    .description("repackage a Marketplace plugin (MARKETPLACE_API_URL)")
    .action((author: string, name: string, version: string, flags: RepackageFlags) => run({ kind: "market", author, name, version }, flags));

  withRepackageOptions(repackage.command("github <repo> <release> <asset>"))
    .description("repackage a GitHub release asset; repo is owner/name or the repository URL (GITHUB_API_URL)")
    .action((repo: string, release: string, asset: string, flags: RepackageFlags) => run({ kind: "github", repo, release, asset }, flags));

  withRepackageOptions(repackage.command("local <package>"))
    .description("repackage a .difypkg file")
    .action((file: string, flags: RepackageFlags) => run({ kind: "local", path: file }, flags));
}
