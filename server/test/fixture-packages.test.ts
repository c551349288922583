import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { decodePackage } from "../src/packaging/decode-package.js";
import { buildPackage } from "../src/packaging/build-package.js";
import { buildFixturePackage, FIXTURE_PLUGINS, fixtureTree } from "./fixture-packages.js";

// Every fixture plugin must package under the CLI packager's strict rules and declare what the end-to-end tests use.
const LIMITS = { maxPackageBytes: 1 << 26, maxUncompressedBytes: 1 << 26 };

async function declarationOf(name: string, options: { version?: string } = {}) {
  const tree = await fixtureTree(name, options);
  try {
    return (await buildPackage(tree.dir, { maxBytes: 50 * 1024 * 1024 })).declaration;
  } finally {
    await tree.cleanup();
  }
}

describe("fixture plugin packages", () => {
  it("echo-tool: tool provider echo with every test tool and the storage and llm permissions", async () => {
    const d = await declarationOf("echo-tool");
    expect(d).toMatchObject({ author: "daemon-tests", name: "echo-tool", version: "0.1.0", category: "tool" });
    expect(d.meta.runner).toMatchObject({ language: "python", version: "3.11", entrypoint: "main" });
    expect(d.resource.permission).toMatchObject({
      tool: { enabled: true },
      storage: { enabled: true, size: 1048576 },
      model: { enabled: true, llm: true },
    });
    expect(d.tool?.identity.name).toBe("echo");
    expect(d.tool?.tools.map((t) => t.identity.name)).toEqual([
      ...["echo", "shout", "kinds", "big", "fail", "slow", "crash", "env", "storage", "ask_llm", "version"],
    ]);
  });

  it("echo-tool at another version: only the manifest's top-level version changes", async () => {
    const d = await declarationOf("echo-tool", { version: "0.2.0" });
    expect(d).toMatchObject({ name: "echo-tool", version: "0.2.0" });
    expect(d.meta.version).toBe("0.0.1");
  });

  it("no-permission-tool: storage and ask_llm tools, with neither storage nor model permission", async () => {
    const d = await declarationOf("no-permission-tool");
    expect(d).toMatchObject({ author: "daemon-tests", name: "no-permission-tool", category: "tool" });
    expect(d.tool?.identity.name).toBe("noperm");
    expect(d.tool?.tools.map((t) => t.identity.name)).toEqual(["storage", "ask_llm"]);
    expect(d.resource.permission?.storage).toBeUndefined();
    expect(d.resource.permission?.model).toBeUndefined();
  });

  it("model-provider: provider fixture with an llm, a text embedding and a rerank model", async () => {
    const d = await declarationOf("model-provider");
    expect(d).toMatchObject({ author: "daemon-tests", name: "fixture-models", category: "model" });
    expect(d.model?.provider).toBe("fixture");
    expect(d.model?.supported_model_types).toEqual(["llm", "text-embedding", "rerank"]);
    expect(d.model?.position).toEqual({ llm: ["fixture-llm"] });
    const models = Object.fromEntries((d.model?.models ?? []).map((m) => [m.model, m.model_type]));
    expect(models).toEqual({ "fixture-llm": "llm", "fixture-embed": "text-embedding", "fixture-rerank": "rerank" });
    const llm = d.model?.models.find((m) => m.model === "fixture-llm");
    expect(llm?.pricing).toEqual({ input: "0.5", output: "1.5", unit: "0.001", currency: "USD" });
    expect(llm?.parameter_rules.map((r) => r.name)).toEqual(["temperature", "max_tokens"]);
  });

  it("agent-strategy: provider fixture-agent with the echo-agent strategy", async () => {
    const d = await declarationOf("agent-strategy");
    expect(d).toMatchObject({ author: "daemon-tests", name: "fixture-agent", category: "agent-strategy" });
    expect(d.agent_strategy?.identity.name).toBe("fixture-agent");
    expect(d.agent_strategy?.strategies.map((s) => s.identity.name)).toEqual(["echo-agent"]);
  });

  it.each(FIXTURE_PLUGINS)("%s: the package decodes and carries main.py, mini_sdk.py and its icon", async (name) => {
    const bytes = await buildFixturePackage(name);
    const decoded = await decodePackage(bytes, { limits: LIMITS, trustedKeys: [] });
    expect(decoded.identifier).toMatchObject({ author: "daemon-tests" });
    const names = decoded.archive.entries.map((e) => e.name);
    expect(names).toEqual(
      expect.arrayContaining(["manifest.yaml", "main.py", "mini_sdk.py", "requirements.txt", "_assets/icon.svg"]),
    );
    expect(names.some((n) => n.includes("__pycache__") || n.endsWith(".pyc"))).toBe(false);
    const sdk = decoded.archive.entries.find((e) => e.name === "mini_sdk.py");
    expect(sdk?.data).toEqual(await readFile(path.resolve(import.meta.dirname, "fixtures/plugins/_shared/mini_sdk.py")));
  });

  it("cleans up its temporary tree and refuses unknown fixtures", async () => {
    const tree = await fixtureTree("agent-strategy");
    await tree.cleanup();
    await expect(stat(tree.dir)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(fixtureTree("nope")).rejects.toThrow(/no fixture plugin named "nope"/);
  });
});
