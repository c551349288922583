import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDaemonClients } from "../../clients/client.js";
import { PluginCategory, VerificationCategory } from "../../gen/dify/plugin/v1/common_pb.js";
import { decodeArchive } from "../src/packaging/decode.js";
import { REPO_ROOT, TEST_SERVER_KEY, startTestDaemon, type TestDaemon } from "./harness.js";

// Packages through the daemon and through the operator CLI, against the signature policy an operator configures.
const PACKAGES = path.resolve(REPO_ROOT, "../shared/fixtures/packages");
const ECHO_TREE = path.join(REPO_ROOT, "server/test/fixtures/plugins/echo-tool");
const run = promisify(execFile);
const tenantId = "tenant-packages";
const ECHO_TOOLS = ["echo", "shout", "kinds", "big", "fail", "slow", "crash", "env", "storage", "ask_llm", "version"];

let scratch: string;
let keys: { privateFile: string; publicFile: string };
const daemons: TestDaemon[] = [];

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), "packages-test-"));
  const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
  keys = { privateFile: path.join(scratch, "third.private.pem"), publicFile: path.join(scratch, "third.public.pem") };
  await writeFile(keys.privateFile, pair.privateKey.export({ type: "pkcs1", format: "pem" }));
  await writeFile(keys.publicFile, pair.publicKey.export({ type: "pkcs1", format: "pem" }));
});
afterAll(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
  await rm(scratch, { recursive: true, force: true });
});

async function daemonWith(env: Record<string, string>) {
  const daemon = await startTestDaemon(env);
  daemons.push(daemon);
  return createDaemonClients({ baseUrl: daemon.baseUrl, apiKey: TEST_SERVER_KEY, protocol: "connect-binary" });
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [path.join(REPO_ROOT, "clients/cli/bin.mjs"), ...args], { cwd: scratch, timeout: 60_000 });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

async function refusal(promise: Promise<unknown>): Promise<ConnectError> {
  return ConnectError.from(await promise.then(() => new Error("expected a refusal"), (e: unknown) => e));
}

describe("upload with the default policy (FORCE_VERIFYING_SIGNATURE=true)", () => {
  it("accepts the officially signed package as langgenius and serves its icon", async () => {
    const daemon = await daemonWith({});
    const bytes = await readFile(path.join(PACKAGES, "langgenius-agent_0.0.14.difypkg"));
    const uploaded = await daemon.plugins.uploadPackage({ tenantId, package: bytes });
    expect(uploaded.pluginUniqueIdentifier).toBe(
      "langgenius/agent:0.0.14@26958a0e80a10655ce73812bdb7c35a66ce7b16f5ac346d298bda17ff85efd1e",
    );
    expect(uploaded.verification).toBe(VerificationCategory.LANGGENIUS);
    expect(uploaded.declaration?.category).toBe(PluginCategory.AGENT_STRATEGY);
    expect(uploaded.declaration?.verified).toBe(true);

    // The icon now names a stored asset, and the asset is the file from _assets.
    const icon = uploaded.declaration!.icon;
    expect(icon).toMatch(/^[a-f0-9]{64}\.svg$/);
    const asset = await daemon.plugins.getAsset({ tenantId, assetId: icon });
    const archive = await decodeArchive(bytes, { maxPackageBytes: 1 << 26, maxUncompressedBytes: 1 << 26 });
    expect(Buffer.from(asset.data)).toEqual(archive.entries.find((e) => e.name === "_assets/icon.svg")?.data);
    expect(asset.mimeType).toBe("image/svg+xml");

    const decoded = await daemon.plugins.decodePluginFromIdentifier({ tenantId, pluginUniqueIdentifier: uploaded.pluginUniqueIdentifier });
    expect(decoded.declaration).toEqual(uploaded.declaration);
    expect(decoded.verification).toBe(VerificationCategory.LANGGENIUS);
  });

  it("refuses an unsigned package and says how to allow it", async () => {
    const daemon = await daemonWith({});
    const err = await refusal(daemon.plugins.uploadPackage({ tenantId, package: await readFile(path.join(PACKAGES, "dummy_plugin.difypkg")) }));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.rawMessage).toContain("bad signature: the package is not signed");
    expect(err.rawMessage).toContain("FORCE_VERIFYING_SIGNATURE=false");
  });

  it("answers unknown identifiers and assets with not_found, malformed ones with invalid_argument", async () => {
    const daemon = await daemonWith({});
    const missing = await refusal(
      daemon.plugins.decodePluginFromIdentifier({ tenantId, pluginUniqueIdentifier: `a/b:0.0.1@${"0".repeat(64)}` }),
    );
    expect(missing.code).toBe(Code.NotFound);
    expect(missing.rawMessage).toContain("upload it");
    const malformed = await refusal(daemon.plugins.decodePluginFromIdentifier({ tenantId, pluginUniqueIdentifier: "A/B" }));
    expect(malformed.code).toBe(Code.InvalidArgument);
    expect((await refusal(daemon.plugins.getAsset({ tenantId, assetId: "../../etc/passwd" }))).code).toBe(Code.InvalidArgument);
  });
});

