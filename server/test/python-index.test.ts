import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildDistributions,
  hermeticPipEnv,
  normalizeProjectName,
  projectOfFile,
  startPackageHost,
  startSimpleIndex,
  type LocalServer,
} from "./python-index.js";

/**
 * Proves the offline test infrastructure of the repackager: wheels and sdists built from tiny generated projects,
 * served as a PEP 503 index that real pip resolves, downloads and builds from, and the Marketplace/GitHub stand-in.
 */

const run = promisify(execFile);
const TIMEOUT = 60_000;

let root: string;
let dist: string;
let index: LocalServer;
let built: string[];

/** Run python3 with the hermetic pip environment; returns stdout. */
async function python(args: readonly string[], extra: Record<string, string> = {}): Promise<string> {
  try {
    const { stdout } = await run("python3", [...args], { env: hermeticPipEnv(extra), maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`python3 ${args.join(" ")} failed:\n${e.stdout ?? ""}${e.stderr ?? ""}`, { cause: err });
  }
}

/** Run pip expecting failure; returns its combined output. */
async function pipFails(args: readonly string[]): Promise<string> {
  try {
    await run("python3", ["-m", "pip", ...args], { env: hermeticPipEnv() });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ""}${e.stderr ?? ""}`;
  }
  throw new Error(`pip ${args.join(" ")} unexpectedly succeeded`);
}

/** A wheel's METADATA plus whether every RECORD line's hash and size match the archive. */
interface WheelContents {
  readonly names: string[];
  readonly metadata: string;
  readonly wheel: string;
  readonly recordOk: boolean;
}

async function inspectWheel(wheel: string): Promise<WheelContents> {
  const script = `
import base64, hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = z.namelist()
info = next(n for n in names if n.endswith(".dist-info/METADATA")).rsplit("/", 1)[0]
ok = True
listed = set()
for line in z.read(info + "/RECORD").decode().splitlines():
    path, digest, size = line.rsplit(",", 2)
    listed.add(path)
    if path == info + "/RECORD":
        ok = ok and digest == "" and size == ""
        continue
    data = z.read(path)
    expected = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    ok = ok and digest == expected and int(size) == len(data)
ok = ok and listed == set(names)
print(json.dumps({"names": names, "metadata": z.read(info + "/METADATA").decode(),
                  "wheel": z.read(info + "/WHEEL").decode(), "recordOk": ok}))
`;
  return JSON.parse(await python(["-c", script, wheel])) as WheelContents;
}

async function sha256(file: string): Promise<string> {
  return createHash("sha256").update(await readFile(file)).digest("hex");
}

async function tempDir(name: string): Promise<string> {
  return mkdtemp(path.join(root, `${name}-`));
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "python-index-test-"));
  dist = path.join(root, "dist");
  built = await buildDistributions(dist, [
    { name: "rp-alpha", version: "1.0.0", dependencies: ["rp-beta>=1"] },
    { name: "rp-beta", version: "1.2.0" },
    { name: "rp-native", version: "2.0.0", tag: "py3-none-manylinux2014_x86_64" },
    { name: "rp-native", version: "2.0.0", tag: "py3-none-manylinux2014_aarch64" },
    { name: "rp-source", version: "0.3.0", sdistOnly: true },
    { name: "RP.Big_Thing", version: "0.1.0", paddingBytes: 300_000 },
  ]);
  index = await startSimpleIndex(dist);
}, 120_000);

afterAll(async () => {
  await index?.close();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe("hermeticPipEnv", () => {
  it("drops PIP_* from the environment and points pip at no config file", async () => {
    const saved = { ...process.env };
    process.env.PIP_INDEX_URL = "http://example.invalid/simple";
    process.env.PIP_EXTRA_INDEX_URL = "http://example.invalid/extra";
    process.env.PIP_FIND_LINKS = "/opt/wheels";
    try {
      const env = hermeticPipEnv({ EXTRA_THING: "yes" });
      expect(env.PIP_INDEX_URL).toBeUndefined();
      expect(env.PIP_EXTRA_INDEX_URL).toBeUndefined();
      expect(env.PIP_FIND_LINKS).toBeUndefined();
      expect(env.PIP_CONFIG_FILE).toBe("/dev/null");
      expect(env.PIP_NO_INPUT).toBe("1");
      expect(env.PIP_DISABLE_PIP_VERSION_CHECK).toBe("1");
      expect(env.EXTRA_THING).toBe("yes");
      expect(env.PATH).toBe(process.env.PATH);
    } finally {
      for (const key of ["PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"]) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
    // pip itself then sees only what hermeticPipEnv set: no index, find-links or constraint from this machine.
    const config = await python(["-m", "pip", "config", "list"]);
    expect(config.trim().split("\n").sort()).toEqual([
      ":env:.config-file='/dev/null'",
      ":env:.disable-pip-version-check='1'",
      ":env:.no-cache-dir='1'",
      ":env:.no-input='1'",
    ]);
  }, TIMEOUT);
});

describe("buildDistributions", () => {
  it("writes spec-named wheels and sdists with correct metadata and RECORD", async () => {
    expect(built).toEqual([
      "rp_alpha-1.0.0-py3-none-any.whl",
      "rp_beta-1.2.0-py3-none-any.whl",
      "rp_native-2.0.0-py3-none-manylinux2014_x86_64.whl",
      "rp_native-2.0.0-py3-none-manylinux2014_aarch64.whl",
      "rp_source-0.3.0.tar.gz",
      "rp_big_thing-0.1.0-py3-none-any.whl",
    ]);
    expect((await readdir(dist)).sort()).toEqual([...built].sort());

    const alpha = await inspectWheel(path.join(dist, "rp_alpha-1.0.0-py3-none-any.whl"));
    expect(alpha.recordOk).toBe(true);
    expect(alpha.names.sort()).toEqual([
      "rp_alpha-1.0.0.dist-info/METADATA",
      "rp_alpha-1.0.0.dist-info/RECORD",
      "rp_alpha-1.0.0.dist-info/WHEEL",
      "rp_alpha/__init__.py",
    ]);
    expect(alpha.metadata).toBe("Metadata-Version: 2.1\nName: rp-alpha\nVersion: 1.0.0\nRequires-Dist: rp-beta>=1\n");
    expect(alpha.wheel).toContain("Tag: py3-none-any\n");
    expect(alpha.wheel).toContain("Root-Is-Purelib: true\n");

    const native = await inspectWheel(path.join(dist, "rp_native-2.0.0-py3-none-manylinux2014_aarch64.whl"));
    expect(native.recordOk).toBe(true);
    expect(native.wheel).toContain("Tag: py3-none-manylinux2014_aarch64\n");
    expect(native.wheel).toContain("Root-Is-Purelib: false\n");

    const big = await inspectWheel(path.join(dist, "rp_big_thing-0.1.0-py3-none-any.whl"));
    expect(big.recordOk).toBe(true);
    expect(big.names).toContain("rp_big_thing/padding.bin");
    expect(big.metadata).toContain("Name: RP.Big_Thing\n");
    // Random padding does not compress, so the wheel is at least as big as the padding.
    expect((await stat(path.join(dist, "rp_big_thing-0.1.0-py3-none-any.whl"))).size).toBeGreaterThan(300_000);

    const listing = await run("tar", ["-tzf", path.join(dist, "rp_source-0.3.0.tar.gz")]);
    expect(listing.stdout.trim().split("\n").sort()).toEqual([
      "rp_source-0.3.0/PKG-INFO",
      "rp_source-0.3.0/pyproject.toml",
      "rp_source-0.3.0/rp_source/__init__.py",
      "rp_source-0.3.0/tiny_backend.py",
    ]);
  }, TIMEOUT);

  it("rejects names that are not PEP 508 names", async () => {
    await expect(buildDistributions(path.join(root, "bad"), [{ name: "-bad", version: "1" }])).rejects.toThrow(
      /not a valid project name/,
    );
  });
});

describe("startSimpleIndex", () => {
  it("lists projects and files with sha256 fragments, serves bytes and 404s the rest", async () => {
    const listing = await fetch(`${index.url}/`);
    expect(listing.status).toBe(200);
    const rootPage = await listing.text();
    for (const project of ["rp-alpha", "rp-beta", "rp-native", "rp-source", "rp-big-thing"]) {
      expect(rootPage).toContain(`<a href="${project}/">${project}</a>`);
    }

    const page = await (await fetch(`${index.url}/rp-native/`)).text();
    for (const file of built.filter((f) => f.startsWith("rp_native-"))) {
      expect(page).toContain(`href="../../files/${file}#sha256=${await sha256(path.join(dist, file))}"`);
    }
    expect(page).not.toContain("rp_alpha");

    const file = await fetch(new URL(`../../files/rp_beta-1.2.0-py3-none-any.whl`, `${index.url}/rp-beta/`));
    const beta = await readFile(path.join(dist, "rp_beta-1.2.0-py3-none-any.whl"));
    expect(Buffer.from(await file.arrayBuffer())).toEqual(beta);

    // PEP 503: a non-normalized name redirects to the normalized one.
    const redirect = await fetch(`${index.url}/RP_Big.Thing/`, { redirect: "manual" });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get("location")).toBe("/simple/rp-big-thing/");

    expect((await fetch(`${index.url}/rp-missing/`)).status).toBe(404);
    expect((await fetch(`${index.url.replace(/\/simple$/, "")}/files/nope-1.0-py3-none-any.whl`)).status).toBe(404);
    expect((await fetch(`${index.url.replace(/\/simple$/, "")}/files/..%2Fdist`)).status).toBe(404);
    expect(index.requests).toContain("/simple/rp-native/");
    expect(index.requests).toContain("/files/rp_beta-1.2.0-py3-none-any.whl");
  }, TIMEOUT);

  it("reads the directory at request time", async () => {
    const late = await tempDir("late");
    const lateIndex = await startSimpleIndex(late);
    try {
      expect((await fetch(`${lateIndex.url}/rp-late/`)).status).toBe(404);
      expect(await buildDistributions(late, [{ name: "rp-late", version: "9.0" }])).toEqual([
        "rp_late-9.0-py3-none-any.whl",
      ]);
      const page = await (await fetch(`${lateIndex.url}/rp-late/`)).text();
      expect(page).toContain("../../files/rp_late-9.0-py3-none-any.whl#sha256=");
    } finally {
      await lateIndex.close();
    }
  }, TIMEOUT);

  it("maps file names to PEP 503 projects", () => {
    expect(normalizeProjectName("Foo.Bar__baz")).toBe("foo-bar-baz");
    expect(projectOfFile("rp_native-2.0.0-py3-none-manylinux2014_x86_64.whl")).toBe("rp-native");
    expect(projectOfFile("rp_native-2.0.0-1-py3-none-any.whl")).toBe("rp-native");
    expect(projectOfFile("old-style-name-1.0.tar.gz")).toBe("old-style-name");
    expect(projectOfFile("README.txt")).toBeUndefined();
    expect(projectOfFile("broken.whl")).toBeUndefined();
  });
});

describe("pip against the local index", () => {
  it("(a) downloads a project and its dependency", async () => {
    const before = index.requests.length;
    const out = await tempDir("a");
    await python(["-m", "pip", "download", "-d", out, "--index-url", index.url, "rp-alpha==1.0.0"]);
    expect((await readdir(out)).sort()).toEqual(["rp_alpha-1.0.0-py3-none-any.whl", "rp_beta-1.2.0-py3-none-any.whl"]);
    for (const file of await readdir(out)) {
      expect(await sha256(path.join(out, file))).toBe(await sha256(path.join(dist, file)));
    }
    const requests = index.requests.slice(before);
    expect(requests).toContain("/simple/rp-alpha/");
    expect(requests).toContain("/simple/rp-beta/");
    expect(requests.filter((r) => r.startsWith("/files/")).sort()).toEqual([
      "/files/rp_alpha-1.0.0-py3-none-any.whl",
      "/files/rp_beta-1.2.0-py3-none-any.whl",
    ]);
  }, TIMEOUT);

  it("(b) picks the wheel for the target platform", async () => {
    const target = ["--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"];
    const arm = await tempDir("b-arm");
    await python(["-m", "pip", "download", ...target, "--platform", "manylinux2014_aarch64", "-d", arm,
      "--index-url", index.url, "rp-native==2.0.0"]);
    expect(await readdir(arm)).toEqual(["rp_native-2.0.0-py3-none-manylinux2014_aarch64.whl"]);

    const x86 = await tempDir("b-x86");
    await python(["-m", "pip", "download", ...target, "--platform", "manylinux2014_x86_64", "-d", x86,
      "--index-url", index.url, "rp-native==2.0.0"]);
    expect(await readdir(x86)).toEqual(["rp_native-2.0.0-py3-none-manylinux2014_x86_64.whl"]);

    // No wheel for the platform, or only an sdist: with --only-binary pip finds nothing rather than building.
    const none = await tempDir("b-none");
    const mac = await pipFails(["download", ...target, "--platform", "macosx_11_0_arm64", "-d", none,
      "--index-url", index.url, "rp-native==2.0.0"]);
    expect(mac).toContain("No matching distribution found for rp-native==2.0.0");
    const sdist = await pipFails(["download", ...target, "--platform", "manylinux2014_x86_64", "-d", none,
      "--index-url", index.url, "rp-source==0.3.0"]);
    expect(sdist).toContain("No matching distribution found for rp-source==0.3.0");
    expect(await readdir(none)).toEqual([]);
  }, TIMEOUT);

  it("(c) builds an sdist-only project into a wheel offline and installs it", async () => {
    const wheels = await tempDir("c-wheels");
    await python(["-m", "pip", "wheel", "--no-deps", "-w", wheels, "--index-url", index.url, "rp-source==0.3.0"]);
    expect(await readdir(wheels)).toEqual(["rp_source-0.3.0-py3-none-any.whl"]);
    expect(index.requests).toContain("/files/rp_source-0.3.0.tar.gz");
    const wheel = await inspectWheel(path.join(wheels, "rp_source-0.3.0-py3-none-any.whl"));
    expect(wheel.recordOk).toBe(true);

    const target = await tempDir("c-target");
    await python(["-m", "pip", "install", "--target", target, "--no-index", "--find-links", wheels, "rp-source"]);
    const imported = await python(["-c", "import rp_source; print(rp_source.NAME, rp_source.__version__)"], {
      PYTHONPATH: target,
    });
    expect(imported.trim()).toBe("rp-source 0.3.0");
    expect((await readdir(target)).sort()).toEqual(["rp_source", "rp_source-0.3.0.dist-info"]);
  }, TIMEOUT);
});

describe("startPackageHost", () => {
  it("(d) serves marketplace and GitHub files byte for byte and 404s otherwise", async () => {
    const plugin = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0xff, 0x10]);
    const asset = Buffer.from("github asset bytes\n");
    const host = await startPackageHost({
      marketplace: { "langgenius/openai/0.2.1": plugin },
      github: { "someone/some-plugin/v1.0.0/some-plugin.difypkg": asset },
    });
    try {
      const market = await fetch(`${host.url}/api/v1/plugins/langgenius/openai/0.2.1/download`);
      expect(market.status).toBe(200);
      expect(market.headers.get("content-type")).toBe("application/octet-stream");
      expect(Buffer.from(await market.arrayBuffer())).toEqual(plugin);

      const release = await fetch(`${host.url}/someone/some-plugin/releases/download/v1.0.0/some-plugin.difypkg`);
      expect(release.status).toBe(200);
      expect(Buffer.from(await release.arrayBuffer())).toEqual(asset);

      for (const missing of [
        "/api/v1/plugins/langgenius/openai/0.2.2/download",
        "/api/v1/plugins/langgenius/openai/0.2.1",
        "/someone/some-plugin/releases/download/v1.0.1/some-plugin.difypkg",
        "/someone/some-plugin/releases/tag/v1.0.0",
        "/",
      ]) {
        const res = await fetch(`${host.url}${missing}`);
        expect(res.status, missing).toBe(404);
        expect(res.headers.get("content-type")).toBe("application/json");
        expect(((await res.json()) as { code: string }).code).toBe("not_found");
      }
      expect(host.requests.slice(0, 2)).toEqual([
        "/api/v1/plugins/langgenius/openai/0.2.1/download",
        "/someone/some-plugin/releases/download/v1.0.0/some-plugin.difypkg",
      ]);
      expect(host.requests).toHaveLength(7);
    } finally {
      await host.close();
    }
  }, TIMEOUT);
});
