/**
 * The offline repackager (spec package-format §6, repackager-peers Part F): fetch a plugin package, bundle its
 * Python dependencies as wheels for every target platform, rewrite its dependency files so that installers
 * never look for an index, repack, sign if asked, check the size a daemon will accept, and prove the result
 * installs with no network. The CLI, the RepackageService RPC and the docker image all run this.
 *
 * Nothing is half-done: all work happens in a scratch directory that is removed at the end, whatever happens,
 * and the output exists only as the returned bytes; the callers write or store it.
 */
import { createHash } from "node:crypto";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { buildPackage } from "../packaging/build-package.js";
import { packageChecksum } from "../packaging/checksum.js";
import { decodePackage, type DecodedPackage } from "../packaging/decode-package.js";
import { DEFAULT_MAX_PACKAGE_BYTES } from "../packaging/decode.js";
import { signEntries, VERIFICATION_FILE, type Verification } from "../packaging/signature.js";
import { writeArchive } from "../packaging/write-archive.js";
import { runnerVersionOf } from "../runtimes/local/runner.js";
import { declaresRequirements, readDependencySet, WHEELS_DIR, writeOfflineLayout } from "./dependency-files.js";
import { obtainWheels, type ObtainedWheel } from "./distributions.js";
import { RepackageError } from "./errors.js";
import { fetchSource, outputFileName } from "./fetch-source.js";
import { proveOffline } from "./offline-proof.js";
import type { PipSettings } from "./pip-options.js";
import { probePython } from "./python-host.js";
import { resolveTarget } from "./resolve.js";
import { describeTarget, planTargets, type Target, uvEnvironmentOf } from "./targets.js";
import type { OfflineProof, PlatformWheels, RepackageOptions, RepackageOutcome } from "./types.js";

/** The packager's limit on the unpacked files: wheels are big; the daemon's limit is checked on the result. */
const MAX_UNPACKED_BYTES = 5 * 1024 * 1024 * 1024;
const SUFFIX = /^[A-Za-z0-9._-]{1,64}$/;

