import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDaemonClients, type DaemonClients } from "../../clients/client.js";
import { VerificationCategory } from "../../gen/dify/plugin/v1/common_pb.js";
import { InstallTaskStatus } from "../../gen/dify/plugin/v1/install_pb.js";
import { OfflineProofStatus, RepackageOutput, RepackageStage } from "../../gen/dify/plugin/v1/repackage_service_pb.js";
import type { PackageEntry } from "../src/packaging/archive.js";
import { buildPackage } from "../src/packaging/build-package.js";
import { decodeArchive } from "../src/packaging/decode.js";
import { readPrivateKey, readPublicKey, signEntries, verifyArchive } from "../src/packaging/signature.js";
import { loadTrustedKeys } from "../src/packaging/trusted-keys.js";
import { writeArchive } from "../src/packaging/write-archive.js";
import { repackage } from "../src/repackage/repackage.js";
import { fixtureTree } from "./fixture-packages.js";
import { REPO_ROOT, startTestDaemon, TEST_SERVER_KEY, type TestDaemon } from "./harness.js";
import { buildDistributions, hermeticPipEnv, type LocalServer, startPackageHost, startSimpleIndex } from "./python-index.js";

/**
 * The offline repackager end to end, with no network: the dependencies are tiny local projects built into wheels
 * (and one sdist) and served as a PEP 503 index from a directory; a local server stands in for the Marketplace and
 * GitHub; pip never reads this machine's configuration (PIP_CONFIG_FILE=/dev/null), which points at local stores.
 * The daemon that installs the results has its index pointed at a port where nothing listens.
 */

const run = promisify(execFile);
const TENANT = "5a3c1e7e-0000-4000-8000-00000000000a";
const LIMITS = { maxPackageBytes: 100 * 1024 * 1024, maxUncompressedBytes: 100 * 1024 * 1024 };

let scratch: string;
let index: LocalServer;
let host: LocalServer;
let daemon: TestDaemon;
let clients: DaemonClients;
let cacheDir: string;
const keys = { sourcePublic: "", outputPrivate: "", outputPublic: "" };
/** The plugin most tests repackage: echo-tool needing rp-alpha (which needs rp-beta) and rp-source (sdist only). */
let echoPackage: Buffer;
const savedPipConfig = process.env.PIP_CONFIG_FILE;

/** echoWith packages the echo-tool fixture with some files replaced (null removes one). */
async function echoWith(files: Record<string, string | null>): Promise<Buffer> {
  const tree = await fixtureTree("echo-tool");
  try {
    for (const [name, text] of Object.entries(files)) {
      if (text === null) await rm(path.join(tree.dir, name), { force: true });
      else await writeFile(path.join(tree.dir, name), text);
    }
    return (await buildPackage(tree.dir, { maxBytes: 50 * 1024 * 1024 })).bytes;
  } finally {
    await tree.cleanup();
  }
}

