/**
 * RepackageService: the repackager as a server stream. Progress events flow while the engine works, then
 * the package in 1 MiB chunks (when asked for bytes), then one result. The engine runs with the daemon's
 * settings (PIP_MIRROR_URL, PIP_EXTRA_ARGS, PYTHON_INTERPRETER_PATH, MAX_PLUGIN_PACKAGE_SIZE, the Marketplace
 * and GitHub URLs) and its cache under DATA_DIR; a caller going away cancels the run and its pip processes.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import pLimit from "p-limit";
import { VerificationCategory } from "../../../gen/dify/plugin/v1/common_pb.js";
import {
  OfflineProofStatus,
  RepackageOutput,
  RepackageProgressSchema,
  type RepackageRequest,
  type RepackageResponseSchema,
  RepackageResultSchema,
  RepackageService,
  RepackageStage,
} from "../../../gen/dify/plugin/v1/repackage_service_pb.js";
import { FailedPreconditionError, InvalidArgumentError } from "../errors.js";
import type { AuthorizedCategory, TrustedKey, Verification } from "../packaging/signature.js";
import type { PackageRegistry } from "../plugins/package-registry.js";
import { repackage } from "../repackage/repackage.js";
import type { RepackageSettings } from "../repackage/settings-from-env.js";
import type { RepackageOutcome, RepackageProgress, RepackageSource, SigningKey } from "../repackage/types.js";
import type { BlobStorage } from "../storage/blob-storage.js";
import { blobKeys } from "../storage/blob-storage.js";
import { requireTenant } from "./paging.js";

export interface RepackageServiceDeps {
  readonly settings: RepackageSettings;
  readonly trustedKeys: readonly TrustedKey[];
  readonly packages: PackageRegistry;
  readonly storage: BlobStorage;
  /** REPACKAGE_SIGNING_KEY, loaded; null when the daemon has none (then `sign` is refused). */
  readonly signingKey: Omit<SigningKey, "category"> | null;
  /** REPACKAGE_MAX_CONCURRENT: runs at once; each is several pip processes and a venv, so the rest queue. */
  readonly maxConcurrent: number;
}

const CHUNK_BYTES = 1024 * 1024;

/** What the progress queue carries after the engine's last event (or when the caller left). */
const END_OF_RUN: ResponseInit = { event: { case: undefined } };

type ResponseInit = MessageInitShape<typeof RepackageResponseSchema>;

const STAGES: Record<RepackageProgress["stage"], RepackageStage> = {
  fetch: RepackageStage.FETCH,
  decode: RepackageStage.DECODE,
  resolve: RepackageStage.RESOLVE,
  download: RepackageStage.DOWNLOAD,
  rewrite: RepackageStage.REWRITE,
  pack: RepackageStage.PACK,
  sign: RepackageStage.SIGN,
  verify: RepackageStage.VERIFY,
  store: RepackageStage.STORE,
};

const CATEGORIES: Record<number, AuthorizedCategory> = {
  [VerificationCategory.UNSPECIFIED]: "community",
  [VerificationCategory.COMMUNITY]: "community",
  [VerificationCategory.PARTNER]: "partner",
  [VerificationCategory.LANGGENIUS]: "langgenius",
};

const VERIFICATIONS: Record<AuthorizedCategory, VerificationCategory> = {
  langgenius: VerificationCategory.LANGGENIUS,
  partner: VerificationCategory.PARTNER,
  community: VerificationCategory.COMMUNITY,
};

const verificationOf = (v: Verification): VerificationCategory => (v.verified ? VERIFICATIONS[v.category] : VerificationCategory.NONE);

