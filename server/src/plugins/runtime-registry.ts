import { RuntimeUnavailableError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { PluginRuntime } from "../runtimes/runtime.js";

/** RuntimeLauncher starts a runtime for a stored package (preparing its environment first). */
export type RuntimeLauncher = (uniqueIdentifier: string) => Promise<PluginRuntime>;

/**
 * RuntimeRegistry holds at most one runtime per package, shared by every tenant that installed it. Launches
 * of the same identifier are coalesced, so two tenants installing at once start one process.
 */
export interface RuntimeRegistry {
  /** ensure returns the running runtime of a package, launching it if needed. */
  ensure(uniqueIdentifier: string): Promise<PluginRuntime>;
  /** get returns the runtime of an installed package, or throws RuntimeUnavailableError saying why. */
  get(uniqueIdentifier: string): Promise<PluginRuntime>;
  /** release stops a package's runtime (when its last installation went) and lets `cleanup` remove its files. */
  release(uniqueIdentifier: string, cleanup?: () => Promise<void>): Promise<void>;
  /** adopt registers a runtime started elsewhere (a debug plugin that connected over TCP) under its identifier. */
  adopt(uniqueIdentifier: string, runtime: PluginRuntime): void;
  /** stopAll stops every runtime, for shutdown. */
  stopAll(): Promise<void>;
  list(): string[];
}

export function createRuntimeRegistry(launch: RuntimeLauncher, logger: Logger): RuntimeRegistry {
  const runtimes = new Map<string, Promise<PluginRuntime>>();
  const log = logger.child({ component: "runtimes" });

  const ensure = (uniqueIdentifier: string): Promise<PluginRuntime> => {
    const existing = runtimes.get(uniqueIdentifier);
    if (existing) return existing;
    const launching = launch(uniqueIdentifier);
    runtimes.set(uniqueIdentifier, launching);
    // A failed launch is forgotten, so the next install or restart tries again from scratch.
    launching.catch((err: unknown) => {
      if (runtimes.get(uniqueIdentifier) === launching) runtimes.delete(uniqueIdentifier);
      log.warn({ plugin: uniqueIdentifier, err }, "launch failed");
    });
    return launching;
  };

  return {
    ensure,
    async get(uniqueIdentifier) {
      const runtime = runtimes.get(uniqueIdentifier);
      if (!runtime) throw new RuntimeUnavailableError(`plugin ${uniqueIdentifier} is not running on this daemon (it may still be launching, or failed to launch: see the daemon log)`);
      return runtime;
    },
    async release(uniqueIdentifier, cleanup) {
      const runtime = runtimes.get(uniqueIdentifier);
      runtimes.delete(uniqueIdentifier);
      if (runtime) await runtime.then((r) => r.stop(), () => undefined);
      await cleanup?.();
      log.info({ plugin: uniqueIdentifier }, "runtime released");
    },
    adopt(uniqueIdentifier, runtime) {
      runtimes.set(uniqueIdentifier, Promise.resolve(runtime));
      log.info({ plugin: uniqueIdentifier }, "runtime adopted");
    },
    async stopAll() {
      const all = [...runtimes.values()];
      runtimes.clear();
      await Promise.all(all.map((r) => r.then((x) => x.stop(), () => undefined)));
    },
    list: () => [...runtimes.keys()],
  };
}
