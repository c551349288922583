import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeadlineExceededError, RuntimeUnavailableError } from "../../errors.js";
import type { PackageEntry } from "../../packaging/archive.js";
import { type InvocationRequest, PluginInvokeError, type SessionEvent } from "../runtime.js";
import { livePluginPids } from "./instance.js";
import { type CreateLocalRuntimeOptions, type LocalPluginRuntime, createLocalRuntime } from "./local-runtime.js";
import { RUNTIME_FIXTURES, identifierOf, readEntries, recordingLogger } from "./testing.js";

process.env["PIP_CONFIG_FILE"] = "/dev/null";
// Secrets of the daemon that must never reach a plugin.
process.env["SERVER_KEY"] = "daemon-server-key-secret";
process.env["DB_PASSWORD"] = "daemon-db-password-secret";

const MiB = 1024 * 1024;
const { logger, lines: logLines } = recordingLogger();
let temp: string;
let entries: PackageEntry[];
let id: string;
let runtime: LocalPluginRuntime;

function options(extra: Partial<CreateLocalRuntimeOptions> = {}): CreateLocalRuntimeOptions {
  return {
    uniqueIdentifier: id,
    entries,
    workingPath: path.join(temp, "work"),
    logger,
    restartBackoffInitialMs: 100,
    startTimeoutMs: 10_000,
    stopGraceMs: 2_000,
    ...extra,
    extraEnv: { ECHO_HEARTBEAT_INTERVAL: "0.5", PLUGIN_TEST_MARKER: "passed-through", ...extra.extraEnv },
  };
}

function tool(name: string, parameters: Record<string, unknown> = {}): InvocationRequest {
  return {
    sessionId: randomUUID(),
    type: "tool",
    action: "invoke_tool",
    userId: "user-1",
    data: { provider: "echo", tool: name, tool_parameters: parameters, credentials: {} },
  };
}

async function collect(events: AsyncIterable<SessionEvent>): Promise<SessionEvent[]> {
  const out: SessionEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

const textOf = (event: SessionEvent | undefined): string =>
  event?.kind === "chunk" ? String((event.data as { message: { text: string } }).message.text) : `<${event?.kind}>`;

async function failure(events: AsyncIterable<SessionEvent>): Promise<{ error: Error; chunks: SessionEvent[]; ms: number }> {
  const started = Date.now();
  const chunks: SessionEvent[] = [];
  try {
    for await (const event of events) chunks.push(event);
  } catch (err) {
    return { error: err as Error, chunks, ms: Date.now() - started };
  }
  throw new Error(`the session ended normally after ${chunks.length} events`);
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  temp = await mkdtemp(path.join(tmpdir(), "runtime-local-"));
  entries = await readEntries(path.join(RUNTIME_FIXTURES, "echo_plugin"));
  id = identifierOf("daemon-tests", "echo_plugin", "0.0.1", entries);
  runtime = await createLocalRuntime(options({ maxLineBytes: 24 * MiB }));
});

afterAll(async () => {
  await runtime?.stop();
  await rm(temp, { recursive: true, force: true });
});

