/**
 * What the machine's Python can do for a target: its version, the platform tags it installs (pip's own tag
 * logic, through pip's vendored `packaging`), and whether a `pythonX.Y` for another version is on PATH. A
 * target the host can run gets sdists built and the offline proof; any other target is binary-only.
 */
import { findPython } from "../runtimes/local/find-on-path.js";
import { RepackageError } from "./errors.js";
import { pipEnvironment } from "./pip-environment.js";
import { lastJsonLine, runCommand } from "./run-command.js";

export interface PythonHost {
  readonly interpreter: string;
  /** "3.11" */
  readonly version: string;
  /** sysconfig's platform as a tag, e.g. "linux_x86_64". */
  readonly platform: string;
  /** Every platform tag the interpreter accepts wheels for (manylinux_2_36_x86_64 ... linux_x86_64). */
  readonly platformTags: ReadonlySet<string>;
}

const PROBE = [
  "import json, sys, sysconfig",
  "from pip._vendor.packaging import tags",
  "print(json.dumps({'version': '%d.%d' % sys.version_info[:2],",
  " 'platform': sysconfig.get_platform().replace('-', '_').replace('.', '_'),",
  " 'tags': sorted({t.platform for t in tags.sys_tags()})}))",
].join("\n");

export async function probePython(interpreter: string, signal?: AbortSignal): Promise<PythonHost> {
  const result = await runCommand(interpreter, ["-c", PROBE], { env: pipEnvironment(), ...(signal ? { signal } : {}) });
  if (result.code !== 0) {
    throw new RepackageError(
      `${interpreter} cannot run pip (${result.output.split("\n").pop() ?? "no output"}); the repackager needs Python 3 with pip (PYTHON_INTERPRETER_PATH)`,
      result.output,
    );
  }
  const probed = lastJsonLine<{ version: string; platform: string; tags: string[] }>(result.output);
  if (!probed) throw new RepackageError(`${interpreter} did not describe itself: ${result.output}`);
  return { interpreter, version: probed.version, platform: probed.platform, platformTags: new Set(probed.tags) };
}

/** interpreterFor is the interpreter for a target version: the default one, or a working `pythonX.Y` on PATH. */
export async function interpreterFor(version: string, host: PythonHost): Promise<string | undefined> {
  return version === host.version ? host.interpreter : findPython(version);
}