/** cli runs `dify-plugin-daemon repackage ...` as an operator would, never failing the promise on a non-zero exit. */
async function cli(args: readonly string[], env: Record<string, string> = {}) {
  const result = await run(process.execPath, [path.join(REPO_ROOT, "clients/cli/bin.mjs"), "repackage", ...args], {
    cwd: scratch,
    env: hermeticPipEnv({
      MARKETPLACE_API_URL: host.url,
      GITHUB_API_URL: host.url,
      PIP_MIRROR_URL: index.url,
      // pip keeps its HTTP cache for https indexes and trusted hosts only; this index is plain http on localhost.
      PIP_EXTRA_ARGS: "--trusted-host 127.0.0.1",
      REPACKAGE_CACHE_DIR: cacheDir,
      ...env,
    }),
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
  return result;
}

async function entriesOf(bytes: Buffer): Promise<readonly PackageEntry[]> {
  return (await decodeArchive(bytes, LIMITS)).entries;
}

const wheelNames = (entries: readonly PackageEntry[]) =>
  entries
    .filter((e) => e.name.startsWith("wheels/"))
    .map((e) => e.name.slice("wheels/".length))
    .sort();

const engineDefaults = () => ({
  suffix: "offline",
  maxPackageBytes: 50 * 1024 * 1024,
  indexUrl: index.url,
  pipExtraArgs: [],
  allowPrerelease: false,
  skipOfflineProof: false,
  cacheDir,
  pythonInterpreter: "python3",
  marketplaceUrl: host.url,
  githubUrl: host.url,
  trustedKeys: loadTrustedKeys([]),
});

async function installAndInvoke(identifier: string): Promise<string> {
  const started = await clients.plugins.installFromIdentifiers({ tenantId: TENANT, pluginUniqueIdentifiers: [identifier], source: "package" });
  let last;
  for await (const { task } of clients.plugins.watchInstallTask({ tenantId: TENANT, taskId: started.taskId })) last = task;
  expect(last?.status, last?.plugins[0]?.message).toBe(InstallTaskStatus.SUCCESS);
  let text = "";
  for await (const { message } of clients.invoke.invokeTool({
    tenantId: TENANT,
    pluginId: "daemon-tests/echo-tool",
    userId: "user-1",
    provider: "echo",
    tool: "echo",
    toolParameters: { text: "offline hello" } as never,
  })) {
    if (message?.message.case === "text") text += message.message.value.text;
  }
  await clients.plugins.uninstallPlugin({ tenantId: TENANT, pluginInstallationId: (await clients.plugins.listInstallations({ tenantId: TENANT })).installations[0]!.id });
  return text;
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), "repackage-test-"));
  cacheDir = path.join(scratch, "cache");
  const dists = path.join(scratch, "index");
  await buildDistributions(dists, [
    { name: "rp-alpha", version: "1.0.0", dependencies: ["rp-beta>=1"] },
    { name: "rp-beta", version: "1.0.0" },
    { name: "rp-beta", version: "1.2.0" },
    { name: "rp-source", version: "0.3.0", sdistOnly: true },
    { name: "rp-native", version: "2.0.0", tag: "py3-none-manylinux2014_x86_64" },
    { name: "rp-native", version: "2.0.0", tag: "py3-none-manylinux2014_aarch64" },
    { name: "rp-xonly", version: "1.0.0", tag: "py3-none-manylinux2014_x86_64" },
    { name: "rp-big", version: "1.0.0", paddingBytes: 1_500_000 },
  ]);
  index = await startSimpleIndex(dists);

  // requirements.txt includes a file of its own, as pip-tools layouts do: the include is packaged and proven too.
  echoPackage = await echoWith({ "requirements.txt": "# what the echo tool needs\n-r requirements-base.txt\nrp-source==0.3.0\n", "requirements-base.txt": "rp-alpha==1.0.0\n" });
  host = await startPackageHost({
    marketplace: { "acme/echo/0.1.0": echoPackage },
    github: { "acme/echo-plugin/v0.1.0/echo.difypkg": echoPackage },
  });
  await writeFile(path.join(scratch, "echo.difypkg"), echoPackage);

  for (const [name, pair] of [
    ["source", generateKeyPairSync("rsa", { modulusLength: 2048 })],
    ["output", generateKeyPairSync("rsa", { modulusLength: 2048 })],
  ] as const) {
    await writeFile(path.join(scratch, `${name}.private.pem`), pair.privateKey.export({ type: "pkcs1", format: "pem" }));
    await writeFile(path.join(scratch, `${name}.public.pem`), pair.publicKey.export({ type: "pkcs1", format: "pem" }));
  }
  keys.sourcePublic = path.join(scratch, "source.public.pem");
  keys.outputPrivate = path.join(scratch, "output.private.pem");
  keys.outputPublic = path.join(scratch, "output.public.pem");

  // The daemon's own pip (installing plugins) must not read this machine's pip configuration either.
  process.env.PIP_CONFIG_FILE = "/dev/null";
  daemon = await startTestDaemon({
    FORCE_VERIFYING_SIGNATURE: "false",
    THIRD_PARTY_SIGNATURE_VERIFICATION_ENABLED: "true",
    THIRD_PARTY_SIGNATURE_VERIFICATION_PUBLIC_KEYS: keys.outputPublic,
    // Nothing answers here: a plugin whose dependencies are not all inside cannot install by accident.
    PIP_MIRROR_URL: "http://127.0.0.1:9/simple",
    // The RepackageService's own settings: the test index, the test Marketplace.
    MARKETPLACE_API_URL: "http://127.0.0.1:9",
    REPACKAGE_CACHE_DIR: path.join(scratch, "daemon-cache"),
    // One run at a time, so that the queueing test sees a second request wait.
    REPACKAGE_MAX_CONCURRENT: "1",
  });
  clients = createDaemonClients({ baseUrl: daemon.baseUrl, apiKey: TEST_SERVER_KEY, protocol: "connect-binary", httpVersion: "2" });
}, 180_000);