describe("local runtime", () => {
  it("starts at the first heartbeat and streams a session's chunks in order", async () => {
    expect(runtime.status()).toMatchObject({ state: "running", restarts: 0 });
    expect(runtime.status().pid).toBeGreaterThan(0);
    const events = await collect(runtime.invoke(tool("echo", { text: "one two three four" })));
    expect(events.map(textOf)).toEqual(["one", "two", "three", "four"]);
  });

  it("hands the plugin's own error to the caller with its type, message and args", async () => {
    const { error } = await failure(runtime.invoke(tool("fail", { text: "quota" })));
    expect(error).toBeInstanceOf(PluginInvokeError);
    expect(error.message).toBe("the tool failed on purpose: quota");
    expect((error as PluginInvokeError).errorType).toBe("ValueError");
    expect((error as PluginInvokeError).args).toMatchObject({ traceback: expect.stringContaining("Traceback") });
  });

  it("relays a backwards invocation and writes the caller's responses back into the session", async () => {
    const request = tool("storage", { key: "greeting" });
    const events: SessionEvent[] = [];
    for await (const event of runtime.invoke(request)) {
      events.push(event);
      if (event.kind === "invoke") {
        expect(event).toMatchObject({ type: "storage", request: { opt: "get", key: "greeting" } });
        expect(runtime.respond(request.sessionId, event.backwardsRequestId, { event: "response", message: "struct", data: { data: "68656c6c6f" } })).toBe(true);
        expect(runtime.respond(request.sessionId, event.backwardsRequestId, { event: "end" })).toBe(true);
      }
    }
    const echoed = events[1]?.kind === "chunk" ? (events[1].data as { message: { json_object: { responses: unknown[] } } }) : undefined;
    expect(echoed?.message.json_object.responses).toEqual([
      { backwards_request_id: expect.any(String), event: "response", message: "struct", data: { data: "68656c6c6f" } },
      { backwards_request_id: expect.any(String), event: "end", message: "", data: null },
    ]);
    expect(runtime.respond(request.sessionId, "late", { event: "end" })).toBe(false); // the session is over
  });

  it("gives the plugin an allowlisted environment: no daemon secrets, its own variables and extraEnv", async () => {
    const [event] = await collect(runtime.invoke(tool("env")));
    const env = (event?.kind === "chunk" ? (event.data as { message: { json_object: Record<string, string> } }).message.json_object : {}) ?? {};
    expect(env["SERVER_KEY"]).toBeUndefined();
    expect(env["DB_PASSWORD"]).toBeUndefined();
    expect(env["PIP_CONFIG_FILE"]).toBeUndefined();
    expect(env).toMatchObject({ INSTALL_METHOD: "local", PYTHONUNBUFFERED: "1", PLUGIN_TEST_MARKER: "passed-through" });
    expect(env["PATH"]?.split(":")[0]).toBe(path.join(runtime.environment.venvPath, "bin"));
    expect(Object.keys(env).every((k) => /^(PATH|HOME|LANG|LC_ALL|TZ|(HTTPS?|NO)_PROXY|(https?|no)_proxy|SSL_CERT_FILE|REQUESTS_CA_BUNDLE|INSTALL_METHOD|PYTHONUNBUFFERED|ECHO_HEARTBEAT_INTERVAL|PLUGIN_TEST_MARKER|LC_CTYPE)$/.test(k))).toBe(true);
  });

  it("logs the plugin's log events at their level and its stderr as warnings, tagged with the plugin", async () => {
    await collect(runtime.invoke(tool("log", { level: "WARNING", text: "disk almost full" })));
    await collect(runtime.invoke(tool("stderr", { text: "a python warning on stderr" })));
    await until(() => logLines.some((l) => l.stderr === "a python warning on stderr"), 2_000);
    expect(logLines.find((l) => l.msg === "disk almost full")).toMatchObject({ level: 40, plugin: id, source: "plugin" });
    expect(logLines.find((l) => l.stderr === "a python warning on stderr")).toMatchObject({ level: 40, plugin: id, msg: "plugin stderr" });
  });

  it("carries a 20 MB output line intact", async () => {
    const size = 20 * 1000 * 1000;
    const [event] = await collect(runtime.invoke(tool("big", { size })));
    const text = textOf(event);
    expect(text.length).toBe(size);
    expect(/^x+$/.test(text)).toBe(true);
  });

  it("fails only the session whose output line is over the limit; the process and other sessions carry on", async () => {
    const pid = runtime.status().pid;
    const slow = collect(runtime.invoke(tool("slow", { seconds: 0.5 })));
    const { error } = await failure(runtime.invoke(tool("big", { size: 30 * MiB })));
    expect(error).toBeInstanceOf(PluginInvokeError);
    expect(error.message).toMatch(/^plugin output line of \d+ bytes exceeds the 25165824-byte limit/);
    expect((await slow).map(textOf)).toEqual(["slow answer"]);
    expect((await collect(runtime.invoke(tool("echo", { text: "still here" })))).map(textOf)).toEqual(["still", "here"]);
    expect(runtime.status()).toMatchObject({ state: "running", pid, restarts: 0 });
  });

  it("keeps 200 concurrent sessions apart", async () => {
    const answers = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => (await collect(runtime.invoke(tool("echo", { text: `n${i} m${i}` })))).map(textOf)),
    );
    answers.forEach((answer, i) => expect(answer).toEqual([`n${i}`, `m${i}`]));
  });

  it("detaches a session when the caller aborts or stops iterating", async () => {
    const controller = new AbortController();
    const request = tool("slow", { seconds: 2 });
    setTimeout(() => controller.abort(new Error("caller went away")), 100);
    const { error, ms } = await failure(runtime.invoke(request, controller.signal));
    expect(error.message).toBe("caller went away");
    expect(ms).toBeLessThan(1_000);
    expect(runtime.respond(request.sessionId, "x", { event: "end" })).toBe(false);

    const waiting = tool("storage", { key: "k" });
    for await (const event of runtime.invoke(waiting)) {
      expect(event.kind).toBe("invoke");
      break;
    }
    expect(runtime.respond(waiting.sessionId, "x", { event: "end" })).toBe(false);
  });

  it("fails every in-flight session at once when the plugin dies, then restarts it for the next call", async () => {
    const before = runtime.status().pid as number;
    const bystander = failure(runtime.invoke(tool("slow", { seconds: 5 })));
    await new Promise((r) => setTimeout(r, 100)); // let the bystander's request reach the plugin first
    const crash = await failure(runtime.invoke(tool("crash")));
    expect(crash.chunks.map(textOf)).toEqual(["before the crash"]);
    expect(crash.error).toBeInstanceOf(RuntimeUnavailableError);
    expect(crash.error.message).toMatch(new RegExp(`^plugin ${id.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} exited \\(code 3\\) during the invocation`));
    expect(crash.ms).toBeLessThan(1_000);
    const other = await bystander;
    expect(other.error).toBeInstanceOf(RuntimeUnavailableError);
    expect(other.ms).toBeLessThan(1_000);
    expect(isAlive(before)).toBe(false);

    // The next call waits for the automatic restart and succeeds.
    const events = await collect(runtime.invoke(tool("echo", { text: "back again" })));
    expect(events.map(textOf)).toEqual(["back", "again"]);
    expect(runtime.status()).toMatchObject({ state: "running", restarts: 1 });
    expect(runtime.status().pid).not.toBe(before);
  });
});

