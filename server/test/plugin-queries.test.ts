import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDaemonClients, type DaemonClients } from "../../clients/client.js";
import { PluginCategory, RuntimeType } from "../../gen/dify/plugin/v1/common_pb.js";
import { InstallTaskStatus } from "../../gen/dify/plugin/v1/install_pb.js";
import { buildPackage } from "../src/packaging/build-package.js";
import { buildFixturePackage, fixtureTree } from "./fixture-packages.js";
import { TEST_SERVER_KEY, startTestDaemon, type TestDaemon } from "./harness.js";

// PluginService's read-only RPCs over a real daemon with installed fixture plugins; Postgres when DB_URL is set.
const TENANT_A = "33333333-3333-4333-8333-333333333333";
const TENANT_B = "44444444-4444-4444-8444-444444444444";
const ECHO = "daemon-tests/echo-tool";
const MODELS = "daemon-tests/fixture-models";
const AGENT = "daemon-tests/fixture-agent";
const UNKNOWN_IDENTIFIER = `daemon-tests/nothing:0.0.1@${"0".repeat(64)}`;

let daemon: TestDaemon;
let clients: DaemonClients;
const ids = { echo: "", models: "", agent: "", readme: "", readmeJa: "", notInstalled: "" };
const installationIds: Record<string, string> = {};

/** The echo-tool fixture at another version, with README files added to its tree. */
async function packageWithReadmes(version: string, files: Record<string, string>): Promise<Buffer> {
  const tree = await fixtureTree("echo-tool", { version });
  try {
    for (const [name, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(tree.dir, name)), { recursive: true });
      await writeFile(path.join(tree.dir, name), content);
    }
    return (await buildPackage(tree.dir, { maxBytes: 50 * 1024 * 1024 })).bytes;
  } finally {
    await tree.cleanup();
  }
}

async function installAndWait(tenantId: string, identifier: string): Promise<void> {
  const started = await clients.plugins.installFromIdentifiers({ tenantId, pluginUniqueIdentifiers: [identifier], source: "package" });
  let last;
  for await (const { task } of clients.plugins.watchInstallTask({ tenantId, taskId: started.taskId })) last = task;
  expect(last?.status, last?.plugins[0]?.message).toBe(InstallTaskStatus.SUCCESS);
}

/** The Connect error a call fails with (the test fails if it succeeds). */
async function failure(call: Promise<unknown>): Promise<ConnectError> {
  const outcome = await call.then(
    () => undefined,
    (err: unknown) => ConnectError.from(err),
  );
  if (!outcome) throw new Error("expected the call to fail");
  return outcome;
}

beforeAll(async () => {
  process.env.PIP_CONFIG_FILE = "/dev/null";
  daemon = await startTestDaemon({ FORCE_VERIFYING_SIGNATURE: "false" });
  clients = createDaemonClients({ baseUrl: daemon.baseUrl, apiKey: TEST_SERVER_KEY, protocol: "connect-binary", httpVersion: "2" });
  const upload = async (bytes: Buffer) => (await clients.plugins.uploadPackage({ tenantId: TENANT_A, package: bytes })).pluginUniqueIdentifier;
  ids.echo = await upload(await buildFixturePackage("echo-tool"));
  ids.models = await upload(await buildFixturePackage("model-provider"));
  ids.agent = await upload(await buildFixturePackage("agent-strategy"));
  ids.readme = await upload(
    await packageWithReadmes("0.3.0", { "README.md": "# Echo tool\n", "readme/README_zh_Hans.md": "# 回声工具\n" }),
  );
  ids.readmeJa = await upload(await packageWithReadmes("0.4.0", { "readme/README_ja_JP.md": "# エコー\n" }));
  ids.notInstalled = await upload(await buildFixturePackage("no-permission-tool"));
  // One after the other, so "newest first" has one answer.
  for (const id of [ids.echo, ids.models, ids.agent]) await installAndWait(TENANT_A, id);
  const { installations } = await clients.plugins.listInstallations({ tenantId: TENANT_A });
  for (const i of installations) installationIds[i.pluginId] = i.id;
}, 180_000);

afterAll(async () => {
  await daemon?.stop();
});