async function sourceOf(req: RepackageRequest, deps: RepackageServiceDeps): Promise<RepackageSource> {
  const source = req.source;
  switch (source.case) {
    case "marketplace":
      return { kind: "market", author: source.value.author, name: source.value.name, version: source.value.version };
    case "github":
      return { kind: "github", repo: source.value.repo, release: source.value.release, asset: source.value.asset };
    case "packageBytes":
      if (source.value.length === 0) throw new InvalidArgumentError("package_bytes is empty: send the .difypkg bytes");
      return { kind: "bytes", bytes: Buffer.from(source.value.buffer, source.value.byteOffset, source.value.byteLength) };
    case "pluginUniqueIdentifier": {
      await deps.packages.find(source.value);
      const bytes = await deps.storage.get(blobKeys.package(source.value));
      if (!bytes) throw new FailedPreconditionError(`package ${source.value} has no stored archive (a debugging plugin has none): upload it`);
      return { kind: "bytes", bytes };
    }
    default:
      throw new InvalidArgumentError("say what to repackage: marketplace, github, package_bytes or plugin_unique_identifier");
  }
}

/**
 * leftWhileQueued: why a queued request ends without running. The signal's own reason when Connect gave one (the
 * caller's deadline passed: DeadlineExceeded; the daemon is stopping: Unavailable), else the caller cancelled.
 */
function leftWhileQueued(signal: AbortSignal): ConnectError {
  if (signal.reason instanceof ConnectError) return signal.reason;
  return new ConnectError("the repackaging request was cancelled while it waited for a free slot", Code.Canceled);
}

/** A queue the engine's callbacks fill and the stream drains, so progress reaches the caller as it happens. */
function progressQueue() {
  const items: ResponseInit[] = [];
  let wake: (() => void) | undefined;
  return {
    push(item: ResponseInit): void {
      items.push(item);
      wake?.();
    },
    take(): ResponseInit[] {
      return items.splice(0);
    },
    /** wait resolves at the next push, or at once when items are already waiting. */
    wait(): Promise<void> {
      return items.length > 0 ? Promise.resolve() : new Promise((resolve) => (wake = resolve));
    },
  };
}

const progressEvent = (p: RepackageProgress) =>
  ({
    event: {
      case: "progress",
      value: create(RepackageProgressSchema, {
        stage: STAGES[p.stage],
        message: p.message,
        platform: p.platform ?? "",
        completed: BigInt(p.completed ?? 0),
        total: BigInt(p.total ?? 0),
      }),
    },
  }) satisfies ResponseInit;