export async function repackage(options: RepackageOptions): Promise<RepackageOutcome> {
  if (!SUFFIX.test(options.suffix)) throw new RepackageError(`suffix ${JSON.stringify(options.suffix)} must be 1-64 letters, digits, ".", "_" or "-"`);
  const progress = options.onProgress ?? (() => undefined);

  progress({ stage: "fetch", message: `fetching ${sourceText(options.source)}` });
  const fetched = await fetchSource(options.source, { ...options, maxPackageBytes: Math.max(options.maxPackageBytes, DEFAULT_MAX_PACKAGE_BYTES) });
  progress({ stage: "fetch", message: `fetched ${fetched.bytes.length} bytes from ${fetched.description}` });

  options.signal?.throwIfAborted();
  const limit = Math.max(options.maxPackageBytes, fetched.bytes.length, DEFAULT_MAX_PACKAGE_BYTES);
  const source = await decodePackage(fetched.bytes, { limits: { maxPackageBytes: limit, maxUncompressedBytes: MAX_UNPACKED_BYTES }, trustedKeys: options.trustedKeys });
  progress({ stage: "decode", message: `${source.uniqueIdentifier}: ${signatureText(source.verification)}` });

  const workDir = await mkdtemp(path.join(os.tmpdir(), "dify-repackage-"));
  try {
    return await repackageIn(workDir, source, fetched.baseName, options);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

function sourceText(source: RepackageOptions["source"]): string {
  switch (source.kind) {
    case "market":
      return `${source.author}/${source.name} ${source.version} from the Marketplace`;
    case "github":
      return `${source.repo} ${source.release} ${source.asset} from GitHub`;
    case "local":
      return source.path;
    case "bytes":
      return "the uploaded package";
  }
}

async function repackageIn(workDir: string, source: DecodedPackage, baseName: string | undefined, options: RepackageOptions): Promise<RepackageOutcome> {
  const progress = options.onProgress ?? (() => undefined);
  const { signal } = options;
  const pluginDir = path.join(workDir, "plugin");
  const rewrites: string[] = [];
  for (const entry of source.archive.entries) {
    // A previous offline build's wheels are replaced, not mixed with the new ones; the old signature file is stale.
    if (entry.name.startsWith(`${WHEELS_DIR}/`) || entry.name === VERIFICATION_FILE) continue;
    const file = path.resolve(pluginDir, entry.name);
    if (!file.startsWith(pluginDir + path.sep)) throw new RepackageError(`package entry ${JSON.stringify(entry.name)} points outside the package`);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, entry.data);
  }
  if (source.archive.entries.some((e) => e.name.startsWith(`${WHEELS_DIR}/`))) rewrites.push(`the source's ${WHEELS_DIR}/ was replaced by freshly resolved wheels`);
  if (source.archive.entries.some((e) => e.name === VERIFICATION_FILE)) rewrites.push(`${VERIFICATION_FILE} removed (it belongs to the original signature)`);

  const dependencies = await readDependencySet(pluginDir);
  const host = await probePython(options.pythonInterpreter, signal);
  const pythonVersion = options.pythonVersion ?? runnerVersionOf(source.archive.entries) ?? host.version;
  const targets = await planTargets(options.platforms, pythonVersion, host);
  const tmpDir = path.join(workDir, "tmp");
  await mkdir(tmpDir, { recursive: true });
  const settings: PipSettings = { cacheDir: options.cacheDir, tmpDir, indexUrl: options.indexUrl, extraArgs: options.pipExtraArgs, allowPrerelease: options.allowPrerelease };
  const warnings = markerWarnings(targets, host);
  for (const warning of warnings) progress({ stage: "resolve", message: `note: ${warning}` });

  const requirementsFile = path.join(workDir, "requirements.in");
  await writeFile(requirementsFile, `${dependencies.requirements.join("\n")}\n`);
  const constraintsFile = dependencies.constraints.length > 0 ? path.join(workDir, "constraints.txt") : undefined;
  if (constraintsFile) await writeFile(constraintsFile, `${dependencies.constraints.join("\n")}\n`);

  const wheels: PlatformWheels[] = [];
  const downloads = { fromCache: 0, fetched: 0, built: 0 };
  const bundled = new Map<string, ObtainedWheel>();
  for (const target of targets) {
    signal?.throwIfAborted();
    if (!declaresRequirements(dependencies.requirements)) {
      wheels.push({ platform: target.platform, pythonVersion: target.pythonVersion, files: [] });
      continue;
    }
    progress({ stage: "resolve", message: `resolving ${dependencies.sources.join(" + ")} for ${describeTarget(target)}`, platform: target.platform });
    const resolved = await resolveTarget(target, { requirementsFile, workDir, ...(constraintsFile ? { constraintsFile } : {}) }, settings, signal);
    progress({ stage: "resolve", message: `${resolved.length} distributions for ${describeTarget(target)}`, platform: target.platform, completed: 0, total: resolved.length });
    const obtained = await obtainWheels(target, resolved, { settings, onProgress: progress, ...(signal ? { signal } : {}) });
    for (const wheel of obtained) {
      if (wheel.origin === "cache") downloads.fromCache++;
      else if (wheel.origin === "download") downloads.fetched++;
      else downloads.built++;
      bundled.set(wheel.filename, wheel);
    }
    wheels.push({ platform: target.platform, pythonVersion: target.pythonVersion, files: obtained.map((w) => ({ name: w.filename, size: w.size })) });
  }

  signal?.throwIfAborted();
  progress({ stage: "rewrite", message: `bundling ${bundled.size} wheels and rewriting the dependency files` });
  await mkdir(path.join(pluginDir, WHEELS_DIR), { recursive: true });
  for (const wheel of bundled.values()) await copyFile(wheel.file, path.join(pluginDir, WHEELS_DIR, wheel.filename));
  rewrites.push(...(await writeOfflineLayout(pluginDir, dependencies, [...new Set(targets.map(uvEnvironmentOf))])));

  progress({ stage: "pack", message: "packing" });
  const built = await buildPackage(pluginDir, { maxBytes: MAX_UNPACKED_BYTES, validation: "upload" });
  const missing = [...bundled.keys()].filter((name) => !built.files.entries.some((e) => e.name === `${WHEELS_DIR}/${name}`));
  if (missing.length > 0) {
    throw new RepackageError(`the package's ignore file still leaves out ${missing.length} wheel(s) (${missing.slice(0, 3).join(", ")}); fix its .difyignore`);
  }
  let entries = built.files.entries;
  let bytes = built.bytes;
  let outputSignature: RepackageOutcome["outputSignature"] = { signed: false };
  if (options.signingKey) {
    progress({ stage: "sign", message: `signing as ${options.signingKey.category} with ${options.signingKey.name}` });
    const signed = signEntries(entries, options.signingKey.key, options.signingKey.category);
    entries = signed.entries;
    bytes = await writeArchive(signed.entries, signed.comment);
    outputSignature = { signed: true, keyName: options.signingKey.name, category: options.signingKey.category };
  }

  if (bytes.length > options.maxPackageBytes) {
    const over = bytes.length - options.maxPackageBytes;
    throw new RepackageError(
      `the offline package is ${bytes.length} bytes (${mib(bytes.length)}), ${over} bytes (${mib(over)}) over MAX_PLUGIN_PACKAGE_SIZE=${options.maxPackageBytes} (${mib(options.maxPackageBytes)}): ` +
        `raise MAX_PLUGIN_PACKAGE_SIZE (and any proxy body limit such as NGINX_CLIENT_MAX_BODY_SIZE) to at least ${bytes.length} on the daemons that will install it, and here, then run again`,
    );
  }

  signal?.throwIfAborted();
  const proof = await proofFor(targets, entries, workDir, options);
  signal?.throwIfAborted();
  progress({ stage: "verify", message: proofText(proof), ...(proof.platform ? { platform: proof.platform } : {}) });
  if (proof.status === "failed") throw new RepackageError(`the offline package does not install without network on ${proof.platform}: ${proof.message}`);

  const declaration = built.declaration;
  const identifier = `${declaration.author ? `${declaration.author}/` : ""}${declaration.name}:${declaration.version}@${packageChecksum(entries)}`;
  return {
    fileName: outputFileName(baseName ?? `${declaration.author}-${declaration.name}_${declaration.version}`, options.suffix),
    bytes,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    sourceIdentifier: source.uniqueIdentifier,
    identifier,
    sourceVerification: source.verification,
    outputSignature,
    wheels,
    downloads,
    rewrites,
    warnings,
    proof,
  };
}

/**
 * markerWarnings: pip evaluates environment markers (`; sys_platform == "win32"`, `; python_version < "3.11"`)
 * for the interpreter it runs on, whatever --platform and --python-version say. Say so for every target that
 * is not this machine's, so a plugin whose requirements branch that way is repackaged where it will run.
 */
function markerWarnings(targets: readonly Target[], host: { readonly platform: string; readonly version: string }): string[] {
  return targets
    .filter((t) => !t.runnable)
    .map(
      (t) =>
        `environment markers in the requirements are evaluated for this machine (${host.platform}, CPython ${host.version}), not for ${describeTarget(t)}: ` +
        "pip cannot evaluate them for another machine; if the requirements branch on platform or Python version, repackage on such a machine",
    );
}

async function proofFor(targets: readonly Target[], entries: Parameters<typeof proveOffline>[0], workDir: string, options: RepackageOptions): Promise<OfflineProof> {
  const first = targets[0];
  const where = { platform: first?.platform ?? "", pythonVersion: first?.pythonVersion ?? "" };
  if (options.skipOfflineProof) return { status: "skipped", ...where, message: "skipped as asked" };
  const runnable = targets.find((t) => t.runnable);
  if (!runnable) {
    return {
      status: "skipped",
      ...where,
      message: `no target runs on this machine (it would need CPython ${where.pythonVersion} on ${targets.map((t) => t.platform).join(" or ")}); the wheels were chosen by their tags only`,
    };
  }
  options.onProgress?.({ stage: "verify", message: `installing into a fresh venv with no network (${describeTarget(runnable)})`, platform: runnable.platform });
  return proveOffline(entries, runnable, workDir, options.signal);
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function signatureText(verification: Verification): string {
  return verification.verified ? `signed, ${verification.category} (key: ${verification.keyName})` : `not verified: ${verification.reason}`;
}

export function proofText(proof: OfflineProof): string {
  if (proof.status === "passed") return `offline install passed on ${proof.platform} / CPython ${proof.pythonVersion} (imported ${proof.imported.length} modules)`;
  return `offline install ${proof.status} on ${proof.platform} / CPython ${proof.pythonVersion}: ${proof.message}`;
}
