/**
 * The local runtime's knobs, with the reference daemon's defaults where it has one (spec plugin-protocol §1).
 * Callers pass `LocalRuntimeOptions`; `compileLocalOptions` fills the defaults once.
 */
import type { Logger } from "../../logger.js";
import { DEFAULT_MAX_LINE_BYTES } from "../protocol/line-codec.js";

export interface EnvironmentOptions {
  /** Root of the working directories: `<workingPath>/<author>/<name>-<version>@<checksum>`. */
  readonly workingPath: string;
  /** Interpreter that creates the venv (default `python3`). */
  readonly pythonInterpreter?: string;
  /** `uv` binary: undefined = use it when found on PATH; null = never; a path = use that one. */
  readonly uvPath?: string | null;
  /** Index to install from (`pip -i`); ignored when the package carries `wheels/` (then fully offline). */
  readonly pipMirrorUrl?: string;
  /** Extra pip arguments, split on whitespace (PIP_EXTRA_ARGS). */
  readonly pipExtraArgs?: string;
  /** Whole environment setup, venv creation included (default 10 min). */
  readonly installTimeoutMs?: number;
  /** A setup step printing nothing for this long is killed (default 120 s, PYTHON_ENV_INIT_TIMEOUT). */
  readonly installInactivityMs?: number;
  readonly logger: Logger;
}

export interface LocalRuntimeOptions extends EnvironmentOptions {
  /** Module run with `python -m`; default: manifest.yaml's meta.runner.entrypoint, else `main`. */
  readonly entrypoint?: string;
  /** Time to the first heartbeat (default 120 s, MAX_HEARTBEAT_INTERVAL). */
  readonly startTimeoutMs?: number;
  /** No stdout, stderr or heartbeat for this long → the instance is killed and restarted (default 120 s). */
  readonly heartbeatTimeoutMs?: number;
  /** One invocation's time budget (default 600 s, PLUGIN_MAX_EXECUTION_TIMEOUT). */
  readonly maxExecutionMs?: number;
  /** How long an invocation waits for a restarting runtime to become ready (default 10 s). */
  readonly invokeWaitMs?: number;
  /** Between SIGTERM and SIGKILL on stop (default 5 s). */
  readonly stopGraceMs?: number;
  /** First restart delay; doubles while restarts keep failing or crashing (default 500 ms). */
  readonly restartBackoffInitialMs?: number;
  /** Upper bound of the restart delay (default 30 s). */
  readonly restartBackoffMaxMs?: number;
  /** Consecutive start attempts that do not reach a heartbeat before the runtime is marked failed (default 5). */
  readonly maxStartFailures?: number;
  /** Longest stdout line accepted; a longer one fails only its own session (default 64 MiB). */
  readonly maxLineBytes?: number;
  /** Variables added to the plugin's allowlisted environment (they win over the allowlist). */
  readonly extraEnv?: Readonly<Record<string, string>>;
}

export type CompiledLocalOptions = Required<Omit<LocalRuntimeOptions, "uvPath" | "pipMirrorUrl" | "entrypoint">> &
  Pick<LocalRuntimeOptions, "uvPath" | "pipMirrorUrl" | "entrypoint">;

export const LOCAL_DEFAULTS = {
  pythonInterpreter: "python3",
  pipExtraArgs: "",
  installTimeoutMs: 10 * 60_000,
  installInactivityMs: 120_000,
  startTimeoutMs: 120_000,
  heartbeatTimeoutMs: 120_000,
  maxExecutionMs: 600_000,
  invokeWaitMs: 10_000,
  stopGraceMs: 5_000,
  restartBackoffInitialMs: 500,
  restartBackoffMaxMs: 30_000,
  maxStartFailures: 5,
  maxLineBytes: DEFAULT_MAX_LINE_BYTES,
} as const;

/** compileLocalOptions fills every default. */
export function compileLocalOptions(options: LocalRuntimeOptions): CompiledLocalOptions {
  return {
    ...LOCAL_DEFAULTS,
    extraEnv: {},
    ...Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)),
  } as CompiledLocalOptions;
}

/** seconds formats a duration for messages: "120 s", "0.4 s". */
export function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