describe("a third-party signature", () => {
  it("verifies only when its key is configured", async () => {
    const signed = await cli("sign", path.join(PACKAGES, "dummy_plugin.difypkg"), "--key", keys.privateFile, "-c", "partner", "-o", "dummy.signed.difypkg", "--json");
    expect(signed.code).toBe(0);
    const bytes = await readFile(path.join(scratch, "dummy.signed.difypkg"));

    const strict = await daemonWith({});
    expect((await refusal(strict.plugins.uploadPackage({ tenantId, package: bytes }))).code).toBe(Code.PermissionDenied);

    const listed = await daemonWith({
      THIRD_PARTY_SIGNATURE_VERIFICATION_ENABLED: "true",
      THIRD_PARTY_SIGNATURE_VERIFICATION_PUBLIC_KEYS: keys.publicFile,
    });
    const uploaded = await listed.plugins.uploadPackage({ tenantId, package: bytes });
    expect(uploaded.verification).toBe(VerificationCategory.PARTNER);

    // The key listed but the feature switched off: the key does not count, as in the Go daemon.
    const off = await daemonWith({ THIRD_PARTY_SIGNATURE_VERIFICATION_PUBLIC_KEYS: keys.publicFile });
    expect((await refusal(off.plugins.uploadPackage({ tenantId, package: bytes }))).code).toBe(Code.PermissionDenied);
  });
});

describe("package -> sign -> verify -> decode", () => {
  it("returns the source tree's declaration, without the files .difyignore keeps out", async () => {
    const tree = path.join(scratch, "echo-tool");
    await cp(ECHO_TREE, tree, { recursive: true });
    // What a developer's working copy holds besides the plugin.
    await mkdir(path.join(tree, "__pycache__"));
    await writeFile(path.join(tree, "__pycache__/main.cpython-311.pyc"), "bytecode");
    await writeFile(path.join(tree, "tools/echo.pyc"), "bytecode");
    await writeFile(path.join(tree, ".env"), "SECRET=1");
    await mkdir(path.join(tree, "notes"));
    await writeFile(path.join(tree, "notes/keep.md"), "negations do not re-include, as in the official CLI");

    const built = await cli("package", tree, "-o", "echo.difypkg", "--json");
    expect(built.code, built.stdout).toBe(0);
    expect(JSON.parse(built.stdout)).toMatchObject({ plugin: "daemon-tests/echo-tool:0.1.0", ignoreFile: ".difyignore" });
    expect((await cli("sign", "echo.difypkg", "--key", keys.privateFile, "--json")).code).toBe(0);

    const verified = await cli("verify", "echo.signed.difypkg", "--key", keys.publicFile, "--json");
    expect(verified.code).toBe(0);
    const report = JSON.parse(verified.stdout);
    expect(report.verification).toMatchObject({ verified: true, category: "community" });
    expect(report.providers.tool).toEqual({ name: "echo", tools: ECHO_TOOLS });
    const unverified = await cli("verify", "echo.signed.difypkg", "--json");
    expect(unverified.code).toBe(1);
    expect(JSON.parse(unverified.stdout).verification.verified).toBe(false);

    const bytes = await readFile(path.join(scratch, "echo.signed.difypkg"));
    const names = (await decodeArchive(bytes, { maxPackageBytes: 1 << 26, maxUncompressedBytes: 1 << 26 })).entries.map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(["manifest.yaml", "main.py", "_assets/icon.svg", ".difyignore", ".verification.dify.json"]));
    for (const ignored of ["__pycache__/main.cpython-311.pyc", "tools/echo.pyc", ".env", "notes/keep.md"]) expect(names).not.toContain(ignored);

    const daemon = await daemonWith({
      THIRD_PARTY_SIGNATURE_VERIFICATION_ENABLED: "true",
      THIRD_PARTY_SIGNATURE_VERIFICATION_PUBLIC_KEYS: keys.publicFile,
    });
    const uploaded = await daemon.plugins.uploadPackage({ tenantId, package: bytes });
    const decoded = await daemon.plugins.decodePluginFromIdentifier({ tenantId, pluginUniqueIdentifier: uploaded.pluginUniqueIdentifier });
    expect(decoded.declaration).toMatchObject({
      author: "daemon-tests",
      name: "echo-tool",
      version: "0.1.0",
      label: { enUs: "Echo tool", zhHans: "回声工具" },
      category: PluginCategory.TOOL,
      tags: ["utilities"],
      meta: { arch: ["amd64", "arm64"], runner: { language: "python", version: "3.11", entrypoint: "main" } },
    });
    const tool = decoded.declaration!.tool as { identity: { name: string }; tools: { identity: { name: string } }[] };
    expect(tool.identity.name).toBe("echo");
    expect(tool.tools.map((t) => t.identity.name)).toEqual(ECHO_TOOLS);
  });
});
