import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { spawnTsx, stopProcess } from "./node-process.js";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * startDaemonProcess runs the daemon as `npm start` would, in a child process with its own data directory
 * (embedded database unless DB_URL is set), and resolves once health answers SERVING.
 */
export async function startDaemonProcess(env: Record<string, string>): Promise<{ baseUrl: string; key: string; pid: number; stop(): Promise<void> }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "bench-daemon-"));
  const port = await freePort();
  const key = "bench-server-key";
  const child = spawnTsx("server/src/main.ts", {
    nodeArgs: process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [],
    env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), PIP_CONFIG_FILE: "/dev/null", DATA_DIR: dataDir, SERVER_HOST: "127.0.0.1", SERVER_PORT: String(port), SERVER_KEY: key, LOG_LEVEL: "warn", ...(process.env.DB_URL ? { DB_URL: process.env.DB_URL } : {}), ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`bench daemon exited with ${child.exitCode}`);
    const ok = await fetch(`${baseUrl}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error("bench daemon did not become healthy within 60 s");
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    baseUrl,
    key,
    pid: child.pid!,
    async stop() {
      await stopProcess(child);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