afterAll(async () => {
  await daemon?.stop();
  await index?.close();
  await host?.close();
  if (savedPipConfig === undefined) delete process.env.PIP_CONFIG_FILE;
  else process.env.PIP_CONFIG_FILE = savedPipConfig;
  await rm(scratch, { recursive: true, force: true });
});

describe("dify-plugin-daemon repackage", () => {
  it("market, github and local each write <name>-offline.difypkg, which installs with the index unreachable and answers", async () => {
    const out = path.join(scratch, "out");
    const market = await cli(["market", "acme", "echo", "0.1.0", "-o", out, "--json"]);
    expect(market.code, market.stdout + market.stderr).toBe(0);
    // Resolving and downloading share pip's cache: each distribution crossed the network once.
    expect(index.requests.filter((r) => r.startsWith("/files/")).sort()).toEqual([
      "/files/rp_alpha-1.0.0-py3-none-any.whl",
      "/files/rp_beta-1.2.0-py3-none-any.whl",
      "/files/rp_source-0.3.0.tar.gz",
    ]);
    const github = await cli(["github", "https://github.com/acme/echo-plugin", "v0.1.0", "echo.difypkg", "-o", out, "--json"]);
    expect(github.code, github.stdout + github.stderr).toBe(0);
    const local = await cli(["local", "echo.difypkg", "-o", out]);
    expect(local.code, local.stdout + local.stderr).toBe(0);

    expect((await readdir(out)).sort()).toEqual(["acme-echo_0.1.0-offline.difypkg", "echo-offline.difypkg", "echo-v0.1.0-offline.difypkg"]);
    const summary = JSON.parse(market.stdout) as {
      identifier: string;
      proof: { status: string; imported: string[] };
      downloads: { fetched: number; built: number };
      wheels: { files: { name: string }[] }[];
    };
    expect(summary.proof.status).toBe("passed");
    expect(summary.proof.imported).toEqual(["rp_alpha", "rp_beta", "rp_source"]);
    // rp-source has only an sdist: it was built into a wheel on this machine.
    expect(summary.downloads).toEqual({ fetched: 2, fromCache: 0, built: 1 });
    expect(local.stdout).toContain("proof:      passed: installed with no network");

    // The same source gives the same bytes, whichever way it came.
    const bytes = await Promise.all((await readdir(out)).map((f) => readFile(path.join(out, f))));
    expect(new Set(bytes.map((b) => b.toString("base64"))).size).toBe(1);
    const entries = await entriesOf(bytes[0]!);
    expect(wheelNames(entries)).toEqual(["rp_alpha-1.0.0-py3-none-any.whl", "rp_beta-1.2.0-py3-none-any.whl", "rp_source-0.3.0-py3-none-any.whl"]);
    const requirements = entries.find((e) => e.name === "requirements.txt")!.data.toString();
    expect(requirements).toBe("--no-index --find-links=./wheels/\n-r requirements-base.txt\nrp-source==0.3.0\n");
    expect(entries.find((e) => e.name === "requirements-base.txt")!.data.toString()).toBe("rp-alpha==1.0.0\n");

    const { pluginUniqueIdentifier } = await clients.plugins.uploadPackage({ tenantId: TENANT, package: bytes[0]! });
    expect(pluginUniqueIdentifier).toBe(summary.identifier);
    expect(await installAndInvoke(pluginUniqueIdentifier)).toBe("offline hello");
  }, 240_000);

  it("takes every distribution from the shared cache on the next run: nothing is downloaded again", async () => {
    const before = index.requests.length;
    const again = await cli(["local", "echo.difypkg", "-o", path.join(scratch, "again"), "-s", "again", "--json"]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    const summary = JSON.parse(again.stdout) as { downloads: { fetched: number; fromCache: number; built: number } };
    expect(summary.downloads).toEqual({ fetched: 0, fromCache: 3, built: 0 });
    expect(index.requests.slice(before).filter((r) => r.startsWith("/files/"))).toEqual([]);
    expect(await readdir(path.join(scratch, "again"))).toEqual(["echo-again.difypkg"]);
  }, 120_000);

  it("runs through the docker image's entrypoint with the reference tool's command line", async () => {
    // What `docker run -v $PWD/dify-plugin:/app/dify-plugin IMAGE local echo.difypkg` does inside the image.
    const mounted = path.join(scratch, "mounted");
    await rm(mounted, { recursive: true, force: true });
    await mkdir(mounted, { recursive: true });
    await writeFile(path.join(mounted, "echo.difypkg"), echoPackage);
    const result = await run("sh", [path.join(REPO_ROOT, "docker/repackaging-entrypoint.sh"), "-s", "airgap", "local", "echo.difypkg"], {
      cwd: scratch,
      env: hermeticPipEnv({
        OUTPUT_DIR: mounted,
        DIFY_PLUGIN_DAEMON_CLI: `${process.execPath} ${path.join(REPO_ROOT, "clients/cli/bin.mjs")}`,
        PIP_MIRROR_URL: index.url,
        REPACKAGE_CACHE_DIR: cacheDir,
      }),
    });
    expect(result.stdout).toContain(`wrote ${path.join(mounted, "echo-airgap.difypkg")}`);
    expect((await readdir(mounted)).sort()).toEqual(["echo-airgap.difypkg", "echo.difypkg"]);
  }, 120_000);

  it("bundles wheels for two platforms in one package, each dependency once per platform", async () => {
    const bytes = await echoWith({ "requirements.txt": "rp-native==2.0.0\nrp-alpha==1.0.0\n" });
    const outcome = await repackage({
      ...engineDefaults(),
      source: { kind: "bytes", bytes },
      // manylinux_2_28 machines install manylinux2014 wheels too: the x86_64 target must find rp-native's.
      platforms: ["manylinux_2_28_x86_64", "manylinux2014_aarch64"],
    });
    const perPlatform = Object.fromEntries(outcome.wheels.map((w) => [w.platform, w.files.map((f) => f.name).sort()]));
    expect(perPlatform).toEqual({
      manylinux_2_28_x86_64: ["rp_alpha-1.0.0-py3-none-any.whl", "rp_beta-1.2.0-py3-none-any.whl", "rp_native-2.0.0-py3-none-manylinux2014_x86_64.whl"],
      manylinux2014_aarch64: ["rp_alpha-1.0.0-py3-none-any.whl", "rp_beta-1.2.0-py3-none-any.whl", "rp_native-2.0.0-py3-none-manylinux2014_aarch64.whl"],
    });
    // In the package the pure wheels appear once, the platform wheels once each.
    expect(wheelNames(await entriesOf(outcome.bytes))).toEqual([
      "rp_alpha-1.0.0-py3-none-any.whl",
      "rp_beta-1.2.0-py3-none-any.whl",
      "rp_native-2.0.0-py3-none-manylinux2014_aarch64.whl",
      "rp_native-2.0.0-py3-none-manylinux2014_x86_64.whl",
    ]);
    // This x86_64 machine proves the x86_64 half; for the other, markers could only be evaluated for this machine.
    expect(outcome.proof).toMatchObject({ status: "passed", platform: "manylinux_2_28_x86_64" });
    expect(outcome.warnings).toHaveLength(1);
    expect(outcome.warnings[0]).toMatch(/^environment markers in the requirements are evaluated for this machine \(linux_x86_64, CPython 3\.11\), not for manylinux2014_aarch64/);
  }, 120_000);

  it("repackages a plugin without dependencies as it is, with nothing to prove", async () => {
    const bytes = await echoWith({});
    const outcome = await repackage({ ...engineDefaults(), source: { kind: "bytes", bytes }, platforms: [] });
    expect(outcome.wheels.map((w) => w.files.length)).toEqual([0]);
    expect(outcome.proof).toMatchObject({ status: "skipped", message: "the plugin declares no dependencies: nothing to install" });
    const requirements = (await entriesOf(outcome.bytes)).find((e) => e.name === "requirements.txt")!.data.toString();
    expect(requirements).toBe((await entriesOf(bytes)).find((e) => e.name === "requirements.txt")!.data.toString());
  }, 60_000);

  it("fails naming the package, version and platform when a dependency has no wheel for a requested platform", async () => {
    await writeFile(path.join(scratch, "xonly.difypkg"), await echoWith({ "requirements.txt": "rp-xonly==1.0.0\n" }));
    const out = path.join(scratch, "xonly-out");
    const result = await cli(["local", "xonly.difypkg", "-p", "manylinux2014_x86_64", "-p", "manylinux2014_aarch64", "-o", out]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("no wheel of rp-xonly==1.0.0 for manylinux2014_aarch64 / CPython 3.11");
    expect(await readdir(out).catch(() => [])).toEqual([]);
  }, 120_000);

  it("refuses an over-size result with both numbers and what to raise", async () => {
    await writeFile(path.join(scratch, "big.difypkg"), await echoWith({ "requirements.txt": "rp-big==1.0.0\n" }));
    const result = await cli(["local", "big.difypkg", "-o", path.join(scratch, "big-out")], { MAX_PLUGIN_PACKAGE_SIZE: "1000000" });
    expect(result.code).toBe(1);
    const numbers = /the offline package is (\d+) bytes .*, (\d+) bytes .* over MAX_PLUGIN_PACKAGE_SIZE=1000000/.exec(result.stderr);
    expect(numbers, result.stderr).not.toBeNull();
    expect(Number(numbers![1]) - 1_000_000).toBe(Number(numbers![2]));
    expect(Number(numbers![1])).toBeGreaterThan(1_500_000);
    expect(result.stderr).toContain("raise MAX_PLUGIN_PACKAGE_SIZE");
    expect(await readdir(path.join(scratch, "big-out")).catch(() => [])).toEqual([]);
  }, 120_000);

  it("--sign-key: the output verifies with that key as a third-party key, and the summary says the original signature is gone", async () => {
    // The source is signed by a key the repackager trusts (as a daemon would, through the third-party settings).
    const signed = signEntries(await entriesOf(echoPackage), readPrivateKey(await readFile(path.join(scratch, "source.private.pem")), "source"), "partner");
    await writeFile(path.join(scratch, "signed.difypkg"), await writeArchive(signed.entries, signed.comment));
    const out = path.join(scratch, "signed-out");
    const result = await cli(["local", "signed.difypkg", "--sign-key", keys.outputPrivate, "-o", out], {
      THIRD_PARTY_SIGNATURE_VERIFICATION_ENABLED: "true",
      THIRD_PARTY_SIGNATURE_VERIFICATION_PUBLIC_KEYS: keys.sourcePublic,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/source: .*signed, partner/);
    expect(result.stdout).toContain("the original signature no longer applies");
    expect(result.stdout).toContain(`signed as community with ${keys.outputPrivate}`);

    const bytes = await readFile(path.join(out, "signed-offline.difypkg"));
    const archive = await decodeArchive(bytes, LIMITS);
    expect(verifyArchive(archive, [readPublicKey(await readFile(keys.outputPublic), "output")])).toMatchObject({ verified: true, category: "community" });
    expect(verifyArchive(archive, [readPublicKey(await readFile(keys.sourcePublic), "source")]).verified).toBe(false);
    // The daemon trusts the output key as a third-party key: the upload is verified.
    const uploaded = await clients.plugins.uploadPackage({ tenantId: TENANT, package: bytes });
    expect(uploaded.verification).toBe(VerificationCategory.COMMUNITY);
  }, 120_000);
});

describe("RepackageService.Repackage", () => {
  const rpc = () => createDaemonClients({ baseUrl: daemon.baseUrl, apiKey: TEST_SERVER_KEY, protocol: "connect" }).repackage;

  it("repackages a package the daemon already stores, keeping the output in the daemon only", async () => {
    const { pluginUniqueIdentifier } = await clients.plugins.uploadPackage({ tenantId: TENANT, package: echoPackage });
    const kinds: string[] = [];
    let result;
    for await (const { event } of rpc().repackage({
      tenantId: TENANT,
      source: { case: "pluginUniqueIdentifier", value: pluginUniqueIdentifier },
      indexUrl: index.url,
      output: RepackageOutput.STORE,
    })) {
      kinds.push(event.case ?? "?");
      if (event.case === "result") result = event.value;
    }
    expect(kinds).not.toContain("packageChunk");
    expect(kinds.at(-1)).toBe("result");
    expect(result!.sourcePluginUniqueIdentifier).toBe(pluginUniqueIdentifier);
    expect(result!.stored).toBe(true);
    const stored = await clients.plugins.decodePluginFromIdentifier({ tenantId: TENANT, pluginUniqueIdentifier: result!.pluginUniqueIdentifier });
    expect(stored.declaration?.name).toBe("echo-tool");
  }, 120_000);

  it("runs REPACKAGE_MAX_CONCURRENT at once; a request beyond that is told it waits, then runs", async () => {
    const bytes = await echoWith({});
    const messages = async () => {
      const seen: string[] = [];
      for await (const { event } of rpc().repackage({ tenantId: TENANT, source: { case: "packageBytes", value: bytes }, skipOfflineProof: true })) {
        if (event.case === "progress") seen.push(event.value.message);
        if (event.case === "result") seen.push(`result ${event.value.fileName}`);
      }
      return seen;
    };
    const [first, second] = await Promise.all([messages(), messages()]);
    const waited = [first, second].filter((m) => m[0]?.startsWith("waiting for a free repackaging slot (1 runs ahead, REPACKAGE_MAX_CONCURRENT=1)"));
    expect(waited).toHaveLength(1);
    for (const run of [first, second]) expect(run.at(-1)).toBe("result daemon-tests-echo-tool_0.1.0-offline.difypkg");
  }, 120_000);

  it("refuses to sign without a signing key, saying which setting gives it one", async () => {
    const attempt = (async () => {
      for await (const _ of rpc().repackage({ tenantId: TENANT, source: { case: "packageBytes", value: echoPackage }, sign: true })) void _;
    })();
    await expect(attempt).rejects.toMatchObject({ code: Code.FailedPrecondition, rawMessage: expect.stringContaining("REPACKAGE_SIGNING_KEY") });
  });

  it("makes a pyproject.toml + uv.lock plugin offline: streams progress, then the package, then a result; the stored output installs", async () => {
    const pyproject = [
      "[project]",
      'name = "echo-tool"',
      'version = "0.1.0"',
      'requires-python = ">=3.10"',
      'dependencies = ["rp-alpha>=1"]',
      "",
      "[dependency-groups]",
      '# not in the index: were it resolved, the offline install would fail',
      'dev = ["rp-devonly>=1"]',
      "",
      "[tool.uv]",
      'dev-dependencies = ["rp-devonly>=1"]',
      'index-url = "https://pypi.org/simple"',
      "",
    ].join("\n");
    // The lock pins rp-beta 1.0.0 although 1.2.0 is the newest: `uv sync --frozen` would install 1.0.0.
    const lock = [
      "version = 1",
      'requires-python = ">=3.10"',
      "",
      "[[package]]",
      'name = "echo-tool"',
      'version = "0.1.0"',
      'source = { virtual = "." }',
      "",
      "[[package]]",
      'name = "rp-alpha"',
      'version = "1.0.0"',
      'source = { registry = "https://pypi.org/simple" }',
      'wheels = [{ url = "https://files.pythonhosted.org/packages/rp_alpha-1.0.0-py3-none-any.whl" }]',
      "",
      "[[package]]",
      'name = "rp-beta"',
      'version = "1.0.0"',
      'source = { registry = "https://pypi.org/simple" }',
      "",
    ].join("\n");
    const bytes = await echoWith({ "requirements.txt": null, "pyproject.toml": pyproject, "uv.lock": lock });

    const events: string[] = [];
    const chunks: Buffer[] = [];
    let result;
    const repackager = createDaemonClients({ baseUrl: daemon.baseUrl, apiKey: TEST_SERVER_KEY, protocol: "connect" }).repackage;
    for await (const response of repackager.repackage({
      tenantId: TENANT,
      source: { case: "packageBytes", value: bytes },
      indexUrl: index.url,
      output: RepackageOutput.BYTES_AND_STORE,
    })) {
      const event = response.event;
      if (event.case === "progress") events.push(`${RepackageStage[event.value.stage]}`);
      else if (event.case === "packageChunk") {
        expect(Number(event.value.offset)).toBe(chunks.reduce((n, c) => n + c.length, 0));
        chunks.push(Buffer.from(event.value.data));
      } else if (event.case === "result") result = event.value;
    }
    expect(events[0]).toBe("FETCH");
    expect(events).toEqual(expect.arrayContaining(["DECODE", "RESOLVE", "DOWNLOAD", "REWRITE", "PACK", "VERIFY", "STORE"]));
    expect(result).toBeDefined();
    expect(result!.offlineProof?.status).toBe(OfflineProofStatus.PASSED);
    expect(result!.stored).toBe(true);
    expect(result!.fileName).toBe("daemon-tests-echo-tool_0.1.0-offline.difypkg");
    const output = Buffer.concat(chunks);
    expect(output.length).toBe(Number(result!.size));
    expect(result!.wheels[0]?.wheelFiles.sort()).toEqual(["rp_alpha-1.0.0-py3-none-any.whl", "rp_beta-1.0.0-py3-none-any.whl"]);

    const entries = await entriesOf(output);
    const names = entries.map((e) => e.name);
    expect(names).not.toContain("uv.lock");
    const rewritten = entries.find((e) => e.name === "pyproject.toml")!.data.toString();
    expect(rewritten).not.toContain("dependency-groups");
    expect(rewritten).not.toContain("rp-devonly");
    expect(rewritten).not.toContain("pypi.org");
    expect(rewritten).toMatch(/no-index = true/);
    expect(rewritten).toMatch(/find-links = \[\s*"\.\/wheels"\s*\]/);
    // uv locks only for the machine the wheels are for (this one), not for every platform and Python.
    expect(rewritten).toContain(`environments = [ "sys_platform == 'linux' and platform_machine == 'x86_64' and python_version == '3.11'" ]`);
    expect(result!.changes.join("\n")).toMatch(/uv\.lock removed/);
    expect(result!.warnings).toEqual([]);
    expect(entries.find((e) => e.name === "requirements.txt")!.data.toString()).toBe(
      "--no-index --find-links=./wheels/\n# from pyproject.toml [project].dependencies, by the offline repackager\nrp-alpha>=1\n",
    );

    expect(await installAndInvoke(result!.pluginUniqueIdentifier)).toBe("offline hello");
  }, 240_000);
});
