/**
 * PluginInstance is one running plugin process: `<venv>/bin/python -m <entrypoint>` with three pipes. It routes
 * stdout events to the sessions open on it, logs the plugin's log events and stderr, watches for silence, and
 * when the process goes away fails every open session at once with the exit status and the stderr tail.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { killOnExit, liveChildren } from "../../child-reaper.js";
import { RuntimeUnavailableError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { LineSplitter, readPluginEvents } from "../protocol/line-codec.js";
import type { PluginEvent, SessionMessage } from "../protocol/messages.js";
import { PluginInvokeError } from "../runtime.js";
import { seconds } from "./options.js";
import { OutputTail } from "./output-tail.js";
import { routeSessionMessage, SessionChannel } from "../session-channel.js";

export interface InstanceOptions {
  readonly uniqueIdentifier: string;
  readonly workingDirectory: string;
  readonly pythonPath: string;
  readonly entrypoint: string;
  readonly env: Readonly<Record<string, string>>;
  readonly maxLineBytes: number;
  /** Silence (no stdout, stderr or heartbeat) after the instance got ready that gets it killed. */
  readonly heartbeatTimeoutMs: number;
  readonly logger: Logger;
  /** Called once, after the process is gone and its sessions were failed. */
  readonly onExit: (instance: PluginInstance, exit: InstanceExit) => void;
}

export interface InstanceExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Why the daemon killed it, when it did. */
  readonly killedBecause: string | undefined;
  readonly wasReady: boolean;
  /** Time from the first heartbeat to the exit (0 when it never got ready). */
  readonly uptimeMs: number;
  readonly stderr: string;
  /** One sentence for operators and callers: "exited with code 3", "was killed (…)". */
  readonly description: string;
}

/** livePluginPids lists the plugin processes still running (for health checks and tests). */
export function livePluginPids(): number[] {
  return liveChildren("plugin");
}

const STDERR_LINE_BYTES = 64 * 1024;

export class PluginInstance {
  readonly pid: number | undefined;
  /** Stops tracking the process for the daemon's exit (once it has exited). */
  #release: () => void = () => undefined;
  /** Resolves at the first heartbeat; rejects if the process exits (or is killed) before. */
  readonly ready: Promise<void>;
  /** Resolves once the process is gone and its sessions were failed. */
  readonly exited: Promise<InstanceExit>;

  readonly #options: InstanceOptions;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #sessions = new Map<string, SessionChannel>();
  readonly #stderr = new OutputTail(4096);
  readonly #pluginLogger: Logger;
  #readyAt: number | undefined;
  #markReady!: () => void;
  #failStart!: (error: Error) => void;
  #resolveExited!: (exit: InstanceExit) => void;
  #idle: NodeJS.Timeout | undefined;
  #killedBecause: string | undefined;
  #exitStatus: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  #exit: InstanceExit | undefined;