describe("tool providers", () => {
  it("lists the tenant's tool providers with the provider declaration", async () => {
    const { providers } = await clients.plugins.listToolProviders({ tenantId: TENANT_A, page: 1, pageSize: 256 });
    expect(providers).toHaveLength(1);
    const [echo] = providers;
    expect(echo).toMatchObject({ tenantId: TENANT_A, pluginId: ECHO, pluginUniqueIdentifier: ids.echo, provider: "echo" });
    expect(echo?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(echo?.createdAt).toBeDefined();
    expect(echo?.meta).toBeUndefined();
    const declaration = echo?.declaration as { identity: { name: string; author: string }; tools: { identity: { name: string } }[] };
    expect(declaration.identity).toMatchObject({ name: "echo", author: "daemon-tests" });
    expect(declaration.tools).toHaveLength(11);
    expect(declaration.tools.map((t) => t.identity.name)).toContain("echo");
  });

  it("pages with the default size and refuses sizes out of range", async () => {
    expect((await clients.plugins.listToolProviders({ tenantId: TENANT_A })).providers).toHaveLength(1);
    expect((await clients.plugins.listToolProviders({ tenantId: TENANT_A, page: 2, pageSize: 1 })).providers).toEqual([]);
    expect((await failure(clients.plugins.listToolProviders({ tenantId: TENANT_A, pageSize: 257 }))).code).toBe(Code.InvalidArgument);
    expect((await failure(clients.plugins.listToolProviders({ tenantId: "" }))).code).toBe(Code.InvalidArgument);
  });

  it("gets one provider by plugin id and short name, or by the full author/name/provider", async () => {
    const { provider } = await clients.plugins.getToolProvider({ tenantId: TENANT_A, pluginId: ECHO, provider: "echo" });
    expect(provider).toMatchObject({ pluginId: ECHO, provider: "echo", pluginUniqueIdentifier: ids.echo });
    expect((provider?.declaration as { tools: unknown[] }).tools).toHaveLength(11);
    const full = await clients.plugins.getToolProvider({ tenantId: TENANT_A, pluginId: "", provider: `${ECHO}/echo` });
    expect(full.provider?.id).toBe(provider?.id);
    const both = await clients.plugins.getToolProvider({ tenantId: TENANT_A, pluginId: ECHO, provider: `${ECHO}/echo` });
    expect(both.provider?.id).toBe(provider?.id);
  });

  it("says what was not found, and what is malformed", async () => {
    const missing = await failure(clients.plugins.getToolProvider({ tenantId: TENANT_A, pluginId: ECHO, provider: "nope" }));
    expect(missing.code).toBe(Code.NotFound);
    expect(missing.rawMessage).toContain(`tool provider ${ECHO}/nope is not installed`);
    expect((await failure(clients.plugins.getToolProvider({ tenantId: TENANT_A, pluginId: MODELS, provider: "echo" }))).code).toBe(Code.NotFound);
    const bad = await failure(clients.plugins.getToolProvider({ tenantId: TENANT_A, pluginId: "Not A Plugin", provider: "echo" }));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage).toContain("is not a plugin id");
    expect((await failure(clients.plugins.getToolProvider({ tenantId: TENANT_A, pluginId: ECHO, provider: "" }))).code).toBe(Code.InvalidArgument);
    expect((await failure(clients.plugins.getToolProvider({ tenantId: TENANT_A, pluginId: "", provider: "echo" }))).code).toBe(Code.InvalidArgument);
    const mismatch = await failure(clients.plugins.getToolProvider({ tenantId: TENANT_A, pluginId: MODELS, provider: `${ECHO}/echo` }));
    expect(mismatch.code).toBe(Code.InvalidArgument);
  });

  it("checks tool existence in request order", async () => {
    const { exists } = await clients.plugins.checkToolsExistence({
      tenantId: TENANT_A,
      providerIds: [
        { pluginId: ECHO, providerName: "echo" },
        { pluginId: ECHO, providerName: "nope" },
        { pluginId: "someone/else", providerName: "echo" },
        { pluginId: MODELS, providerName: "fixture" },
        { pluginId: ECHO, providerName: "echo" },
      ],
    });
    expect(exists).toEqual([true, false, false, false, true]);
    expect((await clients.plugins.checkToolsExistence({ tenantId: TENANT_A, providerIds: [] })).exists).toEqual([]);
    const bad = await failure(clients.plugins.checkToolsExistence({ tenantId: TENANT_A, providerIds: [{ pluginId: "a b", providerName: "echo" }] }));
    expect(bad.code).toBe(Code.InvalidArgument);
  });
});

