import { readdirSync, readFileSync } from "node:fs";

// Linux reports process times in clock ticks; USER_HZ is 100 on every Linux this project targets.
const MICROS_PER_TICK = 1_000_000 / 100;

/**
 * processCpuMicros is the CPU time (user + system, all threads) a process has used so far, read from
 * /proc/<pid>/stat. The benchmarks take differences of it around a run, so that a figure says where the CPU of
 * each call went (daemon, plugin, load generator), not only how long it took. A process that is gone (a plugin
 * restarted mid-run, say) fails the figure rather than skewing it.
 */
export function processCpuMicros(pid: number): number {
  const fields = statFields(pid);
  if (!fields) throw new Error(`process ${pid} is gone: its CPU time cannot be measured`);
  // After "pid (comm) ", field 3 (state) is index 0, so utime (14) and stime (15) are indexes 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) * MICROS_PER_TICK;
}

/** childPids lists the live children of a process (the daemon's plugin processes). */
export function childPids(parent: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    // Field 4 (ppid) is index 1 after the command name.
    if (Number(statFields(pid)?.[1]) === parent) children.push(pid);
  }
  return children;
}

/** childPidRunning finds the child of `parent` whose command line contains `needle` (the plugin under the daemon). */
export function childPidRunning(parent: number, needle: string): number | undefined {
  return childPids(parent).find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(needle);
    } catch {
      return false;
    }
  });
}

function statFields(pid: number): string[] | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name may hold spaces and parentheses: the fields start after its last ")".
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/**
 * cpuMeter starts counting the CPU of some processes (from /proc) and of this one (process.cpuUsage); `perCall`
 * divides what each used since.
 */
export function cpuMeter(pids: Readonly<Record<string, number>>) {
  const startOwn = process.cpuUsage();
  const start = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processCpuMicros(pid)]));
  return {
    perCall(calls: number, ownName: string): Record<string, number> {
      const own = process.cpuUsage(startOwn);
      const used: Record<string, number> = {};
      for (const [name, pid] of Object.entries(pids)) used[name] = Math.round((processCpuMicros(pid) - (start[name] ?? 0)) / calls);
      used[ownName] = Math.round((own.user + own.system) / calls);
      return used;
    },
  };
}
