/**
 * `dify-plugin-daemon repackage ...`: the engine with the environment's settings, writing the output into the
 * output directory atomically (a temporary name, then a rename), so a failed or interrupted run never leaves
 * a partial `-offline.difypkg` for someone to install.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { readPrivateKey, type AuthorizedCategory } from "../packaging/signature.js";
import { loadTrustedKeys } from "../packaging/trusted-keys.js";
import { repackage } from "./repackage.js";
import { repackageSettingsFromEnv, thirdPartyKeyFilesFromEnv } from "./settings-from-env.js";
import type { RepackageOutcome, RepackageProgress, RepackageSource } from "./types.js";

export interface RepackageCommandInput {
  readonly source: RepackageSource;
  readonly platforms: readonly string[];
  readonly pythonVersion?: string;
  readonly suffix: string;
  readonly outputDir: string;
  readonly signKeyFile?: string;
  readonly category: AuthorizedCategory;
  readonly allowPrerelease: boolean;
  readonly skipOfflineProof: boolean;
  readonly onProgress?: (progress: RepackageProgress) => void;
  readonly signal?: AbortSignal;
}

export interface RepackageCommandResult {
  readonly output: string;
  readonly outcome: RepackageOutcome;
  readonly maxPackageBytes: number;
}

export async function runRepackageCommand(input: RepackageCommandInput): Promise<RepackageCommandResult> {
  const settings = repackageSettingsFromEnv();
  const signingKey = input.signKeyFile
    ? { key: readPrivateKey(await readFile(input.signKeyFile), input.signKeyFile), name: path.resolve(input.signKeyFile), category: input.category }
    : undefined;
  const outcome = await repackage({
    ...settings,
    source: input.source,
    platforms: input.platforms,
    ...(input.pythonVersion ? { pythonVersion: input.pythonVersion } : {}),
    suffix: input.suffix,
    ...(signingKey ? { signingKey } : {}),
    allowPrerelease: input.allowPrerelease,
    skipOfflineProof: input.skipOfflineProof,
    trustedKeys: loadTrustedKeys(thirdPartyKeyFilesFromEnv()),
    ...(input.onProgress ? { onProgress: input.onProgress } : {}),
    ...(input.signal ? { signal: input.signal } : {}),
  });
  // Cancelled after the last step: still nothing is written.
  input.signal?.throwIfAborted();
  const outputDir = path.resolve(input.outputDir);
  await mkdir(outputDir, { recursive: true });
  const output = path.join(outputDir, outcome.fileName);
  const partial = `${output}.${randomBytes(4).toString("hex")}.partial`;
  try {
    await writeFile(partial, outcome.bytes);
    await rename(partial, output);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
  return { output, outcome, maxPackageBytes: settings.maxPackageBytes };
}