  constructor(options: InstanceOptions) {
    this.#options = options;
    this.#pluginLogger = options.logger.child({ source: "plugin" });
    this.ready = new Promise<void>((resolve, reject) => {
      this.#markReady = resolve;
      this.#failStart = reject;
    });
    this.ready.catch(() => undefined); // observed by the launcher; never an unhandled rejection
    this.exited = new Promise<InstanceExit>((resolve) => {
      this.#resolveExited = resolve;
    });

    this.#child = spawn(options.pythonPath, ["-m", options.entrypoint], {
      cwd: options.workingDirectory,
      env: options.env,
      stdio: ["pipe", "pipe", "pipe"],
      detached: false,
    });
    this.pid = this.#child.pid;
    if (this.pid !== undefined) this.#release = killOnExit(this.pid, { kind: "plugin" });

    const child = this.#child;
    child.stdin.on("error", (err) => options.logger.debug({ err }, "plugin stdin closed"));
    // Every byte counts as a sign of life, also the middle of a long line.
    child.stdout.on("data", () => this.#activity());
    readPluginEvents(child.stdout, {
      maxLineBytes: options.maxLineBytes,
      onEvent: (event) => this.#onEvent(event),
      onOversizedLine: ({ bytes, limit, sessionId }) => this.#onOversizedLine(bytes, limit, sessionId),
    });
    const stderrLines = new LineSplitter({
      maxLineBytes: STDERR_LINE_BYTES,
      onLine: (line) => {
        this.#stderr.push(line);
        this.#stderr.push("\n");
        this.#pluginLogger.warn({ stderr: line.toString("utf8") }, "plugin stderr");
      },
      onOversizedLine: ({ bytes, prefix }) => {
        this.#stderr.push(`${prefix.toString("utf8")}… (${bytes} bytes)\n`);
        this.#pluginLogger.warn({ stderr: prefix.toString("utf8"), bytes }, "plugin stderr (long line cut)");
      },
    });
    child.stderr.on("data", (chunk: Buffer) => {
      this.#activity();
      stderrLines.push(chunk);
    });
    child.stderr.once("end", () => stderrLines.end());

    child.once("error", (err) => {
      // Spawning failed (no such interpreter) or a kill failed; the former never emits exit.
      if (this.pid === undefined) {
        this.#killedBecause ??= `it could not be started: ${err.message}`;
        this.#finish();
      } else {
        options.logger.warn({ err }, "plugin process error");
      }
    });
    child.once("exit", (code, signal) => {
      this.#exitStatus = { code, signal };
      this.#release();
      // Let stdout drain (its last lines may end sessions normally), but don't wait for a grandchild holding it.
      setTimeout(() => this.#finish(), 200).unref();
    });
    child.once("close", (code, signal) => {
      this.#exitStatus ??= { code, signal };
      this.#finish();
    });
  }

  get isReady(): boolean {
    return this.#readyAt !== undefined;
  }

  get isGone(): boolean {
    return this.#exit !== undefined;
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  hasSession(sessionId: string): boolean {
    return this.#sessions.has(sessionId);
  }

  /** openSession registers a session before its request is written, so no early answer is lost. */
  openSession(sessionId: string): SessionChannel {
    const channel = new SessionChannel(sessionId);
    if (this.#exit) {
      channel.fail(this.#exitError(this.#exit));
      return channel;
    }
    this.#sessions.set(sessionId, channel);
    return channel;
  }

  /** closeSession detaches a session; later output for it is dropped. */
  closeSession(sessionId: string): void {
    this.#sessions.delete(sessionId);
  }

  /** write sends one whole line (one write call, so concurrent sessions never interleave); false when the pipe is gone. */
  write(line: string): boolean {
    const stdin = this.#child.stdin;
    if (this.#exit || stdin.destroyed || stdin.writableEnded) return false;
    stdin.write(line);
    return true;
  }

  /** kill ends the process at once (SIGKILL), remembering why for the sessions' error messages. */
  kill(reason: string): void {
    this.#killedBecause ??= reason;
    if (!this.#exit && this.#exitStatus === undefined) this.#child.kill("SIGKILL");
  }

  /** terminate asks the process to stop (SIGTERM), then kills it after `graceMs`; resolves once it is reaped. */
  async terminate(reason: string, graceMs: number): Promise<InstanceExit> {
    this.#killedBecause ??= reason;
    if (!this.#exit && this.#exitStatus === undefined) {
      this.#child.kill("SIGTERM");
      const timer = setTimeout(() => this.kill(reason), graceMs);
      const exit = await this.exited;
      clearTimeout(timer);
      return exit;
    }
    return this.exited;
  }

  #activity(): void {
    this.#idle?.refresh();
  }

  #onEvent(event: PluginEvent): void {
    switch (event.event) {
      case "heartbeat":
        if (this.#readyAt === undefined) {
          this.#readyAt = Date.now();
          const timeout = this.#options.heartbeatTimeoutMs;
          this.#idle = setTimeout(() => {
            this.#options.logger.error({ timeoutMs: timeout }, "plugin sent nothing, not even a heartbeat; killing it");
            this.kill(`no output or heartbeat for ${seconds(timeout)}`);
          }, timeout);
          this.#idle.unref();
          this.#markReady();
        }
        return;
      case "log":
        this.#pluginLogger[event.level]({ pluginTimestamp: event.timestamp }, event.message);
        return;
      case "error":
        // The SDK reports stdin lines it could not parse this way; the reference daemon drops them.
        this.#options.logger.warn({ sessionId: event.sessionId, data: event.data }, "plugin reported an error event");
        return;
      case "session":
        this.#onSessionMessage(event.sessionId, event.message);
        return;
    }
  }

  #onSessionMessage(sessionId: string, message: SessionMessage): void {
    if (!routeSessionMessage(this.#sessions, sessionId, message, this.#options.uniqueIdentifier) && message.type !== "end") {
      this.#options.logger.debug({ sessionId, type: message.type }, "output for a session no longer listened to");
    }
  }

  #onOversizedLine(bytes: number, limit: number, sessionId: string | undefined): void {
    const text = `plugin output line of ${bytes} bytes exceeds the ${limit}-byte limit`;
    const channel = sessionId === undefined ? undefined : this.#sessions.get(sessionId);
    this.#options.logger.error({ bytes, limit, sessionId }, "plugin output line too long; dropped");
    if (!channel || sessionId === undefined) return;
    this.#sessions.delete(sessionId);
    channel.fail(new PluginInvokeError("PluginOutputTooLargeError", `${text} (raise the runtime's maximum line size to allow it)`, { bytes, limit }));
  }

  #describe(): string {
    const status = this.#exitStatus;
    const how = status?.signal ? `signal ${status.signal}` : status?.code != null ? `code ${status.code}` : "no status";
    return this.#killedBecause ? `was killed (${this.#killedBecause}; ${how})` : `exited (${how})`;
  }

  #exitError(exit: InstanceExit): RuntimeUnavailableError {
    const stderr = exit.stderr ? `; stderr: ${exit.stderr}` : "";
    return new RuntimeUnavailableError(`plugin ${this.#options.uniqueIdentifier} ${exit.description} during the invocation${stderr}`);
  }

  #finish(): void {
    if (this.#exit) return;
    if (this.#idle) clearTimeout(this.#idle);
    this.#release();
    const exit: InstanceExit = {
      code: this.#exitStatus?.code ?? null,
      signal: this.#exitStatus?.signal ?? null,
      killedBecause: this.#killedBecause,
      wasReady: this.#readyAt !== undefined,
      uptimeMs: this.#readyAt === undefined ? 0 : Date.now() - this.#readyAt,
      stderr: this.#stderr.text(),
      description: this.#describe(),
    };
    this.#exit = exit;
    this.#child.stdin.destroy();
    const error = this.#exitError(exit);
    for (const channel of this.#sessions.values()) channel.fail(error);
    this.#sessions.clear();
    if (!exit.wasReady) {
      const stderr = exit.stderr ? `; stderr: ${exit.stderr}` : "";
      this.#failStart(new RuntimeUnavailableError(`plugin ${this.#options.uniqueIdentifier} ${exit.description} before it was ready${stderr}`));
    }
    this.#resolveExited(exit);
    this.#options.onExit(this, exit);
  }
}
