import { existsSync, readdirSync, readlinkSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDaemonClients, type DaemonClients } from "../../clients/client.js";
import { InstallTaskStatus } from "../../gen/dify/plugin/v1/install_pb.js";
import { workingDirectoryOf } from "../src/runtimes/local/index.js";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { promisify } from "node:util";
import { buildPackage } from "../src/packaging/build-package.js";
import { buildFixturePackage, fixtureTree } from "./fixture-packages.js";
import { TEST_SERVER_KEY, startTestDaemon, type TestDaemon } from "./harness.js";

// The main job end to end over Connect: real daemon, real Python processes, Postgres when DB_URL is set.
const TENANT_A = "11111111-1111-4111-8111-111111111111";
const TENANT_B = "22222222-2222-4222-8222-222222222222";

let daemon: TestDaemon;
let clients: DaemonClients;
let fakeDify: Server;
let difyCalls: { path: string; body: Record<string, unknown> }[] = [];
const ids: { v1: string; v2: string; noPermission: string } = { v1: "", v2: "", noPermission: "" };

/** A stand-in for Dify's inner API: streams an LLM answer in Dify's length-prefixed frames. */
function frame(payload: unknown): Buffer {
  const data = Buffer.from(JSON.stringify({ data: payload, error: "" }));
  const head = Buffer.alloc(14);
  head[0] = 0x0f;
  head.writeUInt16LE(10, 2);
  head.writeUInt32LE(data.length, 4);
  return Buffer.concat([head, data]);
}

beforeAll(async () => {
  fakeDify = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      difyCalls.push({ path: req.url ?? "", body: JSON.parse(body) as Record<string, unknown> });
      if (req.headers["x-inner-api-key"] !== "inner-key") return void res.writeHead(401).end("bad key");
      res.writeHead(200, { "content-type": "application/octet-stream" });
      for (const piece of ["Hi", " from", " Dify"]) {
        res.write(frame({ model: "fixture-llm", prompt_messages: [], delta: { index: 0, message: { role: "assistant", content: piece } } }));
      }
      res.end();
    });
  });
  await new Promise<void>((resolve) => fakeDify.listen(0, "127.0.0.1", resolve));
  // What must never reach a plugin, present in the daemon's own environment.
  process.env.DB_PASSWORD = "db-password-for-the-daemon-only";
  process.env.SERVER_KEY = TEST_SERVER_KEY;
  process.env.PIP_CONFIG_FILE = "/dev/null";
  daemon = await startTestDaemon({
    FORCE_VERIFYING_SIGNATURE: "false",
    DIFY_INNER_API_URL: `http://127.0.0.1:${(fakeDify.address() as AddressInfo).port}`,
    DIFY_INNER_API_KEY: "inner-key",
    // Nothing answers here: an install that needs an index cannot succeed by accident.
    PIP_MIRROR_URL: "http://127.0.0.1:9/simple",
  });
  clients = createDaemonClients({ baseUrl: daemon.baseUrl, apiKey: TEST_SERVER_KEY, protocol: "connect-binary", httpVersion: "2" });
  const upload = async (bytes: Buffer) => (await clients.plugins.uploadPackage({ tenantId: TENANT_A, package: bytes })).pluginUniqueIdentifier;
  ids.v1 = await upload(await buildFixturePackage("echo-tool"));
  ids.v2 = await upload(await buildFixturePackage("echo-tool", { version: "0.2.0" }));
  ids.noPermission = await upload(await buildFixturePackage("no-permission-tool"));
}, 120_000);

afterAll(async () => {
  await daemon?.stop();
  await new Promise((resolve) => fakeDify?.close(resolve));
  delete process.env.DB_PASSWORD;
  delete process.env.SERVER_KEY;
});

async function installAndWait(tenantId: string, identifier: string) {
  const started = await clients.plugins.installFromIdentifiers({ tenantId, pluginUniqueIdentifiers: [identifier], source: "package" });
  expect(started.allInstalled).toBe(false);
  let last;
  for await (const { task } of clients.plugins.watchInstallTask({ tenantId, taskId: started.taskId })) last = task;
  return last!;
}

async function tool(tenantId: string, name: string, params: Record<string, unknown> = {}, pluginId = "daemon-tests/echo-tool", provider = "echo") {
  const messages = [];
  for await (const { message } of clients.invoke.invokeTool({ tenantId, pluginId, userId: "user-1", provider, tool: name, toolParameters: params as never })) {
    messages.push(message!);
  }
  return messages;
}

