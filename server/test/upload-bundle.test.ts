import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { create } from "@bufbuild/protobuf";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PluginCategory } from "../../gen/dify/plugin/v1/common_pb.js";
import { UploadBundleRequestSchema, type UploadBundleResponse } from "../../gen/dify/plugin/v1/plugin_service_pb.js";
import { NotFoundError, SignatureError } from "../src/errors.js";
import { buildPackage } from "../src/packaging/build-package.js";
import { DEFAULT_MAX_BUNDLE_BYTES } from "../src/packaging/bundle.js";
import { decodePackage } from "../src/packaging/decode-package.js";
import type { PackageEntry } from "../src/packaging/archive.js";
import { PackageError } from "../src/packaging/errors.js";
import { loadTrustedKeys } from "../src/packaging/trusted-keys.js";
import { writeArchive } from "../src/packaging/write-archive.js";
import { createPackageRegistry, type PackageRegistry } from "../src/plugins/package-registry.js";
import { uploadBundleRpc } from "../src/services/upload-bundle.js";
import { createLocalStorage } from "../src/storage/local-storage.js";
import { buildFixturePackage, fixtureTree } from "./fixture-packages.js";
import { startTestDaemon, type TestDaemon } from "./harness.js";

// UploadBundle end to end against a real daemon's database and storage, through the registry main.ts builds.
const tenantId = "tenant-bundles";
const ctx = { signal: new AbortController().signal } as never;

let daemon: TestDaemon;
let packages: PackageRegistry;
let rpc: ReturnType<typeof uploadBundleRpc>;

beforeAll(async () => {
  daemon = await startTestDaemon({ FORCE_VERIFYING_SIGNATURE: "false" });
  packages = createPackageRegistry({
    db: daemon.daemon.database.db,
    storage: createLocalStorage(daemon.config.storage.root),
    policy: daemon.config.packages,
    trustedKeys: loadTrustedKeys([]),
    logger: pino({ level: "silent" }),
  });
  rpc = uploadBundleRpc({ packages, maxBundleBytes: DEFAULT_MAX_BUNDLE_BYTES });
});
afterAll(async () => {
  await daemon?.stop();
});

/** makeBundle writes a .difybndl: the manifest, then each embedded package under _assets/<name>. */
async function makeBundle(dependencies: string[], embedded: Record<string, Buffer> = {}): Promise<Uint8Array> {
  const manifest = ["name: test-bundle", "version: 0.0.1", "author: daemon-tests", "type: bundle", "dependencies:", ...dependencies, ""].join("\n");
  const entries: PackageEntry[] = [{ name: "manifest.yaml", data: Buffer.from(manifest) }];
  for (const [name, data] of Object.entries(embedded)) entries.push({ name: `_assets/${name}`, data });
  return writeArchive(entries);
}

const pkgDep = (p: string) => [`  - type: package`, `    value:`, `      path: ${p}`].join("\n");
const GITHUB = ["  - type: github", "    value:", "      repo_pattern: daemon-tests/echo:1.2.3/echo.difypkg"].join("\n");
const MARKETPLACE = ["  - type: marketplace", "    value:", "      marketplace_pattern: daemon-tests/model:0.1.0"].join("\n");

/** upload calls the RPC as the transport would; the implementation returns a full response message. */
async function upload(init: { tenantId?: string; bundle: Uint8Array; verifySignature?: boolean }): Promise<UploadBundleResponse> {
  return (await rpc.uploadBundle(create(UploadBundleRequestSchema, { tenantId, ...init }), ctx)) as UploadBundleResponse;
}

async function uniqueIdentifierOf(bytes: Buffer): Promise<string> {
  const limits = { maxPackageBytes: 50 * 1024 * 1024, maxUncompressedBytes: 50 * 1024 * 1024 };
  return (await decodePackage(bytes, { limits, trustedKeys: [] })).uniqueIdentifier;
}

async function expectNotStored(uniqueIdentifier: string): Promise<void> {
  await expect(packages.find(uniqueIdentifier)).rejects.toBeInstanceOf(NotFoundError);
}

