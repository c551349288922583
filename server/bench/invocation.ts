import { spawn } from "node:child_process";
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { InvokeToolRequestSchema } from "../../gen/dify/plugin/v1/invoke_service_pb.js";
import { randomUUID } from "node:crypto";
import path from "node:path";
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

/**
 * A Connect streaming client as thin as the bare driver above: one HTTP/2 session, each call a request stream
 * with one enveloped protobuf message, done when the response ends. The daemon still does all of its work
 * (auth, routing, decoding, dispatch, encoding); only the load generator's own cost is kept small, so the
 * two-core machine measures the daemon rather than the client library.
 */
function thinConnectClient(baseUrl: string, key: string) {
  const session = http2.connect(baseUrl);
  return {
    call(text: string): Promise<void> {
      const message = toBinary(
        InvokeToolRequestSchema,
        create(InvokeToolRequestSchema, { tenantId: TENANT, pluginId: "daemon-tests/echo-tool", userId: "bench", provider: "echo", tool: "echo", toolParameters: { text } }),
      );
      const envelope = Buffer.alloc(5 + message.length);
      envelope.writeUInt32BE(message.length, 1);
      envelope.set(message, 5);
      return new Promise((resolve, reject) => {
        const stream = session.request({
          ":method": "POST",
          ":path": "/dify.plugin.v1.InvokeService/InvokeTool",
          "content-type": "application/connect+proto",
          "connect-protocol-version": "1",
          "x-api-key": key,
        });
        let status = 0;
        stream.on("response", (headers) => (status = Number(headers[":status"])));
        stream.on("data", () => undefined);
        stream.on("end", () => (status === 200 ? resolve() : reject(new Error(`HTTP ${status}`))));
        stream.on("error", reject);
        stream.end(envelope);
      });
    },
    close: () => session.close(),
  };
}

/** startConnectFloor runs connect-floor-server.ts in its own process and resolves with its base URL. */
async function startConnectFloor() {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, "connect-floor-server.ts")], {
    cwd: path.resolve(import.meta.dirname, "../.."),
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`connect floor server exited with ${code}`)));
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
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
    // One checked call through the typed client first: the thin client below must be measuring real answers.
    const check: string[] = [];
    for await (const { message } of clients.invoke.invokeTool({ tenantId: TENANT, pluginId: "daemon-tests/echo-tool", userId: "bench", provider: "echo", tool: "echo", toolParameters: { text: "check" } })) {
      if (message?.message.case === "text") check.push(message.message.value.text);
    }
    if (check.join("") !== "check") throw new Error(`bench plugin answered ${JSON.stringify(check)}`);
    const thin = thinConnectClient(daemon.baseUrl, daemon.key);
    const viaDaemon = (i: number) => thin.call(`m${i}`);
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
        daemon: { what: "InvokeTool, Connect binary streaming over h2, through the daemon (own process)", rps: daemonRps, ...d },
        baseline: { what: "same fixture plugin driven directly over its stdin/stdout", rps: bareRps, ...b },
        throughputRatio: Math.round((daemonRps / bareRps) * 100) / 100,
        p50AddedUs: d.p50Us - b.p50Us,
      });
    }
    thin.close();

    // What the transport alone allows at 64 in flight, against the same bare pipe: the ceiling of any daemon on it.
    const floor = await startConnectFloor();
    try {
      const floorClient = thinConnectClient(floor.baseUrl, daemon.key);
      await runLevel((i) => floorClient.call(`m${i}`), 16, 500);
      const floorSingle = latencyStats((await runLevel((i) => floorClient.call(`m${i}`), 1, CALLS_PER_LEVEL)).samples);
      const bareSingle = latencyStats((await runLevel((i) => bare.call(`m${i}`), 1, CALLS_PER_LEVEL)).samples);
      const floorRun = await runLevel((i) => floorClient.call(`m${i}`), 64, CALLS_PER_LEVEL);
      const bareRun = await runLevel((i) => bare.call(`m${i}`), 64, CALLS_PER_LEVEL);
      const floorRps = Math.round(CALLS_PER_LEVEL / floorRun.seconds);
      const bareRps = Math.round(CALLS_PER_LEVEL / bareRun.seconds);
      printFigure({
        figure: "connect_transport_ceiling_concurrency_64",
        unit: "calls/s",
        transport: { what: "InvokeTool on Connect-ES + node:http2 answered at once by a do-nothing handler (own process), same thin client", rps: floorRps },
        baseline: { what: "same fixture plugin driven directly over its stdin/stdout", rps: bareRps },
        throughputRatio: Math.round((floorRps / bareRps) * 100) / 100,
      });
      printFigure({
        figure: "connect_transport_latency_concurrency_1",
        unit: "us",
        transport: { what: "the same do-nothing handler, one call at a time", ...floorSingle },
        baseline: { what: "the fixture plugin over its pipe, one call at a time", ...bareSingle },
        p50AddedUs: floorSingle.p50Us - bareSingle.p50Us,
      });
      floorClient.close();
    } finally {
      await floor.stop();
    }
  } finally {
    await bare.stop();
    await daemon.stop();
  }
}
