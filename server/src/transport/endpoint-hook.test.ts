import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { EndpointRecord } from "../db/repositories/endpoints.js";
import type { InstallationRecord } from "../db/repositories/installations.js";
import type { EndpointResponsePart, Endpoints, HookResolution } from "../plugins/endpoints.js";
import { PluginInvokeError } from "../runtimes/runtime.js";
import { createEndpointHookHandler, type EndpointHookOptions } from "./endpoint-hook.js";

const logger = pino({ level: "silent" });
const endpoint = { id: "e-1", hookId: "hook", tenantId: "t", pluginId: "a/b", settings: {}, enabled: true } as unknown as EndpointRecord;
const ok: HookResolution = {
  kind: "ok",
  endpoint,
  installation: { pluginUniqueIdentifier: "a/b:0.0.1@" + "0".repeat(64) } as InstallationRecord,
  group: { settings: [], endpoints: [] },
};

let server: Server | undefined;
afterEach(async () => {
  const open = server;
  server = undefined;
  if (open) await new Promise((resolve) => open.close(resolve));
});

/** A hook handler over a stand-in for the endpoint behaviour: a fixed resolution and a scripted answer. */
async function serve(resolution: HookResolution, answer: (raw: Buffer, signal: AbortSignal) => AsyncIterable<EndpointResponsePart>, options: Partial<EndpointHookOptions> = {}) {
  const seen: Buffer[] = [];
  const endpoints = {
    resolveHook: async () => resolution,
    invoke: (_target: unknown, raw: Buffer, signal: AbortSignal) => {
      seen.push(raw);
      return answer(raw, signal);
    },
  } as unknown as Endpoints;
  server = createServer(createEndpointHookHandler({ endpoints, logger, ...options }));
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const call = (method: string, path: string) =>
    new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, method, path }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end();
    });
  return { call, seen };
}

const envelope = (code: number, errorType: string, message: string) =>
  JSON.stringify({ code, message: JSON.stringify({ message, error_type: errorType, args: null }), data: null });

describe("the endpoint hook handler", () => {
  it("answers the unknown-route shape for other paths and methods", async () => {
    const { call } = await serve(ok, async function* () {});
    for (const [method, path] of [["GET", "/x"], ["PATCH", "/e/hook/a"], ["GET", "/e/"]] as const) {
      const answer = await call(method, path);
      expect(answer.status).toBe(404);
      expect(answer.body).toBe('{"code":"not_found","message":"route not found"}');
    }
  });

  it.each([
    [{ kind: "unknown" }, envelope(-400, "PluginDaemonBadRequestError", "endpoint not found")],
    [{ kind: "no-installation", endpoint }, envelope(-400, "PluginDaemonBadRequestError", "plugin installation not found")],
    [{ kind: "disabled", endpoint }, envelope(-404, "PluginDaemonNotFoundError", "endpoint not found")],
    [{ kind: "no-endpoint-declaration", endpoint }, envelope(-404, "PluginNotFoundError", "plugin not found")],
  ] as [HookResolution, string][])("answers 404 for %j", async (resolution, body) => {
    const { call } = await serve(resolution, async function* () {});
    expect(await call("GET", "/e/hook/p")).toMatchObject({ status: 404, body });
  });

  it("sends the path after the hook with the query, defaults the status to 200 and accumulates headers until the body", async () => {
    const { call, seen } = await serve(ok, async function* (): AsyncGenerator<EndpointResponsePart> {
      yield { headers: { "X-One": "1" } };
      yield { status: 202, headers: { "X-Two": "2", Connection: "close-me-not" } };
      yield { body: Buffer.from("hello ") };
      yield { headers: { "X-Late": "ignored" }, body: Buffer.from("world") };
    });
    const answer = await call("GET", "/e/hook?x=1");
    expect(answer).toMatchObject({ status: 202, body: "hello world" });
    expect(answer.headers).toMatchObject({ "x-one": "1", "x-two": "2" });
    expect(answer.headers["x-late"]).toBeUndefined();
    expect(answer.headers["connection"]).not.toBe("close-me-not");
    expect(seen[0]?.toString("latin1").split("\r\n")[0]).toBe("GET /?x=1 HTTP/1.1");
  });

  it("answers a plugin error before the body as the in-envelope PluginInvokeError, and a stream without body with its status", async () => {
    const failing = await serve(ok, async function* () {
      yield { status: 200 };
      throw new PluginInvokeError("ValueError", "bad input", {});
    });
    const answer = await failing.call("POST", "/e/hook/p");
    expect(answer.status).toBe(500);
    const outer = JSON.parse(answer.body) as { code: number; message: string; data: null };
    expect(outer.code).toBe(-500);
    const inner = JSON.parse(outer.message) as { message: string; error_type: string };
    expect(inner.error_type).toBe("PluginInvokeError");
    expect(JSON.parse(inner.message)).toEqual({ message: "bad input", error_type: "ValueError", args: {} });
    server?.close();
    const empty = await serve(ok, async function* () {
      yield { status: 204, headers: { "X-Empty": "yes" } };
    });
    expect(await empty.call("DELETE", "/e/hook/p")).toMatchObject({ status: 204, body: "" });
  });

  it("answers killed by timeout past the execution limit, and ends a started body with the error text", async () => {
    const slow = await serve(
      ok,
      async function* (_raw, signal) {
        await new Promise<void>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason as Error)));
        yield {};
      },
      { maxExecutionMs: 200 },
    );
    expect(await slow.call("GET", "/e/hook/p")).toMatchObject({ status: 500, body: envelope(-500, "PluginDaemonInternalServerError", "killed by timeout") });
    server?.close();
    const broken = await serve(ok, async function* () {
      yield { status: 200, body: Buffer.from("partial") };
      throw new PluginInvokeError("ConnectionClosedError", "gone");
    });
    expect(await broken.call("GET", "/e/hook/p")).toMatchObject({ status: 200, body: "partial\ngone" });
  });
});

