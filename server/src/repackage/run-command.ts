/**
 * runCommand runs one pip/python step of the repackager to completion, handing each stdout line to a callback
 * (pip's "Saved ..." lines drive the download progress) and keeping the tail of both streams for the error
 * message. Each step runs in its own process group: pip starts children of its own (build backends, the pip
 * that installs build dependencies), and a cancelled run ends the whole group (SIGTERM, then SIGKILL), so no
 * pip outlives the request that started it. Give steps a TMPDIR inside the run's scratch directory so that what
 * pip leaves in its temporary directories goes with it.
 */
import { spawn } from "node:child_process";
import { killOnExit, signalChild } from "../child-reaper.js";
import { RepackageError } from "./errors.js";

export interface CommandResult {
  readonly code: number;
  /** The last few KiB of stdout and stderr, interleaved as they arrived. */
  readonly output: string;
}

export interface CommandOptions {
  readonly cwd?: string;
  readonly env: NodeJS.ProcessEnv;
  readonly onLine?: (line: string) => void;
  readonly signal?: AbortSignal;
}

const TAIL_BYTES = 16 * 1024;
/** How long a cancelled step's process group gets to clean up after SIGTERM. */
const KILL_GRACE_MS = 3_000;

export function runCommand(command: string, args: readonly string[], options: CommandOptions): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new RepackageError("repackaging was cancelled"));
      return;
    }
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const pid = child.pid;
    // A crash of this process must not orphan pip: the group is killed on the way out.
    const release = pid === undefined ? () => undefined : killOnExit(pid, { kind: "pip", group: true });
    let tail = "";
    let partial = "";
    const keep = (text: string): void => {
      tail = (tail + text).slice(-TAIL_BYTES);
    };
    const onAbort = (): void => {
      if (pid === undefined) return;
      signalChild(pid, "SIGTERM", true);
      setTimeout(() => signalChild(pid, "SIGKILL", true), KILL_GRACE_MS).unref();
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      keep(text);
      partial += text;
      const lines = partial.split(/\r?\n/);
      partial = lines.pop() ?? "";
      for (const line of lines) options.onLine?.(line);
    });
    child.stderr.setEncoding("utf8").on("data", keep);
    child.on("error", (err) => {
      release();
      options.signal?.removeEventListener("abort", onAbort);
      reject(new RepackageError(`cannot run ${command}: ${err.message}; is it installed and on PATH?`));
    });
    child.on("close", (code, signal) => {
      release();
      options.signal?.removeEventListener("abort", onAbort);
      if (partial !== "") options.onLine?.(partial);
      if (options.signal?.aborted) {
        reject(new RepackageError("repackaging was cancelled"));
        return;
      }
      resolve({ code: code ?? (signal ? 128 : 1), output: tail.trim() });
    });
  });
}

/** lastJsonLine parses the last line of an output that is a JSON object (a script's answer after any warnings). */
export function lastJsonLine<T>(output: string): T | undefined {
  const line = output
    .split("\n")
    .filter((l) => l.trim().startsWith("{"))
    .pop();
  if (line === undefined) return undefined;
  try {
    return JSON.parse(line) as T;
  } catch {
    return undefined;
  }
}
