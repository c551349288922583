/**
 * The repackager's vocabulary: what to repackage, how, what it reports while it works and what it produces.
 * The CLI, the RepackageService RPC and the docker image all drive the same engine (repackage.ts) with these.
 */
import type { KeyObject } from "node:crypto";
import type { AuthorizedCategory, TrustedKey, Verification } from "../packaging/signature.js";

/** Where the package to repackage comes from: the reference tool's three forms, plus bytes for the RPC. */
export type RepackageSource =
  | { readonly kind: "market"; readonly author: string; readonly name: string; readonly version: string }
  | { readonly kind: "github"; readonly repo: string; readonly release: string; readonly asset: string }
  | { readonly kind: "local"; readonly path: string }
  | { readonly kind: "bytes"; readonly bytes: Buffer };

export type RepackageStage = "fetch" | "decode" | "resolve" | "download" | "rewrite" | "pack" | "sign" | "verify" | "store";

/** One progress report. completed/total count files (downloads) or are absent when a step has no units. */
export interface RepackageProgress {
  readonly stage: RepackageStage;
  readonly message: string;
  readonly platform?: string;
  readonly completed?: number;
  readonly total?: number;
}

export interface SigningKey {
  readonly key: KeyObject;
  /** Where the key came from, for the summary. */
  readonly name: string;
  readonly category: AuthorizedCategory;
}

export interface RepackageOptions {
  readonly source: RepackageSource;
  /** pip platform tags (e.g. manylinux2014_x86_64); empty = this machine's platform. */
  readonly platforms: readonly string[];
  /** Target CPython "X.Y"; default: the manifest's meta.runner.version, else the interpreter's own. */
  readonly pythonVersion?: string;
  /** Output file suffix: `<name>-<suffix>.difypkg`. */
  readonly suffix: string;
  readonly signingKey?: SigningKey;
  /** MAX_PLUGIN_PACKAGE_SIZE of the daemons that will install the output. */
  readonly maxPackageBytes: number;
  /** PIP_MIRROR_URL ("" = pip's own default or configuration). */
  readonly indexUrl: string;
  /** PIP_EXTRA_ARGS, already split. */
  readonly pipExtraArgs: readonly string[];
  readonly allowPrerelease: boolean;
  readonly skipOfflineProof: boolean;
  /** Shared across runs: pip's HTTP cache, downloaded distributions by hash, wheels built from sdists. */
  readonly cacheDir: string;
  /** The Python whose pip resolves and downloads (python3 by default). */
  readonly pythonInterpreter: string;
  readonly marketplaceUrl: string;
  readonly githubUrl: string;
  /** Trusted keys for reporting the source package's signature (the official key at least). */
  readonly trustedKeys: readonly TrustedKey[];
  readonly onProgress?: (progress: RepackageProgress) => void;
  readonly signal?: AbortSignal;
}

/** The wheels bundled for one target platform. */
export interface PlatformWheels {
  readonly platform: string;
  readonly pythonVersion: string;
  readonly files: readonly { readonly name: string; readonly size: number }[];
}

export type OfflineProof =
  | { readonly status: "passed"; readonly platform: string; readonly pythonVersion: string; readonly imported: readonly string[] }
  | { readonly status: "failed" | "skipped"; readonly platform: string; readonly pythonVersion: string; readonly message: string };

export interface RepackageOutcome {
  /** `<original name>-<suffix>.difypkg`. */
  readonly fileName: string;
  readonly bytes: Buffer;
  readonly sha256: string;
  readonly sourceIdentifier: string;
  readonly identifier: string;
  readonly sourceVerification: Verification;
  /** How the output is signed: by the given key, or not at all. */
  readonly outputSignature: { readonly signed: true; readonly keyName: string; readonly category: AuthorizedCategory } | { readonly signed: false };
  readonly wheels: readonly PlatformWheels[];
  /** Distributions taken from the shared cache vs fetched from the index in this run. */
  readonly downloads: { readonly fromCache: number; readonly fetched: number; readonly built: number };
  /** What was changed in the plugin's files to make it install offline. */
  readonly rewrites: readonly string[];
  /** What the operator should know about the result (e.g. markers evaluated for this machine, not the target). */
  readonly warnings: readonly string[];
  readonly proof: OfflineProof;
}
