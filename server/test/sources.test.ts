import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDaemonClients, type DaemonClients } from "../../clients/client.js";
import { InstallTaskStatus } from "../../gen/dify/plugin/v1/install_pb.js";
import { packageChecksum } from "../src/packaging/checksum.js";
import { decodeArchive } from "../src/packaging/decode.js";
import { buildFixturePackage } from "./fixture-packages.js";
import { TEST_SERVER_KEY, startTestDaemon, type TestDaemon } from "./harness.js";

// Installs from the Marketplace and from GitHub releases, against a local server standing in for both.
let daemon: TestDaemon;
let clients: DaemonClients;
let server: Server;
let echo: Buffer;
let echoIdentifier: string;
const requests: string[] = [];

beforeAll(async () => {
  process.env.PIP_CONFIG_FILE = "/dev/null";
  echo = await buildFixturePackage("echo-tool");
  const entries = (await decodeArchive(echo, { maxPackageBytes: 1 << 26, maxUncompressedBytes: 1 << 26 })).entries;
  echoIdentifier = `daemon-tests/echo-tool:0.1.0@${packageChecksum(entries)}`;
  server = createServer((req, res) => {
    requests.push(req.url ?? "");
    const url = new URL(req.url ?? "/", "http://x");
    const served =
      url.pathname === "/api/v1/plugins/daemon-tests/echo-tool/0.1.0/download" ||
      // Serves echo-tool whatever identifier is asked for: a wrong (or tampered) answer must be caught.
      url.pathname === "/api/v1/plugins/download" ||
      url.pathname === "/daemon-tests/echo/releases/download/v0.1.0/echo-tool.difypkg";
    if (!served) return void res.writeHead(404, { "content-type": "text/html" }).end("<html>not found</html>");
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(echo.length) }).end(echo);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  daemon = await startTestDaemon({ FORCE_VERIFYING_SIGNATURE: "false", MARKETPLACE_API_URL: base, GITHUB_API_URL: base });
  clients = createDaemonClients({ baseUrl: daemon.baseUrl, apiKey: TEST_SERVER_KEY, protocol: "connect-binary", httpVersion: "2" });
}, 60_000);

afterAll(async () => {
  await daemon?.stop();
  await new Promise((resolve) => server?.close(resolve));
});

async function finish(tenantId: string, taskId: string) {
  let last;
  for await (const { task } of clients.plugins.watchInstallTask({ tenantId, taskId })) last = task;
  return last!;
}

describe("installing from a source", () => {
  it("downloads from the Marketplace by author/name/version, verifies, and installs", async () => {
    const tenantId = "marketplace-tenant";
    const started = await clients.plugins.installFromMarketplace({ tenantId, plugin: { case: "ref", value: { author: "daemon-tests", name: "echo-tool", version: "0.1.0" } } });
    expect(started.pluginUniqueIdentifier).toBe(echoIdentifier);
    expect((await finish(tenantId, started.taskId)).status).toBe(InstallTaskStatus.SUCCESS);
    const [installation] = (await clients.plugins.listInstallations({ tenantId })).installations;
    expect(installation).toMatchObject({ pluginUniqueIdentifier: echoIdentifier, source: "marketplace" });
    expect(requests).toContain("/api/v1/plugins/daemon-tests/echo-tool/0.1.0/download");
  });

  it("downloads a GitHub release asset (repository URL as users paste it) and installs", async () => {
    const tenantId = "github-tenant";
    const started = await clients.plugins.installFromGithub({
      tenantId,
      asset: { repo: "https://github.com/daemon-tests/echo", release: "v0.1.0", asset: "echo-tool.difypkg" },
    });
    expect((await finish(tenantId, started.taskId)).status).toBe(InstallTaskStatus.SUCCESS);
    const [installation] = (await clients.plugins.listInstallations({ tenantId })).installations;
    expect(installation?.source).toBe("github");
    expect(installation?.meta).toEqual({ repo: "https://github.com/daemon-tests/echo", version: "v0.1.0", package: "echo-tool.difypkg" });
  });

  it("refuses what the source does not have with the HTTP status, not a zip error", async () => {
    const err = ConnectError.from(
      await clients.plugins
        .installFromGithub({ tenantId: "t", asset: { repo: "daemon-tests/echo", release: "v9", asset: "echo-tool.difypkg" } })
        .catch((e: unknown) => e),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("answered HTTP 404");
  });

  it("refuses a Marketplace package whose identifier is not the one asked for", async () => {
    const wrong = echoIdentifier.replace(/@.*/, `@${"0".repeat(64)}`);
    const err = ConnectError.from(
      await clients.plugins.installFromMarketplace({ tenantId: "t", plugin: { case: "pluginUniqueIdentifier", value: wrong } }).catch((e: unknown) => e),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe(`plugin unique identifier mismatch: expected ${wrong}, the package is ${echoIdentifier}`);
    const right = await clients.plugins.installFromMarketplace({ tenantId: "uid-tenant", plugin: { case: "pluginUniqueIdentifier", value: echoIdentifier } });
    expect((await finish("uid-tenant", right.taskId)).status).toBe(InstallTaskStatus.SUCCESS);
  });
});