describe("local runtime limits", () => {
  it("ends an invocation past the execution timeout, and kills and restarts a plugin that goes silent", async () => {
    const limited = await createLocalRuntime(options({ maxExecutionMs: 400, heartbeatTimeoutMs: 1_500 }));
    try {
      expect(limited.environment.reused).toBe(true);
      const { error, ms } = await failure(limited.invoke(tool("slow", { seconds: 3 })));
      expect(error).toBeInstanceOf(DeadlineExceededError);
      expect(error.message).toMatch(/did not finish the invocation within 0\.4 s \(PLUGIN_MAX_EXECUTION_TIMEOUT\)$/);
      expect(ms).toBeLessThan(1_500);

      const frozen = limited.status().pid as number;
      const { error: silent, ms: silentMs } = await failure(limited.invoke(tool("freeze")));
      expect(silent).toBeInstanceOf(DeadlineExceededError); // the execution limit fires first
      expect(silentMs).toBeLessThan(1_000);
      await until(() => limited.status().restarts === 1 && limited.status().state === "running", 8_000);
      expect(isAlive(frozen)).toBe(false);
      expect(logLines.some((l) => l.msg === "plugin sent nothing, not even a heartbeat; killing it")).toBe(true);
    } finally {
      await limited.stop();
    }
  });

  it("rejects at once with the plugin's stderr when it cannot start, leaving no process", async () => {
    const started = Date.now();
    const error = await createLocalRuntime(options({ extraEnv: { ECHO_EXIT_AT_START: "7" } })).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(error).toBeInstanceOf(RuntimeUnavailableError);
    expect(error?.message).toMatch(/exited \(code 7\) before it was ready; stderr: echo plugin refuses to start/);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("rejects a plugin that never heartbeats after the start timeout, leaving no process", async () => {
    const before = new Set(livePluginPids());
    const error = await createLocalRuntime(options({ startTimeoutMs: 500, extraEnv: { ECHO_NO_HEARTBEAT: "1" } })).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(error).toBeInstanceOf(RuntimeUnavailableError);
    expect(error?.message).toMatch(/sent no heartbeat within 0\.5 s of starting/);
    expect(livePluginPids().filter((pid) => !before.has(pid))).toEqual([]);
  });

  it("gives up after consecutive failed restarts and says why", async () => {
    const flag = path.join(temp, "refuse-start");
    const fragile = await createLocalRuntime(options({ maxStartFailures: 2, extraEnv: { ECHO_EXIT_IF_FILE: flag } }));
    try {
      await writeFile(flag, "");
      await failure(fragile.invoke(tool("crash")));
      await until(() => fragile.status().state === "failed", 5_000);
      expect(fragile.status().reason).toMatch(/^gave up after 2 consecutive failed starts; last: .*refuses to start/);
      const { error, ms } = await failure(fragile.invoke(tool("echo", { text: "x" })));
      expect(error).toBeInstanceOf(RuntimeUnavailableError);
      expect(error.message).toMatch(/is failed: gave up/);
      expect(ms).toBeLessThan(100);
    } finally {
      await fragile.stop();
    }
  });

  it("stops with SIGTERM and leaves no process behind", async () => {
    const extra = await createLocalRuntime(options());
    const pid = extra.status().pid as number;
    expect(isAlive(pid)).toBe(true);
    expect(livePluginPids()).toContain(pid);
    const inFlight = failure(extra.invoke(tool("slow", { seconds: 5 })));
    await new Promise((r) => setTimeout(r, 50));
    await extra.stop();
    expect(isAlive(pid)).toBe(false);
    expect(livePluginPids()).not.toContain(pid);
    expect(extra.status()).toMatchObject({ state: "stopped" });
    const { error } = await inFlight;
    expect(error.message).toMatch(/was killed \(the runtime was stopped; signal SIGTERM\)/);
    const after = await failure(extra.invoke(tool("echo", { text: "x" })));
    expect(after.error).toBeInstanceOf(RuntimeUnavailableError);
  });
});
