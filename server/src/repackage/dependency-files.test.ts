import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parse } from "smol-toml";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ignoreRules } from "../packaging/ignore-rules.js";
import { declaresRequirements, readDependencySet, withoutIndexOptions, writeOfflineLayout } from "./dependency-files.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "dependency-files-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const write = (name: string, text: string) => writeFile(path.join(dir, name), text);
const read = (name: string) => readFile(path.join(dir, name), "utf8");
const exists = (name: string) => stat(path.join(dir, name)).then(() => true, () => false);

describe("withoutIndexOptions", () => {
  it("drops every option that chooses where pip looks, in both spellings, and keeps the rest", () => {
    const text = [
      "-i https://mirror/simple",
      "--index-url=https://mirror/simple",
      "--extra-index-url https://other/simple",
      "--no-index",
      "-f ./wheels",
      "--find-links=./wheels/",
      "--trusted-host mirror",
      "requests==2.32.0  # http client",
      "-r base.txt",
      "--index-urlish-package==1",
    ].join("\n");
    expect(withoutIndexOptions(text)).toEqual(["requests==2.32.0  # http client", "-r base.txt", "--index-urlish-package==1"]);
  });
});

describe("readDependencySet", () => {
  it("combines requirements.txt (its includes inlined) and pyproject's dependencies and uv indexes", async () => {
    await mkdir(path.join(dir, "reqs"), { recursive: true });
    await write("requirements.txt", "# comment\n\n--index-url https://x/simple\n--extra-index-url https://download.pytorch.org/whl/cpu\nrequests>=2\n-r reqs/extra.txt\n");
    await write("reqs/extra.txt", "-c pins.txt\nnumpy==1.26.4 \\\n    --hash=sha256:aaaa \\\n    --hash=sha256:bbbb\n");
    await write("reqs/pins.txt", "urllib3<3\n");
    await write(
      "pyproject.toml",
      '[project]\nname = "p"\nversion = "1"\ndependencies = ["httpx", \'yarl>=1\']\n[[tool.uv.index]]\nname = "torch"\nurl = "https://download.pytorch.org/whl/cu121"\n',
    );
    const set = await readDependencySet(dir);
    // The plugin's extra indexes stay for resolving (some dependencies only resolve there); its main index goes;
    // includes are read here (relative to the file naming them), continuations joined, hashes dropped.
    expect(set.requirements).toEqual([
      "--extra-index-url https://download.pytorch.org/whl/cu121",
      "--extra-index-url https://download.pytorch.org/whl/cpu",
      "requests>=2",
      "numpy==1.26.4",
      "httpx",
      "yarl>=1",
    ]);
    expect(set.constraints).toEqual(["urllib3<3"]);
    expect(set.requirementsFiles).toEqual(["requirements.txt", path.join("reqs", "extra.txt"), path.join("reqs", "pins.txt")]);
    expect(set.sources).toEqual(["requirements.txt", "pyproject.toml"]);
  });

  it("refuses includes outside the package, naming the file that includes them", async () => {
    await write("requirements.txt", "-r /proc/1/environ\n");
    await expect(readDependencySet(dir)).rejects.toThrow('requirements.txt includes "/proc/1/environ", which is not a file of the package');
    await write("requirements.txt", "-r ../outside.txt\n");
    await expect(readDependencySet(dir)).rejects.toThrow(/not a file of the package/);
    await write("requirements.txt", "-c https://example.com/pins.txt\n");
    await expect(readDependencySet(dir)).rejects.toThrow(/not a file of the package/);
    await write("requirements.txt", "-r requirements.txt\n");
    await expect(readDependencySet(dir)).rejects.toThrow(/includes requirements\.txt again/);
  });

  it("turns uv.lock into constraints: not the project, not path sources, not a package locked twice", async () => {
    await write(
      "uv.lock",
      [
        "version = 1",
        '[[package]]\nname = "plugin"\nversion = "0.1.0"\nsource = { virtual = "." }',
        '[[package]]\nname = "local-lib"\nversion = "1.0"\nsource = { directory = "libs/x" }',
        '[[package]]\nname = "anyio"\nversion = "4.4.0"\nsource = { registry = "https://pypi.org/simple" }',
        '[[package]]\nname = "torch"\nversion = "2.3.0+cpu"\nsource = { registry = "https://download.pytorch.org/whl/cpu" }',
        '[[package]]\nname = "numpy"\nversion = "1.26.4"\nsource = { registry = "https://pypi.org/simple" }',
        '[[package]]\nname = "numpy"\nversion = "2.1.0"\nsource = { registry = "https://pypi.org/simple" }',
      ].join("\n\n"),
    );
    const set = await readDependencySet(dir);
    expect(set.constraints).toEqual(["anyio==4.4.0"]);
    expect(set.sources).toEqual(["uv.lock (as version constraints)"]);
  });

  it("says which file is not TOML", async () => {
    await write("pyproject.toml", "[project\n");
    await expect(readDependencySet(dir)).rejects.toThrow(/pyproject\.toml is not valid TOML/);
  });
});

