import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { createDaemonClients } from "../../clients/client.js";
import { InstallTaskStatus } from "../../gen/dify/plugin/v1/install_pb.js";
import { buildFixturePackage, fixtureTree } from "../test/fixture-packages.js";
import { startDaemonProcess } from "./daemon-process.js";
import { latencyStats, printFigure } from "./stats.js";

const CALLS_PER_LEVEL = 3_000;
const LEVELS = [1, 16, 64] as const;
const TENANT = "33333333-3333-4333-8333-333333333333";

/** A plain driver of the fixture plugin over its own pipes: the floor any daemon adds cost on top of. */
async function startBarePlugin() {
  const tree = await fixtureTree("echo-tool");
  const child = spawn("python3", ["-m", "main"], { cwd: tree.dir, stdio: ["pipe", "pipe", "ignore"], env: { PATH: process.env.PATH ?? "" } });
  const waiting = new Map<string, () => void>();
  let ready: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (ready = resolve));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (line === "") return;
    const event = JSON.parse(line) as { event?: string; session_id?: string; data?: { type?: string } };
    if (event.event === "heartbeat") ready();
    if (event.event === "session" && event.data?.type === "end") waiting.get(event.session_id!)?.();
  });
  await started;
  return {
    call(text: string): Promise<void> {
      const sessionId = randomUUID();
      const done = new Promise<void>((resolve) => waiting.set(sessionId, () => (waiting.delete(sessionId), resolve())));
      const data = { action: "invoke_tool", type: "tool", user_id: "bench", provider: "echo", tool: "echo", tool_parameters: { text }, credentials: {} };
      child.stdin!.write(`${JSON.stringify({ session_id: sessionId, conversation_id: null, message_id: null, app_id: null, endpoint_id: null, context: null, event: "request", data })}\n`);
      return done;
    },
    async stop() {
      child.kill("SIGKILL");
      await tree.cleanup();
    },
  };
}

/** runLevel makes `total` calls with `concurrency` in flight and returns per-call latencies and the wall time. */
async function runLevel(call: (i: number) => Promise<unknown>, concurrency: number, total: number) {
  const samples: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const start = performance.now();
        await call(i);
        samples.push(performance.now() - start);
      }
    }),
  );
  return { samples, seconds: (performance.now() - t0) / 1000 };
}

/**
 * benchInvocation: tool invocations through the daemon (in its own process) (Connect binary over h2, auth, lookup, session
 * multiplexing, proto mapping) against the same fixture plugin driven directly over its pipe, at several
 * concurrency levels, in the same run.
 */
export async function benchInvocation(): Promise<void> {
  // The daemon runs in its own process, as in production, so the load generator does not share its event loop.
  const daemon = await startDaemonProcess({ FORCE_VERIFYING_SIGNATURE: "false" });
  const bare = await startBarePlugin();
  try {
    const clients = createDaemonClients({ baseUrl: daemon.baseUrl, apiKey: daemon.key, protocol: "connect-binary", httpVersion: "2" });
    const { pluginUniqueIdentifier } = await clients.plugins.uploadPackage({ tenantId: TENANT, package: await buildFixturePackage("echo-tool") });
    const started = await clients.plugins.installFromIdentifiers({ tenantId: TENANT, pluginUniqueIdentifiers: [pluginUniqueIdentifier] });
    for await (const { task } of clients.plugins.watchInstallTask({ tenantId: TENANT, taskId: started.taskId })) {
      if (task?.status === InstallTaskStatus.FAILED) throw new Error(`bench install failed: ${task.plugins[0]?.message}`);
    }
    const viaDaemon = async (i: number) => {
      for await (const _ of clients.invoke.invokeTool({ tenantId: TENANT, pluginId: "daemon-tests/echo-tool", userId: "bench", provider: "echo", tool: "echo", toolParameters: { text: `m${i}` } })) {
        // drain
      }
    };
    await runLevel(viaDaemon, 16, 500);
    await runLevel((i) => bare.call(`m${i}`), 16, 500);
    for (const concurrency of LEVELS) {
      const daemonRun = await runLevel(viaDaemon, concurrency, CALLS_PER_LEVEL);
      const bareRun = await runLevel((i) => bare.call(`m${i}`), concurrency, CALLS_PER_LEVEL);
      const d = latencyStats(daemonRun.samples);
      const b = latencyStats(bareRun.samples);
      const daemonRps = Math.round(CALLS_PER_LEVEL / daemonRun.seconds);
      const bareRps = Math.round(CALLS_PER_LEVEL / bareRun.seconds);
      printFigure({
        figure: `tool_invocation_concurrency_${concurrency}`,
        unit: "calls/s, us",
        daemon: { what: "InvokeTool over Connect binary (h2) through the daemon", rps: daemonRps, ...d },
        baseline: { what: "same fixture plugin driven directly over its stdin/stdout", rps: bareRps, ...b },
        throughputRatio: Math.round((daemonRps / bareRps) * 100) / 100,
        p50AddedUs: d.p50Us - b.p50Us,
      });
    }
  } finally {
    await bare.stop();
    await daemon.stop();
  }
}
