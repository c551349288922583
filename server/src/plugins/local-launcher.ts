import type { RuntimeConfig } from "../config.js";
import { NotFoundError } from "../errors.js";
import type { Logger } from "../logger.js";
import { decodeArchive } from "../packaging/decode.js";
import { createLocalRuntime, removeEnvironment } from "../runtimes/local/index.js";
import { blobKeys, type BlobStorage } from "../storage/blob-storage.js";
import type { RuntimeLauncher } from "./runtime-registry.js";

/**
 * createLocalLauncher starts stored packages as local subprocess runtimes: the package bytes come from blob
 * storage (checked again on the way in, since storage is outside the daemon's process), then the runtime
 * prepares the venv and waits for the first heartbeat.
 */
export function createLocalLauncher(deps: {
  readonly storage: BlobStorage;
  readonly runtime: RuntimeConfig;
  readonly maxPackageBytes: number;
  readonly logger: Logger;
}): { launch: RuntimeLauncher; removeFiles: (uniqueIdentifier: string) => Promise<void> } {
  const { runtime } = deps;
  return {
    async launch(uniqueIdentifier) {
      const bytes = await deps.storage.get(blobKeys.package(uniqueIdentifier));
      if (!bytes) throw new NotFoundError(`package ${uniqueIdentifier} is missing from storage (${deps.storage.description}): upload it again`);
      const archive = await decodeArchive(bytes, { maxPackageBytes: deps.maxPackageBytes, maxUncompressedBytes: deps.maxPackageBytes });
      return createLocalRuntime({
        uniqueIdentifier,
        entries: archive.entries,
        workingPath: runtime.workingPath,
        // Unset, the runtime picks the manifest's own Python version when that interpreter is installed.
        pythonInterpreter: runtime.pythonInterpreter ?? undefined,
        pipMirrorUrl: runtime.pipMirrorUrl || undefined,
        pipExtraArgs: runtime.pipExtraArgs.join(" "),
        installTimeoutMs: runtime.installTimeoutMs,
        installInactivityMs: runtime.installInactivityMs,
        maxExecutionMs: runtime.maxExecutionMs,
        logger: deps.logger,
      });
    },
    removeFiles: (uniqueIdentifier) => removeEnvironment(runtime.workingPath, uniqueIdentifier),
  };
}