export function createRepackageService(deps: RepackageServiceDeps): ServiceImpl<typeof RepackageService> {
  const slots = pLimit(deps.maxConcurrent);
  // Callers still waiting for a slot. p-limit's pendingCount would also count the runs of callers who left, which
  // stay queued until their turn (and then end at once).
  let waitingCallers = 0;
  return {
    async *repackage(req, ctx) {
      requireTenant(req.tenantId);
      if (req.indexUrl && !/^https?:\/\/\S+$/.test(req.indexUrl)) {
        throw new InvalidArgumentError(`index_url ${JSON.stringify(req.indexUrl)} is not an http(s) URL of a PEP 503 index`);
      }
      if (req.sign && !deps.signingKey) {
        throw new FailedPreconditionError("sign was asked, but this daemon has no signing key: set REPACKAGE_SIGNING_KEY to a private key PEM file");
      }
      const output = req.output === RepackageOutput.UNSPECIFIED ? RepackageOutput.BYTES : req.output;
      const wantsBytes = output === RepackageOutput.BYTES || output === RepackageOutput.BYTES_AND_STORE;
      const wantsStore = output === RepackageOutput.STORE || output === RepackageOutput.BYTES_AND_STORE;
      const queue = progressQueue();
      const { settings } = deps;

      let waiting = slots.activeCount >= deps.maxConcurrent;
      if (waiting) {
        queue.push(progressEvent({ stage: "fetch", message: `waiting for a free repackaging slot (${slots.activeCount + waitingCallers} runs ahead, REPACKAGE_MAX_CONCURRENT=${deps.maxConcurrent})` }));
        waitingCallers++;
      }
      const stopWaiting = (): void => {
        if (waiting) waitingCallers--;
        waiting = false;
      };
      // The queued run reaches the request through `pending` only, so that a caller who leaves while queued lets
      // go of it at once (package_bytes may be many MB) instead of when a slot frees; the run then has nothing to do.
      let pending: RepackageRequest | undefined = req;
      let started = false;
      const leave = (): void => {
        stopWaiting();
        pending = undefined;
        queue.push(END_OF_RUN);
      };
      ctx.signal.addEventListener("abort", leave, { once: true });
      if (ctx.signal.aborted) leave();
      const run = slots(async (): Promise<RepackageOutcome> => {
        stopWaiting();
        const request = pending;
        if (!request) throw leftWhileQueued(ctx.signal);
        started = true;
        const source = await sourceOf(request, deps);
        return repackage({
          ...settings,
          source,
          platforms: request.platforms,
          ...(request.pythonVersion ? { pythonVersion: request.pythonVersion } : {}),
          suffix: request.suffix || "offline",
          ...(request.sign && deps.signingKey ? { signingKey: { ...deps.signingKey, category: CATEGORIES[request.authorizedCategory] ?? "community" } } : {}),
          indexUrl: request.indexUrl || settings.indexUrl,
          allowPrerelease: request.allowPrerelease,
          skipOfflineProof: request.skipOfflineProof,
          trustedKeys: deps.trustedKeys,
          onProgress: (p) => queue.push(progressEvent(p)),
          signal: ctx.signal,
        });
      }).finally(() => {
        ctx.signal.removeEventListener("abort", leave);
        queue.push(END_OF_RUN);
      });
      // The engine's failure surfaces through `await run` below; this keeps it from being reported as unhandled first.
      run.catch(() => undefined);

      // Drain progress until the engine's end marker (an empty event), then report its outcome.
      for (let done = false; !done; ) {
        await queue.wait();
        for (const item of queue.take()) {
          if (item === END_OF_RUN) done = true;
          else yield item;
        }
      }
      if (!started) throw leftWhileQueued(ctx.signal);
      const outcome = await run;

      let stored = false;
      if (wantsStore) {
        yield progressEvent({ stage: "store", message: `storing ${outcome.identifier}` });
        await deps.packages.upload(outcome.bytes);
        stored = true;
      }
      if (wantsBytes) {
        for (let offset = 0; offset < outcome.bytes.length; offset += CHUNK_BYTES) {
          yield { event: { case: "packageChunk", value: { offset: BigInt(offset), data: outcome.bytes.subarray(offset, offset + CHUNK_BYTES) } } };
        }
      }
      const proof = outcome.proof;
      yield {
        event: {
          case: "result",
          value: create(RepackageResultSchema, {
            sourcePluginUniqueIdentifier: outcome.sourceIdentifier,
            pluginUniqueIdentifier: outcome.identifier,
            stored,
            fileName: outcome.fileName,
            size: BigInt(outcome.bytes.length),
            sha256: outcome.sha256,
            wheels: outcome.wheels.map((w) => ({ platform: w.platform, wheelFiles: w.files.map((f) => f.name), totalSize: BigInt(w.files.reduce((n, f) => n + f.size, 0)) })),
            sourceVerification: verificationOf(outcome.sourceVerification),
            outputVerification: outcome.outputSignature.signed ? VERIFICATIONS[outcome.outputSignature.category] : VerificationCategory.NONE,
            offlineProof: {
              status: proof.status === "passed" ? OfflineProofStatus.PASSED : proof.status === "failed" ? OfflineProofStatus.FAILED : OfflineProofStatus.SKIPPED,
              platform: proof.platform,
              pythonVersion: proof.pythonVersion,
              message: proof.status === "passed" ? "" : proof.message,
            },
            changes: [...outcome.rewrites],
            warnings: [...outcome.warnings],
          }),
        },
      };
    },
  };
}
