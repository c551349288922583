/**
 * Children this daemon starts that must not outlive it: plugin processes, and the repackager's pip steps (each
 * in its own process group, because pip starts children of its own). They are tracked from spawn to exit; if
 * the daemon exits first (a crash, process.exit), every one still running is killed on the way out.
 */

type Kind = "plugin" | "pip";

const live = new Map<number, { readonly kind: Kind; readonly group: boolean }>();
let exitHookInstalled = false;

/** signalChild sends a signal to a child, or to its whole process group; a child already gone is no error. */
export function signalChild(pid: number, signal: NodeJS.Signals, group = false): void {
  try {
    process.kill(group ? -pid : pid, signal);
  } catch {
    // Already gone: nothing left to signal.
  }
}

/** killOnExit tracks a child until the returned release is called (when it has exited). */
export function killOnExit(pid: number, options: { readonly kind: Kind; readonly group?: boolean }): () => void {
  live.set(pid, { kind: options.kind, group: options.group ?? false });
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => live.forEach((child, childPid) => signalChild(childPid, "SIGKILL", child.group)));
  }
  return () => {
    live.delete(pid);
  };
}

/** liveChildren lists the tracked children of one kind still running (for health checks and tests). */
export function liveChildren(kind: Kind): number[] {
  return [...live].filter(([, child]) => child.kind === kind).map(([pid]) => pid);
}