describe("model, agent strategy, datasource and trigger providers", () => {
  it("lists the model provider with its declaration", async () => {
    const { providers } = await clients.plugins.listModelProviders({ tenantId: TENANT_A, page: 1, pageSize: 256 });
    expect(providers.map((p) => [p.pluginId, p.provider, p.pluginUniqueIdentifier])).toEqual([[MODELS, "fixture", ids.models]]);
    const declaration = providers[0]?.declaration as { provider: string; supported_model_types: string[] };
    expect(declaration.provider).toBe("fixture");
    expect(declaration.supported_model_types).toEqual(["llm", "text-embedding", "rerank"]);
    expect(providers[0]?.meta).toBeUndefined();
  });

  it("lists and gets the agent strategy provider with the plugin meta", async () => {
    const { providers } = await clients.plugins.listAgentStrategyProviders({ tenantId: TENANT_A, page: 1, pageSize: 256 });
    expect(providers.map((p) => [p.pluginId, p.provider])).toEqual([[AGENT, "fixture-agent"]]);
    expect(providers[0]?.meta?.runner).toMatchObject({ language: "python", version: "3.11", entrypoint: "main" });
    expect(providers[0]?.meta?.arch).toEqual(["amd64", "arm64"]);
    const declaration = providers[0]?.declaration as { identity: { name: string }; strategies: unknown[] };
    expect(declaration.identity.name).toBe("fixture-agent");
    expect(declaration.strategies).toHaveLength(1);
    const { provider } = await clients.plugins.getAgentStrategyProvider({ tenantId: TENANT_A, pluginId: AGENT, provider: "fixture-agent" });
    expect(provider?.id).toBe(providers[0]?.id);
    expect(provider?.meta?.version).toBe("0.0.1");
    const missing = await failure(clients.plugins.getAgentStrategyProvider({ tenantId: TENANT_A, pluginId: ECHO, provider: "echo" }));
    expect(missing.code).toBe(Code.NotFound);
    expect(missing.rawMessage).toContain("agent strategy provider");
  });

  it("has no datasource or trigger providers, and says so", async () => {
    expect((await clients.plugins.listDatasourceProviders({ tenantId: TENANT_A })).providers).toEqual([]);
    expect((await clients.plugins.listTriggerProviders({ tenantId: TENANT_A })).providers).toEqual([]);
    const datasource = await failure(clients.plugins.getDatasourceProvider({ tenantId: TENANT_A, pluginId: ECHO, provider: "echo" }));
    expect(datasource.code).toBe(Code.NotFound);
    expect(datasource.rawMessage).toContain(`datasource provider ${ECHO}/echo`);
    const trigger = await failure(clients.plugins.getTriggerProvider({ tenantId: TENANT_A, pluginId: ECHO, provider: "echo" }));
    expect(trigger.code).toBe(Code.NotFound);
    expect(trigger.rawMessage).toContain(`trigger provider ${ECHO}/echo`);
  });

  it("lists model bindings with their installations", async () => {
    const { bindings } = await clients.plugins.listModelBindings({ tenantId: TENANT_A });
    expect(bindings).toHaveLength(1);
    expect(bindings[0]).toMatchObject({
      provider: "fixture",
      installationId: installationIds[MODELS],
      pluginId: MODELS,
      pluginUniqueIdentifier: ids.models,
      runtimeType: RuntimeType.LOCAL,
      source: "package",
      version: "0.1.0",
      verified: false,
    });
  });
});

