import type { Command } from "commander";
import { CliError, createOutput, fail } from "../output.js";

// Loaded on demand, like serve/migrate: these commands run the daemon's own packaging code offline.
const packaging = () => import("../../../server/src/package-commands.js");

const CATEGORIES = ["langgenius", "partner", "community"] as const;
type Category = (typeof CATEGORIES)[number];

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** addPackageCommands registers `package`, `keygen`, `sign` and `verify`. */
export function addPackageCommands(program: Command): void {
  program
    .command("package <dir>")
    .description("build a .difypkg from a plugin source directory, honouring .difyignore (else .gitignore)")
    .option("-o, --output <file>", "output file (default: <dir name>.difypkg in the current directory)")
    .option("--max-size <MB>", "limit on the total of the packaged files, in MiB", "50")
    .option("--json", "print one JSON result")
    .action(async (dir: string, opts: { output?: string; maxSize: string; json?: boolean }) => {
      const out = createOutput(Boolean(opts.json));
      try {
        const maxMb = Number(opts.maxSize);
        if (!Number.isFinite(maxMb) || maxMb <= 0) throw new CliError(`--max-size ${opts.maxSize}: give a positive number of MiB`, 2);
        const result = await (await packaging()).packageDirectory(dir, opts.output, Math.floor(maxMb * 1024 * 1024));
        out.result(result, `${result.output}: ${result.plugin}, ${result.files} files, ${result.bytes} bytes, checksum ${result.checksum}`);
      } catch (err) {
        fail(out, err);
      }
    });

  program
    .command("keygen")
    .description("generate an RSA-4096 key pair for signing packages (PKCS#1 PEM, as `dify signature generate`)")
    .option("-n, --name <name>", "file name prefix", "dify_plugin_signing_key")
    .option("--json", "print one JSON result")
    .action(async (opts: { name: string; json?: boolean }) => {
      const out = createOutput(Boolean(opts.json));
      try {
        const result = await (await packaging()).generateSigningKeys(opts.name);
        out.result(result, `private key: ${result.privateKey} (keep it secret)\npublic key:  ${result.publicKey} (give it to daemons as a third-party key)`);
      } catch (err) {
        fail(out, err);
      }
    });

  program
    .command("sign <pkg>")
    .description("sign a package with a private key; writes <name>.signed.difypkg beside it")
    .requiredOption("-k, --key <private.pem>", "the signer's private key")
    .option("-c, --category <category>", `who vouches: ${CATEGORIES.join(", ")}`, "community")
    .option("-o, --output <file>", "output file")
    .option("--json", "print one JSON result")
    .action(async (pkg: string, opts: { key: string; category: string; output?: string; json?: boolean }) => {
      const out = createOutput(Boolean(opts.json));
      try {
        const category = opts.category.toLowerCase();
        if (!CATEGORIES.includes(category as Category)) {
          throw new CliError(`--category ${opts.category}: use one of ${CATEGORIES.join(", ")}`, 2);
        }
        const result = await (await packaging()).signPackage(pkg, opts.key, category as Category, opts.output);
        out.result(result, `${result.output}: signed as ${result.category}, checksum ${result.checksum}`);
      } catch (err) {
        fail(out, err);
      }
    });

  program
    .command("verify <pkg>")
    .description("decode a package, print its identity and declaration summary, and check its signature")
    .option("-k, --key <public.pem>", "also trust this public key (repeatable); the official key is always trusted", collect, [])
    .option("--json", "print one JSON result")
    .action(async (pkg: string, opts: { key: string[]; json?: boolean }) => {
      const out = createOutput(Boolean(opts.json));
      try {
        const result = await (await packaging()).inspectPackage(pkg, opts.key);
        const v = result.verification;
        const verdict = v.verified ? `verified: ${v.category} (key: ${v.keyName})` : `not verified: ${v.reason}`;
        const providers = Object.entries(result.providers)
          .map(([kind, p]) => `${kind} ${JSON.stringify(p)}`)
          .join("; ");
        out.result(
          { ...result, verification: v.verified ? { verified: true, category: v.category, keyName: v.keyName, signedAt: v.signedAt } : v },
          [`unique identifier: ${result.uniqueIdentifier}`, `checksum: ${result.checksum}`, `category: ${result.category}`, `providers: ${providers}`, verdict].join("\n"),
        );
        // As `dify signature verify`: a package that does not verify fails the command.
        if (!v.verified) process.exitCode = 1;
      } catch (err) {
        fail(out, err);
      }
    });
}
