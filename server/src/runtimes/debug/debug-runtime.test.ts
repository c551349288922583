import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { PluginInvokeError, type SessionEvent } from "../runtime.js";
import { DebugPluginRuntime } from "./debug-runtime.js";
import { ConnectionClosedError } from "./errors.js";

const logger = pino({ level: "silent" });

function runtime(heartbeatTimeoutMs = 60_000) {
  const sent: string[] = [];
  const closes: string[] = [];
  const plugin: DebugPluginRuntime = new DebugPluginRuntime({
    uniqueIdentifier: "a/b:0.0.1@" + "0".repeat(64),
    tenantId: "t",
    logger,
    maxExecutionMs: 60_000,
    heartbeatTimeoutMs,
    send: (line) => {
      sent.push(line);
      return true;
    },
    close: (reason) => {
      closes.push(reason);
      queueMicrotask(() => plugin.closed(reason));
    },
  });
  const line = (value: unknown) => plugin.onLine(Buffer.from(JSON.stringify(value)));
  return { plugin, sent, closes, line };
}

const request = (sessionId: string) => ({ sessionId, type: "tool", action: "invoke_tool", userId: "u", data: { provider: "p" } });

async function collect(events: AsyncIterable<SessionEvent>): Promise<SessionEvent[]> {
  const out: SessionEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

describe("DebugPluginRuntime", () => {
  it("writes the request line, routes session events by id, and ends on end", async () => {
    const { plugin, sent, line } = runtime();
    const result = collect(plugin.invoke(request("s1")));
    await new Promise((r) => setImmediate(r));
    expect(JSON.parse(sent[0]!)).toMatchObject({ session_id: "s1", event: "request", data: { action: "invoke_tool", provider: "p" } });
    line({ event: "session", session_id: "other", data: { type: "stream", data: { x: 0 } } });
    line({ event: "session", session_id: "s1", data: { type: "stream", data: { x: 1 } } });
    line({ event: "session", session_id: "s1", data: { type: "invoke", data: { type: "storage", backwards_request_id: "r1", request: { opt: "get" } } } });
    expect(plugin.respond("s1", "r1", { event: "end" })).toBe(true);
    expect(JSON.parse(sent[1]!)).toMatchObject({ event: "backwards_response", data: { backwards_request_id: "r1", event: "end" } });
    line({ event: "session", session_id: "s1", data: { type: "end", data: {} } });
    expect(await result).toEqual([
      { kind: "chunk", data: { x: 1 } },
      { kind: "invoke", backwardsRequestId: "r1", type: "storage", request: { opt: "get" } },
    ]);
    expect(plugin.respond("s1", "r1", { event: "end" })).toBe(false);
  });

  it("passes the plugin's session error", async () => {
    const { plugin, line } = runtime();
    const result = collect(plugin.invoke(request("s1"))).catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    line({ event: "session", session_id: "s1", data: { type: "error", data: { error_type: "ValueError", message: "bad", args: {} } } });
    expect(await result).toEqual(new PluginInvokeError("ValueError", "bad", {}));
  });

  it("fails every in-flight session at once when the connection goes, and refuses new ones", async () => {
    const { plugin } = runtime();
    const a = collect(plugin.invoke(request("a"))).catch((e: unknown) => e);
    const b = collect(plugin.invoke(request("b"))).catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    expect(plugin.sessionCount).toBe(2);
    plugin.closed("the plugin closed the connection");
    for (const error of [await a, await b]) {
      expect(error).toBeInstanceOf(ConnectionClosedError);
      expect((error as Error).message).toBe(`debug plugin ${plugin.uniqueIdentifier} disconnected: the plugin closed the connection`);
    }
    await expect(collect(plugin.invoke(request("c")))).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(plugin.status()).toMatchObject({ state: "stopped", reason: "the plugin closed the connection" });
  });

  it("closes the connection when heartbeats stop, and a heartbeat keeps it open", async () => {
    const { plugin, closes, line } = runtime(150);
    await new Promise((r) => setTimeout(r, 100));
    line({ event: "heartbeat", session_id: null, data: {} });
    await new Promise((r) => setTimeout(r, 100));
    expect(closes).toEqual([]);
    await plugin.gone;
    expect(closes).toEqual(["no heartbeat for 0.2 s"]);
  });

  it("stop closes the connection and resolves once it is gone", async () => {
    const { plugin, closes } = runtime();
    await plugin.stop();
    expect(closes).toEqual(["the debug runtime was stopped by the daemon"]);
    expect(plugin.status().state).toBe("stopped");
  });
});
