import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { createDaemonClients } from "../../clients/client.js";
import { InstallTaskStatus } from "../../gen/dify/plugin/v1/install_pb.js";
import { buildFixturePackage } from "../test/fixture-packages.js";
import { startDaemonProcess } from "./daemon-process.js";
import { BENCH_PLUGIN, BENCH_TENANT, difyDispatchClient, startBarePlugin, thinConnectClient, type InvocationClient } from "./invocation-clients.js";
import { spawnTsx, stopProcess } from "./node-process.js";
import { childPidRunning, cpuMeter } from "./process-cpu.js";
import { latencyStats, median, printFigure, ratio } from "./stats.js";

const CALLS_PER_LEVEL = 3_000;
// Unmeasured calls first, so that every figure is the daemon's steady state: its hot paths compiled, and as many
// connections open as the level uses.
const WARMUP_CALLS = 2_000;
const LEVEL_WARMUP_CALLS = 300;
// Each level is measured in rounds of (through the daemon, bare pipe) back to back: the machine's speed drifts
// by a third from hour to hour, and a pair measured together compares fairly even when rounds differ.
const ROUNDS = 3;
const BARE_WHAT = "same fixture plugin driven directly over its stdin/stdout";

/** startConnectFloor runs connect-floor-server.ts in its own process and resolves with its base URL and pid. */
async function startConnectFloor() {
  const child = spawnTsx(path.join(import.meta.dirname, "connect-floor-server.ts"), { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`connect floor server exited with ${code}`)));
  });
  return { baseUrl: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => stopProcess(child) };
}

/**
 * runLevel makes CALLS_PER_LEVEL calls with `concurrency` in flight and measures throughput, latency and the CPU
 * each call cost every process involved (`pids`, plus this one as `own`).
 */
async function runLevel(client: InvocationClient, concurrency: number, pids: Record<string, number>, own: string, total = CALLS_PER_LEVEL) {
  const samples: number[] = [];
  let next = 0;
  const meter = cpuMeter(pids);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const start = performance.now();
        await client.call(`#${i}#`);
        samples.push(performance.now() - start);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { rps: Math.round(total / seconds), ...latencyStats(samples), cpuUsPerCall: meter.perCall(total, own) };
}

type Run = Awaited<ReturnType<typeof runLevel>>;

/**
 * pairedRounds measures ROUNDS pairs and reports the pair with the median throughput ratio, the median added
 * p50 over all pairs, and every pair's two numbers, so that the spread shows.
 */
async function pairedRounds(subject: () => Promise<Run>, baseline: () => Promise<Run>) {
  const rounds: Array<{ subject: Run; baseline: Run }> = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push({ subject: await subject(), baseline: await baseline() });
  const ratioOf = (r: (typeof rounds)[number]) => ratio(r.subject.rps, r.baseline.rps);
  const addedOf = (r: (typeof rounds)[number]) => r.subject.p50Us - r.baseline.p50Us;
  const middle = [...rounds].sort((a, b) => ratioOf(a) - ratioOf(b))[Math.floor(ROUNDS / 2)]!;
  return {
    subject: middle.subject,
    baseline: middle.baseline,
    throughputRatio: ratioOf(middle),
    p50AddedUs: median(rounds.map(addedOf)),
    rounds: rounds.map((r) => ({ throughputRatio: ratioOf(r), p50AddedUs: addedOf(r) })),
  };
}

/**
 * benchInvocation: tool invocations through the daemon (in its own process, as in production) against the same
 * fixture plugin driven directly over its pipe, each level followed by its baseline in the same run:
 * Connect binary streaming over h2 and over HTTP/1.1, and Dify's own dispatch route. Every figure says what each
 * call cost in CPU per process, and a last pair measures the transport alone, the ceiling of any daemon on it.
 */
