/**
 * LocalPluginRuntime supervises one plugin package run as a child process (one instance, as the reference
 * daemon runs in practice): it starts it, restarts it with exponential backoff when it dies or goes silent,
 * gives up after consecutive failed starts, and multiplexes sessions over its pipes.
 *
 * State machine: starting → running ⇄ restarting → failed; any → stopped.
 */
import { InvalidArgumentError, RuntimeUnavailableError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { PackageEntry } from "../../packaging/archive.js";
import { backwardsResponseEnvelope, encodeLine, requestEnvelope } from "../protocol/messages.js";
import { runSessionChannel } from "../session-channel.js";
import type {
  BackwardsResponse,
  InvocationRequest,
  PluginRuntime,
  RuntimeState,
  RuntimeStatus,
  SessionEvent,
} from "../runtime.js";
import { pluginEnvironment } from "./child-env.js";
import { checkEntrypoint, entrypointOf } from "./runner.js";
import { type PreparedEnvironment, prepareEnvironment } from "./environment.js";
import { type InstanceExit, PluginInstance } from "./instance.js";
import { type CompiledLocalOptions, type LocalRuntimeOptions, compileLocalOptions, seconds } from "./options.js";

/** An instance that lived at least this long after its first heartbeat resets the restart backoff. */
const HEALTHY_UPTIME_MS = 30_000;

interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export class LocalPluginRuntime implements PluginRuntime {
  readonly uniqueIdentifier: string;
  readonly environment: PreparedEnvironment;
  readonly #options: CompiledLocalOptions;
  readonly #entrypoint: string;
  readonly #logger: Logger;
  #state: RuntimeState = "starting";
  #reason: string | undefined;
  #restarts = 0;
  #instance: PluginInstance | undefined;
  /** An instance being started and not yet ready (so stop() can kill it too). */
  #launching: PluginInstance | undefined;
  #startFailures = 0;
  #quickCrashes = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #stateChanged = deferred();

  constructor(environment: PreparedEnvironment, entrypoint: string, options: CompiledLocalOptions) {
    this.uniqueIdentifier = environment.uniqueIdentifier;
    this.environment = environment;
    this.#options = options;
    this.#entrypoint = entrypoint;
    this.#logger = options.logger.child({ component: "runtime.local", plugin: environment.uniqueIdentifier });
  }

  status(): RuntimeStatus {
    const pid = this.#state === "running" ? this.#instance?.pid : undefined;
    return {
      state: this.#state,
      restarts: this.#restarts,
      ...(this.#reason !== undefined ? { reason: this.#reason } : {}),
      ...(pid !== undefined ? { pid } : {}),
    };
  }

  /** start launches the first instance; it throws (leaving no process) when the plugin does not get ready. */
  async start(): Promise<void> {
    try {
      this.#instance = await this.#launch();
      this.#setState("running", undefined);
    } catch (err) {
      if (this.#state !== "stopped") this.#setState("failed", (err as Error).message);
      throw err;
    }
  }

  invoke(request: InvocationRequest, signal?: AbortSignal): AsyncIterable<SessionEvent> {
    return this.#session(request, signal);
  }

  respond(sessionId: string, backwardsRequestId: string, response: BackwardsResponse): boolean {
    const instance = this.#instance;
    if (!instance?.hasSession(sessionId)) return false;
    return instance.write(encodeLine(backwardsResponseEnvelope(sessionId, backwardsRequestId, response)));
  }

  async stop(): Promise<void> {
    if (this.#state === "stopped") return;
    this.#setState("stopped", "the runtime was stopped");
    clearTimeout(this.#restartTimer);
    const instances = [this.#instance, this.#launching].filter((i): i is PluginInstance => i !== undefined);
    this.#instance = undefined;
    this.#launching = undefined;
    await Promise.all(instances.map((i) => i.terminate("the runtime was stopped", this.#options.stopGraceMs)));
    this.#logger.info("runtime stopped");
  }

  async *#session(request: InvocationRequest, signal: AbortSignal | undefined): AsyncGenerator<SessionEvent, void, undefined> {
    signal?.throwIfAborted();
    const instance = await this.#readyInstance(signal);
    if (instance.hasSession(request.sessionId)) {
      throw new InvalidArgumentError(`session ${request.sessionId} is already running on plugin ${this.uniqueIdentifier}`);
    }
    yield* runSessionChannel({
      channel: instance.openSession(request.sessionId),
      plugin: this.uniqueIdentifier,
      maxExecutionMs: this.#options.maxExecutionMs,
      signal,
      write: () => instance.write(encodeLine(requestEnvelope(request))),
      notAccepting: () => new RuntimeUnavailableError(`plugin ${this.uniqueIdentifier} is not accepting input (its process is gone)`),
      close: () => instance.closeSession(request.sessionId),
    });
  }

  /** readyInstance returns the running instance, waiting a bounded time while the runtime (re)starts. */
  async #readyInstance(signal: AbortSignal | undefined): Promise<PluginInstance> {
    const waitMs = this.#options.invokeWaitMs;
    const giveUpAt = Date.now() + waitMs;
    for (;;) {
      const instance = this.#instance;
      if (this.#state === "running" && instance && !instance.isGone) return instance;
      if (this.#state === "failed" || this.#state === "stopped") {
        throw new RuntimeUnavailableError(`plugin ${this.uniqueIdentifier} is ${this.#state}: ${this.#reason ?? "no reason recorded"}`);
      }
      const left = giveUpAt - Date.now();
      if (left <= 0) {
        throw new RuntimeUnavailableError(
          `plugin ${this.uniqueIdentifier} is ${this.#state} and was not ready within ${seconds(waitMs)}${this.#reason ? `: ${this.#reason}` : ""}`,
        );
      }
      await this.#waitForChange(left, signal);
    }
  }

  async #waitForChange(ms: number, signal: AbortSignal | undefined): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await Promise.race([
        this.#stateChanged.promise,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, ms);
        }),
        new Promise<void>((_, reject) => {
          if (!signal) return;
          onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error("the invocation was cancelled"));
          signal.addEventListener("abort", onAbort, { once: true });
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    }
  }

  #setState(state: RuntimeState, reason: string | undefined): void {
    this.#state = state;
    this.#reason = reason;
    const changed = this.#stateChanged;
    this.#stateChanged = deferred();
    changed.resolve();
  }

  /** launch starts one instance and waits for its first heartbeat; on failure no process is left. */
  async #launch(): Promise<PluginInstance> {
    const options = this.#options;
    const instance = new PluginInstance({
      uniqueIdentifier: this.uniqueIdentifier,
      workingDirectory: this.environment.workingDirectory,
      pythonPath: this.environment.pythonPath,
      entrypoint: this.#entrypoint,
      env: pluginEnvironment(this.environment.venvPath, options.extraEnv),
      maxLineBytes: options.maxLineBytes,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs,
      logger: this.#logger,
      onExit: (gone, exit) => this.#onExit(gone, exit),
    });
    this.#launching = instance;
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), options.startTimeoutMs);
    });
    try {
      if ((await Promise.race([instance.ready, timedOut])) === "timeout") {
        instance.kill("it sent no heartbeat in time");
        const { stderr } = await instance.exited;
        throw new RuntimeUnavailableError(
          `plugin ${this.uniqueIdentifier} sent no heartbeat within ${seconds(options.startTimeoutMs)} of starting${stderr ? `; stderr: ${stderr}` : ""}`,
        );
      }
    } catch (err) {
      instance.kill("it did not get ready");
      await instance.exited;
      throw err;
    } finally {
      clearTimeout(timer);
      if (this.#launching === instance) this.#launching = undefined;
    }
    if (this.#state === "stopped") {
      await instance.terminate("the runtime was stopped", options.stopGraceMs);
      throw new RuntimeUnavailableError(`plugin ${this.uniqueIdentifier} was stopped while starting`);
    }
    this.#logger.info({ pid: instance.pid, startMs: Date.now() - started }, "plugin instance ready");
    return instance;
  }

  #onExit(instance: PluginInstance, exit: InstanceExit): void {
    if (instance !== this.#instance) return; // a launch that failed, or an instance already replaced
    this.#instance = undefined;
    if (this.#state === "stopped") return;
    const reason = `plugin ${exit.description}${exit.stderr ? `; stderr: ${exit.stderr}` : ""}`;
    this.#logger.error({ code: exit.code, signal: exit.signal, uptimeMs: exit.uptimeMs, stderr: exit.stderr }, "plugin instance exited; restarting");
    this.#quickCrashes = exit.uptimeMs >= HEALTHY_UPTIME_MS ? 1 : this.#quickCrashes + 1;
    this.#setState("restarting", reason);
    this.#scheduleRestart();
  }

  #scheduleRestart(): void {
    const attempt = Math.max(0, this.#quickCrashes + this.#startFailures - 1);
    const delay = Math.min(this.#options.restartBackoffInitialMs * 2 ** Math.min(attempt, 30), this.#options.restartBackoffMaxMs);
    this.#logger.info({ delayMs: delay, attempt }, "scheduling a restart");
    this.#restartTimer = setTimeout(() => void this.#restart(), delay);
  }

  async #restart(): Promise<void> {
    if (this.#state !== "restarting") return;
    try {
      const instance = await this.#launch();
      this.#instance = instance;
      this.#startFailures = 0;
      this.#restarts++;
      this.#setState("running", undefined);
      if (instance.isGone) this.#onExit(instance, await instance.exited);
    } catch (err) {
      if (this.#state !== "restarting") return;
      this.#startFailures++;
      const message = (err as Error).message;
      if (this.#startFailures >= this.#options.maxStartFailures) {
        this.#logger.error({ failures: this.#startFailures, err }, "plugin failed to restart; giving up");
        this.#setState("failed", `gave up after ${this.#startFailures} consecutive failed starts; last: ${message}`);
        return;
      }
      this.#logger.warn({ failures: this.#startFailures, err }, "plugin restart failed");
      this.#setState("restarting", message);
      this.#scheduleRestart();
    }
  }
}

export interface CreateLocalRuntimeOptions extends LocalRuntimeOptions {
  readonly uniqueIdentifier: string;
  /** The package's files (decoded archive entries). */
  readonly entries: readonly PackageEntry[];
  /** Cancels environment setup (start-up itself is bounded by startTimeoutMs). */
  readonly signal?: AbortSignal;
}

/**
 * createLocalRuntime prepares the package's working directory and venv, then starts the plugin and waits for
 * its first heartbeat. It rejects with PythonEnvironmentError when the environment cannot be set up and with
 * RuntimeUnavailableError when the plugin does not start; in both cases no process is left running.
 */
export async function createLocalRuntime(options: CreateLocalRuntimeOptions): Promise<LocalPluginRuntime> {
  const { uniqueIdentifier, entries, signal, ...rest } = options;
  const compiled = compileLocalOptions(rest);
  const environment = await prepareEnvironment(uniqueIdentifier, entries, compiled, signal);
  const entrypoint = compiled.entrypoint !== undefined ? checkEntrypoint(compiled.entrypoint) : entrypointOf(entries);
  return startLocalRuntime(environment, entrypoint, compiled);
}

/** startLocalRuntime starts a runtime over an environment prepared earlier. */
export async function startLocalRuntime(
  environment: PreparedEnvironment,
  entrypoint: string,
  options: LocalRuntimeOptions,
): Promise<LocalPluginRuntime> {
  const runtime = new LocalPluginRuntime(environment, checkEntrypoint(entrypoint), compileLocalOptions(options));
  await runtime.start();
  return runtime;
}
