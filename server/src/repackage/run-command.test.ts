import { describe, expect, it } from "vitest";
import { runCommand } from "./run-command.js";

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("runCommand", () => {
  it("ends the whole process group when cancelled: a child the step started goes too", async () => {
    // Like pip starting a build backend: the step prints its child's pid, then waits.
    const script = "import subprocess, sys, time\np = subprocess.Popen(['sleep', '60'])\nprint(p.pid, flush=True)\ntime.sleep(60)";
    const abort = new AbortController();
    let grandchild = 0;
    const run = runCommand("python3", ["-c", script], {
      env: process.env,
      signal: abort.signal,
      onLine: (line) => {
        grandchild = Number(line);
        abort.abort();
      },
    });
    await expect(run).rejects.toThrow("repackaging was cancelled");
    expect(grandchild).toBeGreaterThan(0);
    for (let i = 0; i < 50 && alive(grandchild); i++) await new Promise((r) => setTimeout(r, 100));
    expect(alive(grandchild)).toBe(false);
  });

  it("hands over stdout lines and keeps the output's tail with the exit code", async () => {
    const lines: string[] = [];
    const result = await runCommand("python3", ["-c", "import sys\nprint('one')\nprint('two')\nsys.stderr.write('oops\\n')\nsys.exit(3)"], {
      env: process.env,
      onLine: (line) => lines.push(line),
    });
    expect(lines).toEqual(["one", "two"]);
    expect(result.code).toBe(3);
    expect(result.output).toContain("oops");
  });
});