export async function benchInvocation(): Promise<void> {
  const daemon = await startDaemonProcess({ FORCE_VERIFYING_SIGNATURE: "false" });
  const bare = await startBarePlugin();
  const clients: InvocationClient[] = [];
  try {
    const typed = createDaemonClients({ baseUrl: daemon.baseUrl, apiKey: daemon.key, protocol: "connect-binary", httpVersion: "2" });
    const { pluginUniqueIdentifier } = await typed.plugins.uploadPackage({ tenantId: BENCH_TENANT, package: await buildFixturePackage("echo-tool") });
    const started = await typed.plugins.installFromIdentifiers({ tenantId: BENCH_TENANT, pluginUniqueIdentifiers: [pluginUniqueIdentifier] });
    for await (const { task } of typed.plugins.watchInstallTask({ tenantId: BENCH_TENANT, taskId: started.taskId })) {
      if (task?.status === InstallTaskStatus.FAILED) throw new Error(`bench install failed: ${task.plugins[0]?.message}`);
    }
    // One checked call through the typed client first; the thin clients then check every answer's text.
    const check: string[] = [];
    for await (const { message } of typed.invoke.invokeTool({ tenantId: BENCH_TENANT, pluginId: BENCH_PLUGIN, userId: "bench", provider: "echo", tool: "echo", toolParameters: { text: "check" } })) {
      if (message?.message.case === "text") check.push(message.message.value.text);
    }
    if (check.join("") !== "check") throw new Error(`bench plugin answered ${JSON.stringify(check)}`);
    const plugin = childPidRunning(daemon.pid, "python");
    if (plugin === undefined) throw new Error("bench: the daemon runs no plugin process");
    const viaDaemon = { daemon: daemon.pid, plugin };
    const viaPipe = { plugin: bare.pid };

    const transports = [
      { name: "tool_invocation", levels: [1, 16, 64], what: "InvokeTool, Connect binary streaming over h2, through the daemon (own process)", client: thinConnectClient(daemon.baseUrl, daemon.key, "h2") },
      { name: "tool_invocation_http1", levels: [1, 64], what: "InvokeTool, Connect binary streaming over HTTP/1.1 keep-alive, through the daemon", client: thinConnectClient(daemon.baseUrl, daemon.key, "http1") },
      { name: "dify_dispatch_tool_invoke", levels: [1, 64], what: "POST /plugin/{tenant}/dispatch/tool/invoke (Dify's route, HTTP/1.1 keep-alive), through the daemon", client: difyDispatchClient(daemon.baseUrl, daemon.key) },
    ];
    clients.push(...transports.map((t) => t.client));
    await runLevel(bare, 16, {}, "driver", WARMUP_CALLS);
    for (const { name, levels, what, client } of transports) {
      await runLevel(client, 16, {}, "loadGenerator", WARMUP_CALLS);
      for (const concurrency of levels) {
        await runLevel(client, concurrency, {}, "loadGenerator", LEVEL_WARMUP_CALLS);
        const level = await pairedRounds(
          () => runLevel(client, concurrency, viaDaemon, "loadGenerator"),
          () => runLevel(bare, concurrency, viaPipe, "driver"),
        );
        printFigure({
          figure: `${name}_concurrency_${concurrency}`,
          unit: "calls/s, us",
          daemon: { what, ...level.subject },
          baseline: { what: BARE_WHAT, ...level.baseline },
          throughputRatio: level.throughputRatio,
          p50AddedUs: level.p50AddedUs,
          rounds: level.rounds,
        });
      }
    }
    await benchTransportCeiling(bare, viaPipe);
  } finally {
    for (const client of clients) client.close();
    await bare.stop();
    await daemon.stop();
  }
}

/**
 * benchTransportCeiling: InvokeTool on Connect-ES + node:http2 answered at once by an echo handler, with the same
 * thin client, against the bare pipe. A daemon on this transport pays about the handler's and the client's CPU
 * per call, and the plugin still pays its own; divided into the machine's cores, that estimates the most any
 * daemon here can reach, before it does any work of its own.
 */
async function benchTransportCeiling(bare: InvocationClient, viaPipe: Record<string, number>): Promise<void> {
  const floor = await startConnectFloor();
  const client = thinConnectClient(floor.baseUrl, "unused", "h2");
  try {
    const server = { transport: floor.pid };
    await runLevel(client, 64, {}, "loadGenerator", WARMUP_CALLS);
    const single = await pairedRounds(
      () => runLevel(client, 1, server, "loadGenerator"),
      () => runLevel(bare, 1, viaPipe, "driver"),
    );
    await runLevel(client, 64, {}, "loadGenerator", LEVEL_WARMUP_CALLS);
    const busyLevel = await pairedRounds(
      () => runLevel(client, 64, server, "loadGenerator"),
      () => runLevel(bare, 64, viaPipe, "driver"),
    );
    const { subject: busy, baseline: bareBusy } = busyLevel;
    const cores = os.availableParallelism();
    const cpuPerCall = (busy.cpuUsPerCall["transport"] ?? 0) + (busy.cpuUsPerCall["loadGenerator"] ?? 0) + (bareBusy.cpuUsPerCall["plugin"] ?? 0);
    const boundRps = Math.round((cores * 1_000_000) / Math.max(1, cpuPerCall));
    printFigure({
      figure: "connect_transport_ceiling_concurrency_64",
      unit: "calls/s",
      transport: { what: "InvokeTool on Connect-ES + node:http2 answered at once by an echo handler (own process: no auth, no plugin), same thin client", ...busy },
      baseline: { what: BARE_WHAT, ...bareBusy },
      throughputRatio: busyLevel.throughputRatio,
      rounds: busyLevel.rounds,
      cpuBound: {
        what: "cores x 1 s / (transport + load generator + plugin CPU per call): an estimate of the most calls/s any daemon on this transport can reach here",
        cores,
        cpuUsPerCall: cpuPerCall,
        rps: boundRps,
        ratioToBaseline: ratio(boundRps, bareBusy.rps),
      },
    });
    printFigure({
      figure: "connect_transport_latency_concurrency_1",
      unit: "us",
      transport: { what: "the same echo handler, one call at a time", ...single.subject },
      baseline: { what: "the fixture plugin over its pipe, one call at a time", ...single.baseline },
      p50AddedUs: single.p50AddedUs,
      rounds: single.rounds,
    });
  } finally {
    client.close();
    await floor.stop();
  }
}
