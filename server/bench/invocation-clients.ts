import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import http from "node:http";
import http2 from "node:http2";
import { createInterface } from "node:readline";
import { create, toBinary } from "@bufbuild/protobuf";
import { InvokeToolRequestSchema } from "../../gen/dify/plugin/v1/invoke_service_pb.js";
import { fixtureTree } from "../test/fixture-packages.js";

export const BENCH_TENANT = "33333333-3333-4333-8333-333333333333";
export const BENCH_PLUGIN = "daemon-tests/echo-tool";

/** One way of invoking the echo tool: resolves when the answer has arrived whole and carries `text`. */
export interface InvocationClient {
  call(text: string): Promise<void>;
  close(): void;
}

/** A plain driver of the fixture plugin over its own pipes: the floor any daemon adds cost on top of. */
export async function startBarePlugin(): Promise<InvocationClient & { readonly pid: number; stop(): Promise<void> }> {
  const tree = await fixtureTree("echo-tool");
  const child = spawn("python3", ["-m", "main"], { cwd: tree.dir, stdio: ["pipe", "pipe", "ignore"], env: { PATH: process.env.PATH ?? "" } });
  const waiting = new Map<string, () => void>();
  let ready: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (ready = resolve));
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (line === "") return;
    const event = JSON.parse(line) as { event?: string; session_id?: string; data?: { type?: string } };
    if (event.event === "heartbeat") ready();
    if (event.event === "session" && event.data?.type === "end") waiting.get(event.session_id!)?.();
  });
  await started;
  return {
    pid: child.pid!,
    call(text) {
      const sessionId = randomUUID();
      const done = new Promise<void>((resolve) => waiting.set(sessionId, () => (waiting.delete(sessionId), resolve())));
      const data = { action: "invoke_tool", type: "tool", user_id: "bench", provider: "echo", tool: "echo", tool_parameters: { text }, credentials: {} };
      child.stdin.write(`${JSON.stringify({ session_id: sessionId, conversation_id: null, message_id: null, app_id: null, endpoint_id: null, context: null, event: "request", data })}\n`);
      return done;
    },
    close: () => undefined,
    async stop() {
      child.kill("SIGKILL");
      await tree.cleanup();
    },
  };
}

function enveloped(text: string): Buffer {
  const message = toBinary(
    InvokeToolRequestSchema,
    create(InvokeToolRequestSchema, { tenantId: BENCH_TENANT, pluginId: BENCH_PLUGIN, userId: "bench", provider: "echo", tool: "echo", toolParameters: { text } }),
  );
  const envelope = Buffer.alloc(5 + message.length);
  envelope.writeUInt32BE(message.length, 1);
  envelope.set(message, 5);
  return envelope;
}

const CONNECT_HEADERS = { "content-type": "application/connect+proto", "connect-protocol-version": "1" };
const INVOKE_TOOL_PATH = "/dify.plugin.v1.InvokeService/InvokeTool";

/**
 * A Connect streaming client as thin as the bare driver: each call one request with one enveloped protobuf
 * message, done when the response ends. The daemon still does all of its work (auth, routing, decoding,
 * dispatch, encoding); only the load generator's own cost is kept small, because on a two-core machine it
 * competes with the daemon and the plugin. h2: one HTTP/2 session; http1: keep-alive sockets, one per call
 * in flight, as an HTTP/1.1 caller such as Dify's api server uses them.
 */
export function thinConnectClient(baseUrl: string, key: string, httpVersion: "h2" | "http1"): InvocationClient {
  if (httpVersion === "http1") {
    return http1Client(baseUrl, (text) => ({ path: INVOKE_TOOL_PATH, headers: { ...CONNECT_HEADERS, "x-api-key": key }, body: enveloped(text) }));
  }
  const session = http2.connect(baseUrl);
  // A session error fails the calls in flight through their streams; unheard, it would end the benchmark process.
  session.on("error", () => undefined);
  return {
    call(text) {
      return new Promise((resolve, reject) => {
        const stream = session.request({ ":method": "POST", ":path": INVOKE_TOOL_PATH, ...CONNECT_HEADERS, "x-api-key": key });
        let status = 0;
        let answer = "";
        stream.setEncoding("latin1");
        stream.on("response", (headers) => (status = Number(headers[":status"])));
        stream.on("data", (part: string) => (answer += part));
        stream.on("error", reject);
        // "close" comes after "end", and also after a reset that ends the stream without either.
        stream.on("close", () => settle(status, answer, text, resolve, reject));
        stream.end(enveloped(text));
      });
    },
    close: () => session.close(),
  };
}

/**
 * difyDispatchClient calls the route an unchanged Dify api server uses (POST /plugin/{tenant}/dispatch/tool/invoke,
 * HTTP/1.1, streamed `data:` lines).
 */
export function difyDispatchClient(baseUrl: string, key: string): InvocationClient {
  return http1Client(baseUrl, (text) => ({
    path: `/plugin/${BENCH_TENANT}/dispatch/tool/invoke`,
    headers: { "content-type": "application/json", "x-api-key": key, "x-plugin-id": BENCH_PLUGIN },
    body: Buffer.from(JSON.stringify({ user_id: "bench", conversation_id: null, app_id: null, message_id: null, data: { provider: "echo", tool: "echo", credentials: {}, tool_parameters: { text } } })),
  }));
}

/**
 * settle checks a finished call: HTTP 200, the text sent back in the answer (a protobuf or JSON message), and no
 * error, which both dialects stream with HTTP 200 like a success (Connect's end-stream `"error"`, Dify's negative
 * `"code"`). The texts are `#<n>#`, so an answer meant for another call cannot pass for this one's.
 */
function settle(status: number, answer: string, text: string, resolve: () => void, reject: (err: Error) => void): void {
  if (status === 200 && answer.includes(text) && !answer.includes('"error"') && !answer.includes('"code":-')) resolve();
  else reject(new Error(`HTTP ${status}, no answer to ${text}: ${answer.slice(0, 200)}`));
}

type Http1Request = { path: string; headers: Record<string, string>; body: Buffer };

function http1Client(baseUrl: string, request: (text: string) => Http1Request): InvocationClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const { hostname, port } = new URL(baseUrl);
  return {
    call(text) {
      const { path, headers, body } = request(text);
      return new Promise((resolve, reject) => {
        const req = http.request({ agent, host: hostname, port, method: "POST", path, headers: { ...headers, "content-length": body.length } }, (res) => {
          let answer = "";
          res.setEncoding("latin1");
          res.on("data", (part: string) => (answer += part));
          res.on("error", reject);
          res.on("end", () => settle(res.statusCode ?? 0, answer, text, resolve, reject));
        });
        req.on("error", reject);
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}
