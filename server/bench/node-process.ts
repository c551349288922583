import { type ChildProcess, spawn, type StdioOptions } from "node:child_process";
import path from "node:path";

export const REPO_ROOT = path.resolve(import.meta.dirname, "../..");

/** spawnTsx runs a TypeScript entry point of this repository in its own Node process, as `npm start` does. */
export function spawnTsx(entry: string, options: { env?: NodeJS.ProcessEnv; stdio: StdioOptions; nodeArgs?: readonly string[] }): ChildProcess {
  return spawn(process.execPath, [...(options.nodeArgs ?? []), "--import", "tsx", entry], { cwd: REPO_ROOT, env: options.env ?? process.env, stdio: options.stdio });
}

/** stopProcess sends SIGTERM and resolves once the process is gone (at once if it already is). */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}