describe("declaresRequirements", () => {
  it("counts what names something to install, not options, constraints or comments", () => {
    expect(declaresRequirements(["# nothing", "", "--extra-index-url https://x/simple", "-c constraints.txt"])).toBe(false);
    expect(declaresRequirements(["--prefer-binary", "requests"])).toBe(true);
    expect(declaresRequirements(["-r base.txt"])).toBe(true);
  });
});

describe("writeOfflineLayout", () => {
  it("leaves a requirements.txt that installs nothing as it is", async () => {
    await write("requirements.txt", "# stdlib only\n");
    expect(await writeOfflineLayout(dir, await readDependencySet(dir))).toEqual([]);
    expect(await read("requirements.txt")).toBe("# stdlib only\n");
  });

  it("puts the no-index line on top of requirements.txt, once, whatever index options were there", async () => {
    await write("requirements.txt", "--no-index --find-links=./wheels/\n-i https://mirror/simple\nrequests==2.32.0\n");
    await writeOfflineLayout(dir, await readDependencySet(dir));
    expect(await read("requirements.txt")).toBe("--no-index --find-links=./wheels/\nrequests==2.32.0\n");
  });

  it("drops hashes and index options from requirements.txt and the files it includes", async () => {
    await write("requirements.txt", "-r base.txt\nrequests==2.32.0 \\\n    --hash=sha256:aaaa\n");
    await write("base.txt", "--extra-index-url https://x/simple\nidna==3.7 --hash=sha256:bbbb\n");
    const changes = await writeOfflineLayout(dir, await readDependencySet(dir));
    expect(await read("requirements.txt")).toBe("--no-index --find-links=./wheels/\n-r base.txt\nrequests==2.32.0\n");
    expect(await read("base.txt")).toBe("idna==3.7\n");
    expect(changes[0]).toMatch(/^requirements\.txt \(and base\.txt\): installs from \.\/wheels\/ only/);
  });

  it("makes pyproject.toml offline for uv: no dev groups, no indexes, no network sources, find-links, no uv.lock", async () => {
    await write(
      "pyproject.toml",
      [
        "[project]",
        'name = "p"',
        'version = "1"',
        'dependencies = ["anyio"]',
        "[project.optional-dependencies]",
        'gpu = ["torch"]',
        "[dependency-groups]",
        'dev = ["black"]',
        "[tool.uv]",
        'dev-dependencies = ["pytest"]',
        'default-groups = ["dev"]',
        'index-url = "https://pypi.org/simple"',
        "[[tool.uv.index]]",
        'name = "torch"',
        'url = "https://download.pytorch.org/whl/cpu"',
        "[tool.uv.sources]",
        'torch = { index = "torch" }',
        'mylib = { path = "libs/mylib" }',
        'gitdep = { git = "https://github.com/a/b" }',
        "[tool.ruff]",
        "line-length = 120",
      ].join("\n"),
    );
    await write("uv.lock", "version = 1\n");
    const changes = await writeOfflineLayout(dir, await readDependencySet(dir), ["sys_platform == 'linux' and platform_machine == 'x86_64' and python_version == '3.12'"]);
    const result = parse(await read("pyproject.toml")) as Record<string, any>;
    expect(result["dependency-groups"]).toBeUndefined();
    expect(result.tool.uv).toEqual({
      sources: { mylib: { path: "libs/mylib" } },
      "no-index": true,
      "find-links": ["./wheels"],
      environments: ["sys_platform == 'linux' and platform_machine == 'x86_64' and python_version == '3.12'"],
      package: false,
    });
    expect(result.project["optional-dependencies"]).toBeUndefined();
    expect(result.tool.ruff).toEqual({ "line-length": 120 });
    expect(result.project.dependencies).toEqual(["anyio"]);
    expect(await exists("uv.lock")).toBe(false);
    // pip-based daemons read requirements.txt: one is written from the pyproject dependencies.
    expect(await read("requirements.txt")).toContain("--no-index --find-links=./wheels/\n");
    expect(await read("requirements.txt")).toContain("\nanyio\n");
    expect(changes.join("\n")).toMatch(/uv\.lock removed/);
    expect(changes.join("\n")).toMatch(/\[tool\.uv\.sources\] gitdep removed/);
  });

  it("removes every ignore line that would leave the wheels out, from the ignore file in effect", async () => {
    await write(".difyignore", "# build output\nwheels/\n*.whl\n/wheels\n__pycache__/\n.venv\n");
    await write(".gitignore", "wheels/\n");
    const changes = await writeOfflineLayout(dir, await readDependencySet(dir));
    const rules = ignoreRules(await read(".difyignore"));
    expect(rules.ignores("wheels/requests-2.32.0-py3-none-any.whl")).toBe(false);
    expect(rules.ignores("__pycache__/x.pyc")).toBe(true);
    expect(await read(".difyignore")).toBe("# build output\n__pycache__/\n.venv\n");
    // .gitignore is not in effect when .difyignore exists, so it is left alone.
    expect(await read(".gitignore")).toBe("wheels/\n");
    expect(changes).toEqual(['.difyignore: "wheels/", "*.whl", "/wheels" removed so that ./wheels/ is packaged']);
  });
});
