import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { LineSplitter, readPluginEvents, sessionIdOfPrefix } from "./line-codec.js";
import { type PluginEvent, backwardsResponseEnvelope, encodeLine, requestEnvelope } from "./messages.js";

function split(chunks: readonly string[], maxLineBytes = 1024) {
  const lines: string[] = [];
  const oversized: { bytes: number; prefix: string }[] = [];
  const splitter = new LineSplitter({
    maxLineBytes,
    onLine: (line) => lines.push(line.toString("utf8")),
    onOversizedLine: ({ bytes, prefix }) => oversized.push({ bytes, prefix: prefix.toString("utf8") }),
  });
  for (const chunk of chunks) splitter.push(Buffer.from(chunk));
  splitter.end();
  return { lines, oversized };
}

describe("LineSplitter", () => {
  it("joins lines cut across chunks, skips empty lines and flushes a last line without newline", () => {
    const { lines } = split(['{"a":', '1}\n\n{"b"', ":2}\n\n", "\n", "tail"]);
    expect(lines).toEqual(['{"a":1}', '{"b":2}', "tail"]);
  });

  it("skips a line over the limit, reports its full size and keeps reading the next lines", () => {
    const long = `{"event":"session","session_id":"s-1","data":"${"x".repeat(5000)}"}`;
    const { lines, oversized } = split(["before\n", long.slice(0, 700), long.slice(700, 3000), `${long.slice(3000)}\nafter\n`], 1000);
    expect(lines).toEqual(["before", "after"]);
    expect(oversized).toHaveLength(1);
    expect(oversized[0]?.bytes).toBe(Buffer.byteLength(long));
    expect(oversized[0]?.prefix).toBe(long.slice(0, 1024));
  });

  it("accepts a line exactly at the limit", () => {
    const { lines, oversized } = split(["x".repeat(1000), "\n"], 1000);
    expect(lines).toEqual(["x".repeat(1000)]);
    expect(oversized).toEqual([]);
  });
});

describe("sessionIdOfPrefix", () => {
  it("recovers the top-level session id from the start of an event line", () => {
    expect(sessionIdOfPrefix(Buffer.from('{"event": "session", "session_id": "0b7f-1", "data": {"type": "stream", "da'))).toBe("0b7f-1");
  });

  it("does not take a session_id that only appears inside data", () => {
    expect(sessionIdOfPrefix(Buffer.from('{"event":"log","session_id":null,"data":{"session_id":"x"'))).toBeUndefined();
  });

  it("does not take an id the prefix cut in the middle", () => {
    expect(sessionIdOfPrefix(Buffer.from('{"event":"session","session_id":"0b7f'))).toBeUndefined();
  });
});

describe("readPluginEvents", () => {
  it("decodes SDK output: ignores the manifest line and noise, parses events and session messages", async () => {
    const stream = new PassThrough();
    const events: PluginEvent[] = [];
    const ignored: string[] = [];
    const done = new Promise<void>((resolve) => {
      readPluginEvents(stream, {
        onEvent: (e) => events.push(e),
        onIgnoredLine: (l) => ignored.push(l.toString()),
        onEnd: resolve,
      });
    });
    stream.write('{"name":"echo","version":"0.0.1"}\n\n');
    stream.write("print() noise\n");
    stream.write('{"event":"heartbeat","session_id":null,"data":{}}\n\n');
    stream.write('{"event":"log","data":{"level":"WARNING","message":"careful","timestamp":1.5}}\n\n');
    stream.write('{"event":"session","session_id":"s","data":{"type":"stream","data":{"type":"text","message":{"text":"hi"}}}}\n');
    stream.write('{"event":"session","session_id":"s","data":{"type":"invoke","data":{"type":"storage","request":{}}}}\n');
    stream.write('{"event":"session","session_id":"s","data":{"type":"error","data":{"error_type":"ValueError","message":"bad","args":{"k":1}}}}\n');
    stream.end('{"event":"session","session_id":"s","data":{"type":"end","data":{}}}');
    await done;
    expect(ignored).toEqual(['{"name":"echo","version":"0.0.1"}', "print() noise"]);
    expect(events).toEqual([
      { event: "heartbeat" },
      { event: "log", level: "warn", message: "careful", timestamp: 1.5 },
      { event: "session", sessionId: "s", message: { type: "stream", data: { type: "text", message: { text: "hi" } } } },
      {
        event: "session",
        sessionId: "s",
        message: {
          type: "invalid",
          errorType: "invoke_dify_error",
          reason: "the plugin's backwards invocation lacks backwards_request_id, type or a request object",
        },
      },
      { event: "session", sessionId: "s", message: { type: "error", errorType: "ValueError", message: "bad", args: { k: 1 } } },
      { event: "session", sessionId: "s", message: { type: "end" } },
    ]);
  });

  it("reports an oversized line with its recovered session id and the limit", () => {
    const stream = new PassThrough();
    const reports: unknown[] = [];
    readPluginEvents(stream, { maxLineBytes: 64, onEvent: () => undefined, onOversizedLine: (r) => reports.push(r) });
    const line = `{"event":"session","session_id":"big-1","data":{"type":"stream","data":"${"y".repeat(200)}"}}`;
    stream.write(`${line}\n`);
    expect(reports).toEqual([{ bytes: Buffer.byteLength(line), limit: 64, sessionId: "big-1" }]);
  });
});

describe("daemon → plugin envelopes", () => {
  it("writes a request with the reference daemon's key order, the envelope's user/type/action winning", () => {
    const line = encodeLine(
      requestEnvelope({
        sessionId: "s1",
        type: "tool",
        action: "invoke_tool",
        userId: "u1",
        appId: "app",
        data: { provider: "p", tool: "t", action: "spoofed" },
      }),
    );
    expect(line).toBe(
      '{"session_id":"s1","conversation_id":null,"message_id":null,"app_id":"app","endpoint_id":null,"context":null,' +
        '"event":"request","data":{"provider":"p","tool":"t","action":"invoke_tool","user_id":"u1","type":"tool"}}\n',
    );
  });

  it("writes backwards responses as spec §2.3 says: end has message \"\" and data null, error has data null", () => {
    expect(backwardsResponseEnvelope("s", "r", { event: "end" }).data).toEqual({
      backwards_request_id: "r",
      event: "end",
      message: "",
      data: null,
    });
    expect(backwardsResponseEnvelope("s", "r", { event: "error", message: "denied" }).data).toEqual({
      backwards_request_id: "r",
      event: "error",
      message: "denied",
      data: null,
    });
    const response = backwardsResponseEnvelope("s", "r", { event: "response", message: "struct", data: { v: 1 } });
    expect(Object.keys(response)).toEqual([
      "session_id",
      "conversation_id",
      "message_id",
      "app_id",
      "endpoint_id",
      "context",
      "event",
      "data",
    ]);
    expect(response.event).toBe("backwards_response");
    expect(response.data).toEqual({ backwards_request_id: "r", event: "response", message: "struct", data: { v: 1 } });
  });
});
