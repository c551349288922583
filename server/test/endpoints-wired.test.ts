import { cp, mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDaemonClients } from "../../clients/client.js";
import { InstallTaskStatus } from "../../gen/dify/plugin/v1/install_pb.js";
import { buildPackage } from "../src/packaging/build-package.js";
import { TEST_SERVER_KEY, startTestDaemon, type TestDaemon } from "./harness.js";

// The wiring as Dify uses it: endpoint set up through the Dify dialect, then called on the daemon's own
// port at /e/{hook_id}/..., disabled, and the debugging key route.
const FIXTURES = path.resolve(import.meta.dirname, "fixtures/plugins");
const TENANT = "44444444-4444-4444-8444-444444444444";
let daemon: TestDaemon;
let fakeDify: Server;

beforeAll(async () => {
  process.env.PIP_CONFIG_FILE = "/dev/null";
  // Dify's inner API for settings encryption: returns the settings it is given (encryption is Dify's job).
  fakeDify = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const call = JSON.parse(body) as { data?: Record<string, unknown> };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data: { data: call.data ?? {} }, error: "" }));
    });
  });
  await new Promise<void>((resolve) => fakeDify.listen(0, "127.0.0.1", resolve));
  daemon = await startTestDaemon({
    FORCE_VERIFYING_SIGNATURE: "false",
    DIFY_INNER_API_URL: `http://127.0.0.1:${(fakeDify.address() as AddressInfo).port}`,
    DIFY_INNER_API_KEY: "inner",
  });
  const dir = await mkdtemp(path.join(os.tmpdir(), "wired-endpoint-"));
  await cp(path.join(FIXTURES, "endpoint-plugin"), dir, { recursive: true });
  await cp(path.join(FIXTURES, "_shared/mini_sdk.py"), path.join(dir, "mini_sdk.py"));
  const bytes = (await buildPackage(dir, { maxBytes: 50 * 1024 * 1024 })).bytes;
  await rm(dir, { recursive: true, force: true });
  const clients = createDaemonClients({ baseUrl: daemon.baseUrl, apiKey: TEST_SERVER_KEY });
  const { pluginUniqueIdentifier } = await clients.plugins.uploadPackage({ tenantId: TENANT, package: bytes });
  const started = await clients.plugins.installFromIdentifiers({ tenantId: TENANT, pluginUniqueIdentifiers: [pluginUniqueIdentifier] });
  let status;
  for await (const { task } of clients.plugins.watchInstallTask({ tenantId: TENANT, taskId: started.taskId })) status = task?.status;
  expect(status).toBe(InstallTaskStatus.SUCCESS);
  identifier = pluginUniqueIdentifier;
}, 120_000);
let identifier = "";

afterAll(async () => {
  await daemon?.stop();
  await new Promise((resolve) => fakeDify?.close(resolve));
});

async function dify(method: string, route: string, body?: unknown) {
  const res = await fetch(`${daemon.baseUrl}/plugin/${TENANT}/${route}`, {
    method,
    headers: { "X-Api-Key": TEST_SERVER_KEY, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await res.json()) as { code: number; message: string; data: any };
}

describe("endpoints through the daemon's own port", () => {
  it("set up through the Dify dialect, answers on /e/{hook}, and 404s once disabled", async () => {
    const setup = await dify("POST", "endpoint/setup", { user_id: "u1", plugin_unique_identifier: identifier, settings: { api_key: "k", greeting: "hi" }, name: "hook" });
    expect(setup).toEqual({ code: 0, message: "success", data: true });
    const list = await dify("GET", "endpoint/list?page=1&page_size=10");
    const [endpoint] = list.data as { id: string; hook_id: string; enabled: boolean }[];
    expect(endpoint?.enabled).toBe(true);

    const answer = await fetch(`${daemon.baseUrl}/e/${endpoint!.hook_id}/some/path?x=1`);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ method: "GET", path: "/some/path", query: { x: ["1"] } });

    expect(await dify("POST", "endpoint/disable", { endpoint_id: endpoint!.id })).toMatchObject({ code: 0, data: true });
    expect((await fetch(`${daemon.baseUrl}/e/${endpoint!.hook_id}/some/path`)).status).toBe(404);
  });

  it("hands out one debugging key per tenant", async () => {
    const first = await dify("POST", "debugging/key");
    const again = await dify("POST", "debugging/key");
    expect(first.code).toBe(0);
    expect(first.data.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(again.data.key).toBe(first.data.key);
  });
});