describe("the endpoint hook handler over HTTP/2 (h2c)", () => {
  it("serves the same answer and leaves the pseudo-headers out of the plugin's request", async () => {
    const http2 = await import("node:http2");
    const seen: Buffer[] = [];
    const endpoints = {
      resolveHook: async () => ok,
      invoke: async function* (_t: unknown, raw: Buffer): AsyncGenerator<EndpointResponsePart> {
        seen.push(raw);
        yield { status: 200, headers: { "X-Via": "h2" } };
        yield { body: Buffer.from("over h2") };
      },
    } as unknown as Endpoints;
    const h2 = http2.createServer(createEndpointHookHandler({ endpoints, logger }));
    await new Promise<void>((resolve) => h2.listen(0, "127.0.0.1", resolve));
    const client = http2.connect(`http://127.0.0.1:${(h2.address() as AddressInfo).port}`);
    try {
      const answer = await new Promise<{ status: number; via: unknown; body: string }>((resolve, reject) => {
        const stream = client.request({ ":method": "GET", ":path": "/e/hook/p?q=1", "x-test": "yes" });
        let status = 0;
        let via: unknown;
        let body = "";
        stream.on("response", (headers) => {
          status = Number(headers[":status"]);
          via = headers["x-via"];
        });
        stream.on("data", (c: Buffer) => (body += c.toString()));
        stream.on("end", () => resolve({ status, via, body }));
        stream.on("error", reject);
        stream.end();
      });
      expect(answer).toEqual({ status: 200, via: "h2", body: "over h2" });
      const lines = seen[0]!.toString("latin1").split("\r\n");
      expect(lines[0]).toBe("GET /p?q=1 HTTP/1.1");
      expect(lines[1]).toMatch(/^Host: 127\.0\.0\.1:\d+$/);
      expect(lines).toContain("x-test: yes");
      expect(lines.some((l) => l.startsWith(":"))).toBe(false);
    } finally {
      client.close();
      await new Promise((resolve) => h2.close(resolve));
    }
  });
});