describe("installations", () => {
  it("batch-gets installations in request order, skipping unknown ids", async () => {
    const { installations } = await clients.plugins.batchGetInstallations({ tenantId: TENANT_A, pluginIds: [MODELS, "someone/else", ECHO, MODELS] });
    expect(installations.map((i) => i.pluginId)).toEqual([MODELS, ECHO]);
    expect(installations[1]).toMatchObject({
      id: installationIds[ECHO],
      tenantId: TENANT_A,
      pluginUniqueIdentifier: ids.echo,
      version: "0.1.0",
      name: "echo-tool",
      source: "package",
      runtimeType: RuntimeType.LOCAL,
      checksum: ids.echo.split("@")[1],
    });
    expect(installations[1]?.declaration?.category).toBe(PluginCategory.TOOL);
    expect((await clients.plugins.batchGetInstallations({ tenantId: TENANT_A, pluginIds: [] })).installations).toEqual([]);
    expect((await failure(clients.plugins.batchGetInstallations({ tenantId: TENANT_A, pluginIds: ["Bad/ID!"] }))).code).toBe(Code.InvalidArgument);
    const tooMany = Array.from({ length: 257 }, (_, i) => `someone/p${i}`);
    expect((await failure(clients.plugins.batchGetInstallations({ tenantId: TENANT_A, pluginIds: tooMany }))).code).toBe(Code.InvalidArgument);
  });

  it("lists installed plugin ids newest first, by category", async () => {
    expect((await clients.plugins.listInstalledPluginIds({ tenantId: TENANT_A })).pluginIds).toEqual([AGENT, MODELS, ECHO]);
    expect((await clients.plugins.listInstalledPluginIds({ tenantId: TENANT_A, category: PluginCategory.TOOL })).pluginIds).toEqual([ECHO]);
    expect((await clients.plugins.listInstalledPluginIds({ tenantId: TENANT_A, category: PluginCategory.MODEL })).pluginIds).toEqual([MODELS]);
    expect((await clients.plugins.listInstalledPluginIds({ tenantId: TENANT_A, category: PluginCategory.AGENT_STRATEGY })).pluginIds).toEqual([AGENT]);
    expect((await clients.plugins.listInstalledPluginIds({ tenantId: TENANT_A, category: PluginCategory.TRIGGER })).pluginIds).toEqual([]);
  });

  it("lists the missing plugins: another version installed, or none", async () => {
    const { missingPlugins } = await clients.plugins.listMissingPlugins({
      tenantId: TENANT_A,
      pluginUniqueIdentifiers: [ids.echo, ids.readme, ids.notInstalled, ids.models, UNKNOWN_IDENTIFIER],
    });
    expect(missingPlugins.map((m) => [m.pluginUniqueIdentifier, m.currentIdentifier])).toEqual([
      [ids.readme, ids.echo],
      [ids.notInstalled, ""],
      [UNKNOWN_IDENTIFIER, ""],
    ]);
    expect((await clients.plugins.listMissingPlugins({ tenantId: TENANT_A, pluginUniqueIdentifiers: [] })).missingPlugins).toEqual([]);
    const bad = await failure(clients.plugins.listMissingPlugins({ tenantId: TENANT_A, pluginUniqueIdentifiers: ["echo-tool"] }));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage).toContain("plugin_unique_identifiers[0]");
  });

  it("tells whether a package is installed by any tenant", async () => {
    expect((await clients.plugins.checkPluginExists({ tenantId: TENANT_A, pluginUniqueIdentifier: ids.echo })).exists).toBe(true);
    expect((await clients.plugins.checkPluginExists({ tenantId: TENANT_B, pluginUniqueIdentifier: ids.echo })).exists).toBe(true);
    // Uploaded but installed nowhere, and never seen.
    expect((await clients.plugins.checkPluginExists({ tenantId: TENANT_A, pluginUniqueIdentifier: ids.readme })).exists).toBe(false);
    expect((await clients.plugins.checkPluginExists({ tenantId: TENANT_A, pluginUniqueIdentifier: UNKNOWN_IDENTIFIER })).exists).toBe(false);
    expect((await failure(clients.plugins.checkPluginExists({ tenantId: TENANT_A, pluginUniqueIdentifier: "nope" }))).code).toBe(Code.InvalidArgument);
  });
});