async function text(tenantId: string, name: string, params: Record<string, unknown> = {}) {
  return (await tool(tenantId, name, params)).map((m) => (m.message.case === "text" ? m.message.value.text : `<${m.message.case}>`)).join("");
}

/** Plugin processes whose working directory is this package's (read from /proc, as an operator would). */
function processesOf(identifier: string): number[] {
  const dir = workingDirectoryOf(daemon.config.runtime.workingPath, identifier);
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/cwd`) === dir;
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function rowCount(table: "plugin_installations" | "tool_installations", tenantId: string): Promise<number> {
  const rows = await daemon.daemon.database.db.selectFrom(table).select("id").where("tenant_id", "=", tenantId).execute();
  return rows.length;
}

describe("install -> invoke -> upgrade -> invoke -> uninstall", () => {
  it("installs through a task whose progress can be watched", async () => {
    const task = await installAndWait(TENANT_A, ids.v1);
    expect(task.status, task.plugins[0]?.message).toBe(InstallTaskStatus.SUCCESS);
    expect(task.plugins[0]).toMatchObject({ pluginUniqueIdentifier: ids.v1, message: "installed" });
    const { installations } = await clients.plugins.listInstallations({ tenantId: TENANT_A });
    expect(installations.map((i) => i.pluginUniqueIdentifier)).toEqual([ids.v1]);
    expect(processesOf(ids.v1)).toHaveLength(1);
  });

  it("streams every tool message kind, in order", async () => {
    const kinds = (await tool(TENANT_A, "kinds")).map((m) => m.message.case);
    expect(kinds).toEqual(["text", "json", "link", "image", "blobChunk", "blobChunk", "blobChunk", "variable", "log", "retrieverResources"]);
    const messages = await tool(TENANT_A, "kinds");
    const chunks = messages.flatMap((m) => (m.message.case === "blobChunk" ? [m.message.value] : []));
    const blob = Buffer.concat(chunks.map((c) => Buffer.from(c.blob)));
    expect(blob.length).toBe(10_000);
    expect(blob.subarray(0, 4)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    expect(chunks.at(-1)?.end).toBe(true);
    expect(messages[1]?.meta).toBeUndefined();
    expect(chunks[0] && messages.find((m) => m.message.case === "blobChunk")?.meta).toEqual({ mime_type: "image/png" });
  });

  it("keeps the daemon's secrets out of the plugin's environment", async () => {
    const [json] = await tool(TENANT_A, "env");
    const env = json?.message.case === "json" ? (toJson(ValueSchema, json.message.value.jsonObject!) as Record<string, string>) : {};
    expect(env["INSTALL_METHOD"]).toBe("local");
    expect(env).not.toHaveProperty("SERVER_KEY");
    expect(env).not.toHaveProperty("DB_PASSWORD");
    expect(JSON.stringify(env)).not.toContain("db-password-for-the-daemon-only");
  });

  it("passes the plugin's own error to the caller", async () => {
    const err = ConnectError.from(await tool(TENANT_A, "fail").catch((e: unknown) => e));
    expect(err.rawMessage).toBe("ValueError: the fixture was asked to fail");
  });

  it("shares one process between two tenants, and upgrades one of them", async () => {
    expect((await installAndWait(TENANT_B, ids.v1)).status).toBe(InstallTaskStatus.SUCCESS);
    expect(processesOf(ids.v1)).toHaveLength(1);
    const pkg = await daemon.daemon.database.db.selectFrom("plugins").select("refers").where("plugin_unique_identifier", "=", ids.v1).executeTakeFirstOrThrow();
    expect(pkg.refers).toBe(2);

    const upgrade = await clients.plugins.upgradePlugin({ tenantId: TENANT_A, originalPluginUniqueIdentifier: ids.v1, newPluginUniqueIdentifier: ids.v2 });
    let task;
    for await (const { task: t } of clients.plugins.watchInstallTask({ tenantId: TENANT_A, taskId: upgrade.taskId })) task = t;
    expect(task?.plugins[0]?.message).toBe("upgraded");
    expect(await text(TENANT_A, "version")).toBe("0.2.0");
    expect(await text(TENANT_B, "version")).toBe("0.1.0");
  });

  it("uninstalls: the last tenant to leave stops the process and removes its files and rows", async () => {
    const idOf = async (tenantId: string) => (await clients.plugins.listInstallations({ tenantId })).installations[0]!.id;
    await clients.plugins.uninstallPlugin({ tenantId: TENANT_A, pluginInstallationId: await idOf(TENANT_A) });
    expect(processesOf(ids.v2)).toEqual([]);
    expect(existsSync(workingDirectoryOf(daemon.config.runtime.workingPath, ids.v2))).toBe(false);
    expect(await rowCount("plugin_installations", TENANT_A)).toBe(0);
    expect(await rowCount("tool_installations", TENANT_A)).toBe(0);
    // The other tenant keeps working on the old version.
    expect(await text(TENANT_B, "echo", { text: "still here" })).toBe("still here");

    await clients.plugins.uninstallPlugin({ tenantId: TENANT_B, pluginInstallationId: await idOf(TENANT_B) });
    expect(processesOf(ids.v1)).toEqual([]);
    expect(existsSync(workingDirectoryOf(daemon.config.runtime.workingPath, ids.v1))).toBe(false);
    expect(await rowCount("plugin_installations", TENANT_B)).toBe(0);
    const err = ConnectError.from(await tool(TENANT_B, "echo", { text: "x" }).catch((e: unknown) => e));
    expect(err.code).toBe(Code.NotFound);
  });
});

describe("a running plugin", () => {
  beforeAll(async () => {
    expect((await installAndWait(TENANT_A, ids.v1)).status).toBe(InstallTaskStatus.SUCCESS);
  }, 120_000);

  it("fails a stream at once when its process dies, and answers again after the automatic restart", async () => {
    const started = performance.now();
    const err = ConnectError.from(await tool(TENANT_A, "crash").catch((e: unknown) => e));
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(err.code).toBe(Code.Unavailable);
    expect(await text(TENANT_A, "echo", { text: "after restart" })).toBe("after restart");
  });

  it("delivers a 20 MB output intact and stays up", async () => {
    const big = await tool(TENANT_A, "big", { size: 20_000_000 });
    const value = big[0]?.message.case === "text" ? big[0].message.value.text : "";
    expect(value.length).toBe(20_000_000);
    expect(/^x+$/.test(value)).toBe(true);
    expect(await text(TENANT_A, "echo", { text: "ok" })).toBe("ok");
  });

  it("answers 200 concurrent invocations, each to its own caller", async () => {
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => text(TENANT_A, "echo", { text: `call-${i}` })));
    expect(answers).toEqual(Array.from({ length: 200 }, (_, i) => `call-${i}`));
  });

  it("serves plugin storage through backwards invocation", async () => {
    const [json] = await tool(TENANT_A, "storage", { key: "greeting", value: "hello storage" });
    expect(json?.message.case === "json" && toJson(ValueSchema, json.message.value.jsonObject!)).toEqual({ got: "hello storage", deleted: 1 });
  });

  it("forwards an LLM call to Dify's inner API with the session's tenant, and streams the answer back", async () => {
    difyCalls = [];
    expect(await text(TENANT_A, "ask_llm", { query: "hello?" })).toBe("Hi from Dify");
    expect(difyCalls).toHaveLength(1);
    expect(difyCalls[0]?.path).toBe("/inner/api/invoke/llm");
    expect(difyCalls[0]?.body).toMatchObject({ tenant_id: TENANT_A, user_id: "user-1", type: "llm", provider: "fixture" });
  });

  it("refuses backwards invocations the manifest does not permit", async () => {
    expect((await installAndWait(TENANT_A, ids.noPermission)).status).toBe(InstallTaskStatus.SUCCESS);
    const err = ConnectError.from(
      await tool(TENANT_A, "storage", { key: "k", value: "v" }, "daemon-tests/no-permission-tool", "noperm").catch((e: unknown) => e),
    );
    expect(err.rawMessage).toContain("permission denied, you need to enable storage access in plugin manifest");
  });

  it("comes back after a daemon restart, and an interrupted task is resolved", async () => {
    const db = daemon.daemon.database.db;
    const task = await db.insertInto("install_tasks").values({ tenant_id: TENANT_A, total_plugins: 1, status: "running" }).returning("id").executeTakeFirstOrThrow();
    await db
      .insertInto("install_task_plugins")
      .values({ task_id: task.id, position: 0, plugin_unique_identifier: ids.v2, plugin_id: "daemon-tests/echo-tool", source: "package", status: "running" })
      .execute();
    const before = processesOf(ids.v1);
    await daemon.restart();
    clients = createDaemonClients({ baseUrl: daemon.baseUrl, apiKey: TEST_SERVER_KEY, protocol: "connect-binary", httpVersion: "2" });
    expect(before.every((pid) => !existsSync(`/proc/${pid}`) || !processesOf(ids.v1).includes(pid))).toBe(true);

    const { task: resolved } = await clients.plugins.getInstallTask({ tenantId: TENANT_A, taskId: task.id });
    expect(resolved?.status).toBe(InstallTaskStatus.FAILED);
    expect(resolved?.plugins[0]?.message).toContain("the daemon restarted");
    // Relaunch happens in the background; an invocation waits for it.
    await expect.poll(() => text(TENANT_A, "echo", { text: "back" }).catch(() => ""), { timeout: 60_000, interval: 500 }).toBe("back");
  });
});

describe("dependencies", () => {
  const run = promisify(execFile);
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), "lifecycle-deps-"));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  /** The echo-tool plugin renamed, with its own requirements and, optionally, wheels bundled in wheels/. */
  async function packageWith(name: string, requirements: string, wheels: Record<string, Buffer> = {}): Promise<Buffer> {
    const tree = await fixtureTree("echo-tool");
    try {
      const manifest = path.join(tree.dir, "manifest.yaml");
      const { readFile } = await import("node:fs/promises");
      await writeFile(manifest, (await readFile(manifest, "utf8")).replace("name: echo-tool", `name: ${name}`));
      await writeFile(path.join(tree.dir, "requirements.txt"), requirements);
      if (Object.keys(wheels).length > 0) {
        const { mkdir } = await import("node:fs/promises");
        await mkdir(path.join(tree.dir, "wheels"));
        for (const [file, data] of Object.entries(wheels)) await writeFile(path.join(tree.dir, "wheels", file), data);
      }
      return (await buildPackage(tree.dir, { maxBytes: 50 * 1024 * 1024 })).bytes;
    } finally {
      await tree.cleanup();
    }
  }

  it("installs offline from wheels bundled in the package, with the index unreachable", async () => {
    // A wheel built here from a tiny local project, as a repackaged plugin would carry it.
    const project = path.resolve(import.meta.dirname, "fixtures/runtime/tinydep");
    const wheelhouse = path.join(scratch, "wheelhouse");
    await run("python3", ["-m", "pip", "wheel", "--disable-pip-version-check", "--no-index", "--no-deps", "-w", wheelhouse, project], {
      env: { ...process.env, PIP_CONFIG_FILE: "/dev/null" },
    });
    const [wheel] = await readdir(wheelhouse);
    const { readFile } = await import("node:fs/promises");
    const bytes = await packageWith("with-wheels", "tinydep==0.1.0\n", { [wheel!]: await readFile(path.join(wheelhouse, wheel!)) });
    const { pluginUniqueIdentifier } = await clients.plugins.uploadPackage({ tenantId: TENANT_B, package: bytes });
    const task = await installAndWait(TENANT_B, pluginUniqueIdentifier);
    expect(task.status, task.plugins[0]?.message).toBe(InstallTaskStatus.SUCCESS);
    const venvPackages = path.join(workingDirectoryOf(daemon.config.runtime.workingPath, pluginUniqueIdentifier), ".venv/lib");
    const [pythonDir] = await readdir(venvPackages);
    expect(await readdir(path.join(venvPackages, pythonDir!, "site-packages"))).toContain("tinydep");
  }, 120_000);

  it("ends the task failed with pip's message when a dependency cannot be installed, leaving nothing behind", async () => {
    const bytes = await packageWith("broken-deps", "definitely-not-a-real-package==9.9.9\n");
    const { pluginUniqueIdentifier } = await clients.plugins.uploadPackage({ tenantId: TENANT_B, package: bytes });
    const task = await installAndWait(TENANT_B, pluginUniqueIdentifier);
    expect(task.status).toBe(InstallTaskStatus.FAILED);
    expect(task.plugins[0]?.message).toMatch(/definitely-not-a-real-package/);
    const installed = (await clients.plugins.listInstallations({ tenantId: TENANT_B })).installations.map((i) => i.pluginUniqueIdentifier);
    expect(installed).not.toContain(pluginUniqueIdentifier);
    expect(processesOf(pluginUniqueIdentifier)).toEqual([]);
    expect(existsSync(path.join(workingDirectoryOf(daemon.config.runtime.workingPath, pluginUniqueIdentifier), ".venv"))).toBe(false);
  }, 120_000);
});
