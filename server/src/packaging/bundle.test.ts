import { describe, expect, it } from "vitest";
import { decodeBundle, DEFAULT_MAX_BUNDLE_BYTES } from "./bundle.js";
import { PackageError } from "./errors.js";
import { writeArchive } from "./write-archive.js";

const limits = { maxPackageBytes: DEFAULT_MAX_BUNDLE_BYTES, maxUncompressedBytes: DEFAULT_MAX_BUNDLE_BYTES };
const PKG = Buffer.from("stand-in package bytes: decodeBundle does not decode embedded packages");

function bundleManifest(dependencies: string): string {
  return `name: demo\nversion: 0.0.1\nauthor: someone\ntype: bundle\nlabels:\n  en_US: Demo\ndependencies:\n${dependencies}`;
}

const GOOD_DEPENDENCIES = [
  "  - type: github",
  "    value:",
  "      repo_pattern: langgenius/openai:0.0.1/openai.difypkg",
  "  - type: marketplace",
  "    value:",
  "      marketplace_pattern: langgenius/anthropic:^0.1.0",
  "  - type: package",
  "    value:",
  "      path: 0123",
  "",
].join("\n");

async function bundle(files: Record<string, string | Buffer>): Promise<Buffer> {
  return writeArchive(Object.entries(files).map(([name, data]) => ({ name, data: Buffer.from(data) })));
}

async function refusal(bytes: Buffer): Promise<PackageError> {
  const err: unknown = await decodeBundle(bytes, limits).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PackageError);
  return err as PackageError;
}

describe("decodeBundle", () => {
  it("lists the dependencies in order, with the embedded package's bytes", async () => {
    const decoded = await decodeBundle(await bundle({ "manifest.yaml": bundleManifest(GOOD_DEPENDENCIES), "_assets/0123": PKG }), limits);
    expect(decoded).toMatchObject({ name: "demo", version: "0.0.1", author: "someone" });
    expect(decoded.dependencies).toEqual([
      {
        type: "github",
        repoPattern: "langgenius/openai:0.0.1/openai.difypkg",
        repoAddress: "https://github.com/langgenius/openai",
        repo: "langgenius/openai",
        release: "0.0.1",
        packages: "openai.difypkg",
      },
      { type: "marketplace", marketplacePattern: "langgenius/anthropic:^0.1.0", organization: "langgenius", plugin: "anthropic", version: "^0.1.0" },
      // `0123` would be the number 123 in YAML; Go reads it into a string field verbatim.
      { type: "package", path: "0123", file: "_assets/0123", bytes: PKG },
    ]);
  });

  it("accepts a bundle without dependencies", async () => {
    const decoded = await decodeBundle(await bundle({ "manifest.yaml": "name: empty\ntype: bundle\n" }), limits);
    expect(decoded.dependencies).toEqual([]);
  });

  it("refuses a bundle without manifest.yaml at its root", async () => {
    const err = await refusal(await bundle({ "demo/manifest.yaml": bundleManifest(GOOD_DEPENDENCIES), "_assets/0123": PKG }));
    expect(err.problem).toBe("manifest_missing");
    expect(err.detail.file).toBe("manifest.yaml");
  });

  it("refuses a dependency of an unknown type, naming the field", async () => {
    const deps = GOOD_DEPENDENCIES.replace("type: marketplace", "type: pypi");
    const err = await refusal(await bundle({ "manifest.yaml": bundleManifest(deps), "_assets/0123": PKG }));
    expect(err.problem).toBe("invalid_manifest");
    expect(err.detail).toEqual({ file: "manifest.yaml", field: "dependencies[1].type" });
    expect(err.message).toContain("github, marketplace, package");
  });

  it("refuses a package dependency whose file is not in _assets/", async () => {
    const err = await refusal(await bundle({ "manifest.yaml": bundleManifest(GOOD_DEPENDENCIES), "0123": PKG }));
    expect(err.problem).toBe("missing_file");
    expect(err.detail).toEqual({ file: "manifest.yaml", field: "dependencies[2].value.path" });
    expect(err.message).toContain('"_assets/0123"');
  });

  it("refuses incomplete patterns and missing values", async () => {
    const github = GOOD_DEPENDENCIES.replace("langgenius/openai:0.0.1/openai.difypkg", "langgenius/openai");
    expect((await refusal(await bundle({ "manifest.yaml": bundleManifest(github), "_assets/0123": PKG }))).detail.field).toBe(
      "dependencies[0].value.repo_pattern",
    );
    const noPath = GOOD_DEPENDENCIES.replace("path: 0123", "other: x");
    const err = await refusal(await bundle({ "manifest.yaml": bundleManifest(noPath), "_assets/0123": PKG }));
    expect(err).toMatchObject({ problem: "invalid_manifest", detail: { field: "dependencies[2].value.path" } });
  });

  it("refuses a package manifest uploaded as a bundle", async () => {
    const err = await refusal(await bundle({ "manifest.yaml": "name: x\ntype: plugin\nversion: 0.0.1\n" }));
    expect(err).toMatchObject({ problem: "invalid_manifest", detail: { field: "type" } });
  });

  it("speaks of the bundle in container errors, and applies the size limit", async () => {
    const notZip = await refusal(Buffer.from("<html>error</html>"));
    expect(notZip.problem).toBe("not_zip");
    expect(notZip.message).toContain("not a valid difybndl");
    const bytes = await bundle({ "manifest.yaml": bundleManifest(GOOD_DEPENDENCIES), "_assets/0123": PKG });
    const err: unknown = await decodeBundle(bytes, { maxPackageBytes: 100, maxUncompressedBytes: 100 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ problem: "too_large" });
    expect((err as Error).message).toMatch(/^bundle is too large/);
  });
});