describe("package contents", () => {
  it("answers NotFound for a package without a README (the fixtures have none)", async () => {
    const err = await failure(clients.plugins.getReadme({ tenantId: TENANT_A, pluginUniqueIdentifier: ids.echo }));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toContain("has no README");
    // Asked again, it is answered from memory the same way.
    expect((await failure(clients.plugins.getReadme({ tenantId: TENANT_A, pluginUniqueIdentifier: ids.echo, language: "ja_JP" }))).code).toBe(Code.NotFound);
  });

  it("returns the README in the language asked, falling back to en_US, then any, and caches them", async () => {
    expect(await clients.plugins.getReadme({ tenantId: TENANT_A, pluginUniqueIdentifier: ids.readme })).toMatchObject({ content: "# Echo tool\n", language: "en_US" });
    expect(await clients.plugins.getReadme({ tenantId: TENANT_A, pluginUniqueIdentifier: ids.readme, language: "zh_Hans" })).toMatchObject({ content: "# 回声工具\n", language: "zh_Hans" });
    expect(await clients.plugins.getReadme({ tenantId: TENANT_A, pluginUniqueIdentifier: ids.readme, language: "pt_BR" })).toMatchObject({ language: "en_US" });
    expect(await clients.plugins.getReadme({ tenantId: TENANT_B, pluginUniqueIdentifier: ids.readmeJa })).toMatchObject({ content: "# エコー\n", language: "ja_JP" });
    const cached = await daemon.daemon.database.db
      .selectFrom("plugin_readmes")
      .select(["plugin_unique_identifier", "language"])
      .orderBy("plugin_unique_identifier")
      .orderBy("language")
      .execute();
    expect(cached.map((r) => [r.plugin_unique_identifier, r.language]).sort()).toEqual(
      [[ids.readme, "en_US"], [ids.readme, "zh_Hans"], [ids.readmeJa, "ja_JP"]].sort(),
    );
  });

  it("refuses a malformed language or identifier and says when the package is unknown", async () => {
    expect((await failure(clients.plugins.getReadme({ tenantId: TENANT_A, pluginUniqueIdentifier: ids.readme, language: "../en" }))).code).toBe(Code.InvalidArgument);
    expect((await failure(clients.plugins.getReadme({ tenantId: TENANT_A, pluginUniqueIdentifier: "x" }))).code).toBe(Code.InvalidArgument);
    const unknown = await failure(clients.plugins.getReadme({ tenantId: TENANT_A, pluginUniqueIdentifier: UNKNOWN_IDENTIFIER }));
    expect(unknown.code).toBe(Code.NotFound);
    expect(unknown.rawMessage).toContain("not stored");
  });

  it("returns one file from inside a stored package", async () => {
    const manifest = await clients.plugins.getPackageFile({ tenantId: TENANT_A, pluginUniqueIdentifier: ids.echo, filePath: "manifest.yaml" });
    expect(Buffer.from(manifest.data).toString("utf8")).toContain("name: echo-tool");
    expect(manifest.mimeType).toBe("application/yaml");
    const icon = await clients.plugins.getPackageFile({ tenantId: TENANT_A, pluginUniqueIdentifier: ids.echo, filePath: "_assets/icon.svg" });
    expect(Buffer.from(icon.data).toString("utf8")).toContain("<svg");
    expect(icon.mimeType).toBe("image/svg+xml");
    const readme = await clients.plugins.getPackageFile({ tenantId: TENANT_B, pluginUniqueIdentifier: ids.readme, filePath: "readme/README_zh_Hans.md" });
    expect(Buffer.from(readme.data).toString("utf8")).toBe("# 回声工具\n");
  });

  it("says which file is missing and refuses paths that leave the package", async () => {
    const missing = await failure(clients.plugins.getPackageFile({ tenantId: TENANT_A, pluginUniqueIdentifier: ids.echo, filePath: "nope.txt" }));
    expect(missing.code).toBe(Code.NotFound);
    expect(missing.rawMessage).toContain("has no file nope.txt");
    for (const filePath of ["", "../manifest.yaml", "/manifest.yaml", "tools/../manifest.yaml", "tools\\echo.yaml"]) {
      expect((await failure(clients.plugins.getPackageFile({ tenantId: TENANT_A, pluginUniqueIdentifier: ids.echo, filePath }))).code, filePath).toBe(Code.InvalidArgument);
    }
    expect((await failure(clients.plugins.getPackageFile({ tenantId: TENANT_A, pluginUniqueIdentifier: UNKNOWN_IDENTIFIER, filePath: "manifest.yaml" }))).code).toBe(Code.NotFound);
  });
});

describe("tenant isolation", () => {
  it("shows another tenant nothing of tenant A's installations", async () => {
    expect((await clients.plugins.listToolProviders({ tenantId: TENANT_B })).providers).toEqual([]);
    expect((await clients.plugins.listModelProviders({ tenantId: TENANT_B })).providers).toEqual([]);
    expect((await clients.plugins.listAgentStrategyProviders({ tenantId: TENANT_B })).providers).toEqual([]);
    expect((await failure(clients.plugins.getToolProvider({ tenantId: TENANT_B, pluginId: ECHO, provider: "echo" }))).code).toBe(Code.NotFound);
    expect((await failure(clients.plugins.getAgentStrategyProvider({ tenantId: TENANT_B, pluginId: AGENT, provider: "fixture-agent" }))).code).toBe(Code.NotFound);
    expect((await clients.plugins.checkToolsExistence({ tenantId: TENANT_B, providerIds: [{ pluginId: ECHO, providerName: "echo" }] })).exists).toEqual([false]);
    expect((await clients.plugins.listModelBindings({ tenantId: TENANT_B })).bindings).toEqual([]);
    expect((await clients.plugins.batchGetInstallations({ tenantId: TENANT_B, pluginIds: [ECHO, MODELS] })).installations).toEqual([]);
    expect((await clients.plugins.listInstalledPluginIds({ tenantId: TENANT_B })).pluginIds).toEqual([]);
    const { missingPlugins } = await clients.plugins.listMissingPlugins({ tenantId: TENANT_B, pluginUniqueIdentifiers: [ids.echo] });
    expect(missingPlugins.map((m) => [m.pluginUniqueIdentifier, m.currentIdentifier])).toEqual([[ids.echo, ""]]);
  });
});
