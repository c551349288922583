/**
 * runStep runs one environment-setup command (venv creation, pip) to completion under two clocks: an overall
 * deadline and an inactivity watchdog (a step printing nothing for too long is presumed stuck, as the reference
 * daemon does). Failures carry the tail of the step's output, which is where pip says what went wrong.
 */
import { spawn } from "node:child_process";
import { FailedPreconditionError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { seconds } from "./options.js";
import { OutputTail } from "./output-tail.js";

/** PythonEnvironmentError: a plugin's venv or dependencies could not be set up; `output` is the step's output tail. */
export class PythonEnvironmentError extends FailedPreconditionError {
  constructor(
    message: string,
    readonly output: string = "",
  ) {
    super(message);
  }
}

export interface StepOptions {
  /** What the step is, for messages: "installing the dependencies of x/y:1.0.0@…". */
  readonly what: string;
  /** How to name the command in messages ("pip"); default: the command itself. */
  readonly name?: string;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  /** Absolute time (Date.now() scale) by which the step must be done. */
  readonly deadline: number;
  readonly inactivityMs: number;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
}


export function runStep(command: string, args: readonly string[], options: StepOptions): Promise<void> {
  const { what, logger, signal } = options;
  const name = options.name ?? command;
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new PythonEnvironmentError(`${what} was cancelled`));
      return;
    }
    const remaining = options.deadline - Date.now();
    if (remaining <= 0) {
      reject(new PythonEnvironmentError(`${what} did not start: the environment setup ran out of time`));
      return;
    }
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    const stderr = new OutputTail(4096);
    const stdout = new OutputTail(4096);
    let killedBecause: string | undefined;
    const kill = (reason: string): void => {
      killedBecause ??= reason;
      child.kill("SIGKILL");
    };
    const overall = setTimeout(() => kill(`it was still running after ${seconds(remaining)} (install time limit)`), remaining);
    const idle = setTimeout(
      () => kill(`it printed nothing for ${seconds(options.inactivityMs)} and was presumed stuck (inactivity limit)`),
      options.inactivityMs,
    );
    const onAbort = (): void => kill("it was cancelled");
    signal?.addEventListener("abort", onAbort, { once: true });

    child.stdout.on("data", (chunk: Buffer) => {
      idle.refresh();
      stdout.push(chunk);
      logger.debug({ output: chunk.toString("utf8").trimEnd() }, "environment setup output");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      idle.refresh();
      stderr.push(chunk);
    });

    let settled = false;
    const finish = (error: PythonEnvironmentError | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(overall);
      clearTimeout(idle);
      signal?.removeEventListener("abort", onAbort);
      if (error) reject(error);
      else resolve();
    };
    child.once("error", (err) => {
      finish(new PythonEnvironmentError(`${what} failed: cannot run ${name}: ${err.message}`));
    });
    child.once("close", (code, signalName) => {
      if (code === 0 && !killedBecause) {
        finish(undefined);
        return;
      }
      const output = (stderr.empty ? stdout : stderr).text();
      const how = killedBecause
        ? `was killed because ${killedBecause}`
        : code !== null
          ? `exited with code ${code}`
          : `was killed by ${signalName ?? "a signal"}`;
      finish(new PythonEnvironmentError(`${what} failed: ${name} ${how}${output ? `; output: ${output}` : ""}`, output));
    });
  });
}