/** A fixture package whose manifest claims author `langgenius` (unsigned, so ENFORCE_LANGGENIUS refuses it). */
async function langgeniusPackage(): Promise<Buffer> {
  const tree = await fixtureTree("no-permission-tool");
  try {
    const file = path.join(tree.dir, "manifest.yaml");
    await writeFile(file, (await readFile(file, "utf8")).replace(/^author:.*$/m, "author: langgenius"));
    return (await buildPackage(tree.dir, { maxBytes: 50 * 1024 * 1024 })).bytes;
  } finally {
    await tree.cleanup();
  }
}

describe("UploadBundle", () => {
  it("stores the embedded package and lists every dependency in bundle order", async () => {
    const echo = await buildFixturePackage("echo-tool");
    const uid = await uniqueIdentifierOf(echo);
    const bundle = await makeBundle([GITHUB, pkgDep("echo"), MARKETPLACE], { echo });

    const res = await upload({ bundle });

    const deps = res.dependencies.map((d) => d.dependency);
    expect(deps.map((d) => d.case)).toEqual(["github", "uploadedPackage", "marketplace"]);
    expect(deps[0]?.value).toMatchObject({
      repoAddress: "https://github.com/daemon-tests/echo",
      repo: "daemon-tests/echo",
      release: "1.2.3",
      packages: "echo.difypkg",
    });
    expect(deps[2]?.value).toMatchObject({ organization: "daemon-tests", plugin: "model", version: "0.1.0" });
    expect(deps[1]?.value).toMatchObject({
      uniqueIdentifier: uid,
      manifest: { name: "echo-tool", author: "daemon-tests", version: "0.1.0", category: PluginCategory.TOOL },
    });

    // Now stored: decodable by identifier, as Dify's decode/from_identifier does next.
    const stored = await packages.find(uid);
    expect(stored.declaration).toMatchObject({ name: "echo-tool" });

    // Uploading the same bundle again is fine (storage is idempotent per content).
    await expect(upload({ bundle })).resolves.toBeDefined();
  });

  it("stores none of the embedded packages when one does not decode", async () => {
    const good = await buildFixturePackage("model-provider");
    const goodUid = await uniqueIdentifierOf(good);
    const broken = await writeArchive([{ name: "README.md", data: Buffer.from("no manifest here") }]);
    const bundle = await makeBundle([pkgDep("good"), MARKETPLACE, pkgDep("broken")], { good, broken });

    const err: unknown = await upload({ bundle }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PackageError);
    expect((err as PackageError).problem).toBe("manifest_missing");
    expect((err as Error).message).toContain('"_assets/broken"');
    await expectNotStored(goodUid);

    // The good package on its own goes in: it was kept out only because its bundle was refused.
    await upload({ bundle: await makeBundle([pkgDep("good")], { good }) });
    await expect(packages.find(goodUid)).resolves.toMatchObject({ uniqueIdentifier: goodUid });
  });

  it("enforces ENFORCE_LANGGENIUS_PLUGIN_SIGNATURES on embedded packages before storing any", async () => {
    const good = await buildFixturePackage("agent-strategy");
    const goodUid = await uniqueIdentifierOf(good);
    const claimed = await langgeniusPackage();
    const bundle = await makeBundle([pkgDep("good"), pkgDep("claimed")], { good, claimed });

    const err: unknown = await upload({ bundle }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SignatureError);
    expect((err as Error).message).toMatch(/^plugin installation blocked: /);
    expect((err as Error).message).toContain('"_assets/claimed"');
    await expectNotStored(goodUid);
    await expectNotStored(await uniqueIdentifierOf(claimed));
  });

  it("refuses unsigned embedded packages when verify_signature is set, storing none", async () => {
    const good = await buildFixturePackage("no-permission-tool");
    const bundle = await makeBundle([pkgDep("good")], { good });
    const err: unknown = await upload({ bundle, verifySignature: true })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SignatureError);
    expect((err as Error).message).toContain("bad signature");
    await expectNotStored(await uniqueIdentifierOf(good));
  });

  it("refuses an empty request and a malformed bundle", async () => {
    await expect(upload({ bundle: new Uint8Array() })).rejects.toThrow(/bundle is empty/);
    await expect(upload({ tenantId: "", bundle: new Uint8Array([1]) })).rejects.toThrow(
      /tenant_id is required/,
    );
    const bad = await makeBundle(["  - type: npm", "    value: {}"]);
    await expect(upload({ bundle: bad })).rejects.toMatchObject({
      problem: "invalid_manifest",
      detail: { file: "manifest.yaml", field: "dependencies[0].type" },
    });
  });
});
