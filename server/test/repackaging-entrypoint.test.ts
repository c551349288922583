import { spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The repackaging image's entrypoint (docker/repackaging-entrypoint.sh) maps the command lines of
// junjiem/dify-plugin-repackaging onto `dify-plugin-daemon repackage`. These tests run the script itself with `sh`
// and a fake CLI that reports the arguments (and the environment) it was exec'd with, so they check the mapping
// without Docker, Python or the network. A last group checks the dockerfile against the repository.
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const ENTRYPOINT = path.join(REPO_ROOT, "docker/repackaging-entrypoint.sh");
const DOCKERFILE = path.join(REPO_ROOT, "docker/repackaging.dockerfile");

const FAKE_CLI = `const report = {
  argv: process.argv.slice(2),
  pid: process.pid,
  pipExtraArgs: process.env.PIP_EXTRA_ARGS ?? null,
};
process.stdout.write(JSON.stringify(report) + "\\n");
process.exit(Number(process.env.FAKE_CLI_EXIT ?? "0"));
`;

interface Report {
  argv: string[];
  pid: number;
  pipExtraArgs: string | null;
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  pid: number | undefined;
}

let tmp: string;
let fakeCli: string; // an executable script: what DIFY_PLUGIN_DAEMON_CLI names in these tests
let fakeCliScript: string;
let mounted: string; // stands for /app/dify-plugin
let cwd: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "repackaging-entrypoint-"));
  fakeCliScript = path.join(tmp, "fake-cli.mjs");
  await writeFile(fakeCliScript, FAKE_CLI);
  fakeCli = path.join(tmp, "fake-cli");
  // exec keeps the process id: a test compares it with the entrypoint's own.
  await writeFile(fakeCli, `#!/bin/sh\nexec "${process.execPath}" "${fakeCliScript}" "$@"\n`);
  await chmod(fakeCli, 0o755);
  mounted = path.join(tmp, "mounted");
  cwd = path.join(tmp, "cwd");
  await mkdir(mounted);
  await mkdir(cwd);
  await writeFile(path.join(mounted, "only-mounted.difypkg"), "");
  await writeFile(path.join(mounted, "both.difypkg"), "");
  await writeFile(path.join(cwd, "both.difypkg"), "");
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function entrypoint(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", [ENTRYPOINT, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? "", OUTPUT_DIR: mounted, DIFY_PLUGIN_DAEMON_CLI: fakeCli, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr, pid: child.pid }));
  });
}

/** Runs the entrypoint, expects the fake CLI to have run successfully, and returns what it was given. */
async function mapped(args: string[], env: Record<string, string> = {}): Promise<Report> {
  const result = await entrypoint(args, env);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Report;
}

describe("repackaging entrypoint: the three forms", () => {
  it("market <author> <name> <version>", async () => {
    const { argv } = await mapped(["market", "junjiem", "mcp_sse", "0.0.1"]);
    expect(argv).toEqual(["repackage", "market", "junjiem", "mcp_sse", "0.0.1", "--output-dir", mounted]);
  });

  it("github <owner/repo> and github <repo URL>", async () => {
    const short = await mapped(["github", "junjiem/dify-plugin-tools-dbquery", "v0.0.2", "db_query.difypkg"]);
    expect(short.argv).toEqual([
      "repackage", "github", "junjiem/dify-plugin-tools-dbquery", "v0.0.2", "db_query.difypkg", "--output-dir", mounted,
    ]);
    const url = "https://github.com/junjiem/dify-plugin-agent-mcp_sse";
    const long = await mapped(["github", url, "0.0.1", "agent-mcp_see.difypkg"]);
    expect(long.argv).toEqual(["repackage", "github", url, "0.0.1", "agent-mcp_see.difypkg", "--output-dir", mounted]);
  });

  it("local <absolute path> is passed as it is", async () => {
    const file = path.join(tmp, "elsewhere", "plugin.difypkg");
    const { argv } = await mapped(["local", file]);
    expect(argv).toEqual(["repackage", "local", file, "--output-dir", mounted]);
  });

  it("arguments with spaces and quotes arrive intact", async () => {
    const { argv } = await mapped(["github", "o/r", "v 1", "it's \"a\" pkg.difypkg"]);
    expect(argv).toEqual(["repackage", "github", "o/r", "v 1", "it's \"a\" pkg.difypkg", "--output-dir", mounted]);
  });
});

describe("repackaging entrypoint: options", () => {
  it("takes the reference's -p (repeatable) and -s before the form, as --platform and --suffix", async () => {
    const { argv } = await mapped(["-p", "a", "-p", "b", "-s", "offline-arm", "market", "junjiem", "mcp_sse", "0.0.1"]);
    expect(argv).toEqual([
      "repackage", "market",
      "--platform", "a", "--platform", "b", "--suffix", "offline-arm",
      "junjiem", "mcp_sse", "0.0.1",
      "--output-dir", mounted,
    ]);
  });

  it("takes getopts-style attached values (-pX, -sX)", async () => {
    const { argv } = await mapped(["-pmanylinux2014_aarch64", "-slinux-arm64", "local", "/x.difypkg"]);
    expect(argv).toEqual([
      "repackage", "local", "--platform", "manylinux2014_aarch64", "--suffix", "linux-arm64", "/x.difypkg",
      "--output-dir", mounted,
    ]);
  });

  it("passes the CLI's long options through after the form, short ones translated", async () => {
    const { argv } = await mapped([
      "market", "junjiem", "mcp_sse", "0.0.1",
      "--platform", "manylinux2014_x86_64", "--platform=manylinux_2_28_x86_64", "--python-version", "3.12",
      "-s", "amd64", "--sign-key", "key.pem", "--json",
    ]);
    expect(argv).toEqual([
      "repackage", "market", "junjiem", "mcp_sse", "0.0.1",
      "--platform", "manylinux2014_x86_64", "--platform=manylinux_2_28_x86_64", "--python-version", "3.12",
      "--suffix", "amd64", "--sign-key", "key.pem", "--json",
      "--output-dir", mounted,
    ]);
  });

  it("does not pass a second --output-dir when the user gave one, in any spelling or position", async () => {
    const cases: [string[], string[]][] = [
      [["-o", "/out", "market", "a", "n", "1"], ["--output-dir", "/out"]],
      [["market", "a", "n", "1", "--output-dir", "/out"], ["--output-dir", "/out"]],
      [["market", "a", "n", "1", "--output-dir=/out"], ["--output-dir=/out"]],
      [["market", "a", "n", "1", "-o/out"], ["--output-dir", "/out"]],
    ];
    for (const [args, expected] of cases) {
      const { argv } = await mapped(args);
      expect(argv.filter((a) => a.startsWith("--output-dir") || a === "-o"), args.join(" ")).toHaveLength(1);
      expect(argv, args.join(" ")).not.toContain(mounted);
      expect(argv.join("\n"), args.join(" ")).toContain(expected.join("\n"));
    }
  });

  it("writes into OUTPUT_DIR, /app/dify-plugin by default", async () => {
    const other = path.join(tmp, "other-output");
    expect((await mapped(["market", "a", "n", "1"], { OUTPUT_DIR: other })).argv.slice(-2)).toEqual(["--output-dir", other]);
    const unset = await entrypoint(["market", "a", "n", "1"], { OUTPUT_DIR: "" });
    expect(unset.code, unset.stderr).toBe(0);
    expect((JSON.parse(unset.stdout) as Report).argv.slice(-2)).toEqual(["--output-dir", "/app/dify-plugin"]);
  });

  it("takes -c/--category with its value and splits a comma-separated -p", async () => {
    expect((await mapped(["-c", "partner", "-p", "manylinux2014_x86_64,manylinux2014_aarch64", "market", "a", "n", "1"])).argv).toEqual([
      "repackage",
      "market",
      "--category",
      "partner",
      "--platform",
      "manylinux2014_x86_64",
      "--platform",
      "manylinux2014_aarch64",
      "a",
      "n",
      "1",
      "--output-dir",
      mounted,
    ]);
    expect((await mapped(["local", "x.difypkg", "-pa,b"])).argv).toEqual(["repackage", "local", "x.difypkg", "--platform", "a", "--platform", "b", "--output-dir", mounted]);
  });

  it("turns -R into the CLI's --pre, once", async () => {
    const result = await entrypoint(["-R", "market", "a", "n", "1"], { PIP_EXTRA_ARGS: "--timeout 30" });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.pipExtraArgs).toBe("--timeout 30");
    expect(report.argv).toEqual(["repackage", "market", "--pre", "a", "n", "1", "--output-dir", mounted]);
    expect((await mapped(["market", "a", "n", "1", "-R", "--pre"])).argv).toEqual(["repackage", "market", "a", "n", "1", "--pre", "--output-dir", mounted]);
  });

  it("keeps --output-dir before a user's `--`, where it is still an option", async () => {
    const { argv } = await mapped(["local", "--json", "--", "-odd.difypkg"]);
    expect(argv).toEqual(["repackage", "local", "--json", "--output-dir", mounted, "--", "-odd.difypkg"]);
  });

  it("leaves help after a form to the CLI (the form's own help)", async () => {
    const { argv } = await mapped(["market", "--help"]);
    expect(argv).toEqual(["repackage", "market", "--help", "--output-dir", mounted]);
  });

  it("splits DIFY_PLUGIN_DAEMON_CLI on whitespace, so it may name an interpreter and a script", async () => {
    const { argv } = await mapped(["market", "a", "n", "1"], { DIFY_PLUGIN_DAEMON_CLI: `sh   ${fakeCli}` });
    expect(argv).toEqual(["repackage", "market", "a", "n", "1", "--output-dir", mounted]);
  });
});

describe("repackaging entrypoint: local paths", () => {
  it("resolves a relative path found only in the mounted folder there", async () => {
    for (const given of ["only-mounted.difypkg", "./only-mounted.difypkg", "././only-mounted.difypkg"]) {
      const { argv } = await mapped(["local", given]);
      expect(argv, given).toEqual(["repackage", "local", path.join(mounted, "only-mounted.difypkg"), "--output-dir", mounted]);
    }
  });

  it("keeps a relative path that exists relative to the working directory", async () => {
    for (const given of ["both.difypkg", "./both.difypkg"]) {
      const { argv } = await mapped(["local", given]);
      expect(argv, given).toEqual(["repackage", "local", given, "--output-dir", mounted]);
    }
  });

  it("keeps a path found nowhere, for the CLI to report", async () => {
    const { argv } = await mapped(["local", "missing.difypkg"]);
    expect(argv).toEqual(["repackage", "local", "missing.difypkg", "--output-dir", mounted]);
  });

  it("resolves the local path also when options come first, and only the package path", async () => {
    const { argv } = await mapped(["-s", "only-mounted.difypkg", "local", "-p", "x", "only-mounted.difypkg", "only-mounted.difypkg"]);
    expect(argv).toEqual([
      "repackage", "local", "--suffix", "only-mounted.difypkg", "--platform", "x",
      path.join(mounted, "only-mounted.difypkg"), "only-mounted.difypkg", "--output-dir", mounted,
    ]);
  });
});

describe("repackaging entrypoint: usage and errors", () => {
  it("prints usage naming the three forms and the mount, exit 2, without arguments", async () => {
    const result = await entrypoint([], { OUTPUT_DIR: "" });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe(""); // the CLI did not run
    for (const word of ["market <author> <name> <version>", "github <owner/repo | repo URL>", "local <file.difypkg>"]) {
      expect(result.stderr).toContain(word);
    }
    expect(result.stderr).toContain(":/app/dify-plugin");
    expect(result.stderr).toContain("-p, --platform");
  });

  it("prints usage on stdout, exit 0, for --help, -h and help", async () => {
    for (const args of [["--help"], ["-h"], ["help"], ["-p", "x", "--help"]]) {
      const result = await entrypoint(args);
      expect(result.code, args.join(" ")).toBe(0);
      expect(result.stdout, args.join(" ")).toContain("market <author> <name> <version>");
    }
  });

  it("rejects an unknown form by name, exit 2, without running the CLI", async () => {
    const result = await entrypoint(["-p", "x", "pypi", "requests"]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("unknown form 'pypi'");
    expect(result.stderr).toMatch(/market, github or local/);
  });

  it("rejects options without a form, and an option missing its value, exit 2", async () => {
    const noForm = await entrypoint(["-p", "x", "-s", "y"]);
    expect(noForm.code).toBe(2);
    expect(noForm.stderr).toContain("no form given");
    const noValue = await entrypoint(["market", "a", "n", "1", "-p"]);
    expect(noValue.code).toBe(2);
    expect(noValue.stderr).toContain("-p needs a value");
    expect(noValue.stdout).toBe("");
  });

  it("execs the CLI: same process, and its exit code is the entrypoint's", async () => {
    const ok = await entrypoint(["market", "a", "n", "1"]);
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.stdout) as Report).pid).toBe(ok.pid);
    const failed = await entrypoint(["market", "a", "n", "1"], { FAKE_CLI_EXIT: "3" });
    expect(failed.code).toBe(3);
    expect((JSON.parse(failed.stdout) as Report).argv[1]).toBe("market");
  });

  it("is POSIX sh: parses with sh -n, starts with #!/bin/sh, set -eu, no CRLF", async () => {
    const text = await readFile(ENTRYPOINT, "utf8");
    expect(text.startsWith("#!/bin/sh\n")).toBe(true);
    expect(text).toMatch(/^set -eu$/m);
    expect(text).not.toContain("\r");
    const check = await new Promise<number | null>((resolve) => spawn("sh", ["-n", ENTRYPOINT]).on("close", resolve));
    expect(check).toBe(0);
  });
});

describe("repackaging dockerfile", () => {
  let dockerfile: string;
  let instructions: string[];
  beforeAll(async () => {
    dockerfile = await readFile(DOCKERFILE, "utf8");
    // One entry per instruction: comments dropped, continuation lines joined.
    instructions = dockerfile
      .split("\n")
      .filter((line) => !line.trimStart().startsWith("#"))
      .join("\n")
      .replace(/\\\n/g, " ")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "");
  });

  it("declares ARG VERSION and shows it as a label and in the environment", () => {
    expect(instructions).toContain("ARG VERSION=dev");
    expect(dockerfile).toMatch(/org\.opencontainers\.image\.version="\$\{VERSION\}"/);
    expect(dockerfile).toMatch(/DIFY_PLUGIN_REPACKAGING_VERSION="\$\{VERSION\}"/);
  });

  it("copies the entrypoint and runs it under tini, usage by default", () => {
    expect(instructions).toContain("COPY docker/repackaging-entrypoint.sh /usr/local/bin/repackaging-entrypoint");
    const entry = instructions.find((line) => line.startsWith("ENTRYPOINT "));
    expect(JSON.parse(entry!.slice("ENTRYPOINT ".length))).toEqual([
      "/usr/bin/tini", "-g", "--", "/usr/local/bin/repackaging-entrypoint",
    ]);
    expect(instructions).toContain('CMD ["--help"]');
    expect(instructions).toContain("WORKDIR /app/dify-plugin");
    expect(instructions).toContain('VOLUME ["/app/dify-plugin"]');
  });

  it("copies only files the repository has, and installs dependencies as the daemon image does", async () => {
    const sources = instructions
      .filter((line) => line.startsWith("COPY ") && !line.includes("--from="))
      .flatMap((line) => line.split(/\s+/).slice(1, -1));
    expect(sources).toEqual(expect.arrayContaining(["package.json", "package-lock.json", "server/src", "clients"]));
    for (const source of sources) expect(existsSync(path.join(REPO_ROOT, source)), source).toBe(true);

    const daemon = await readFile(path.join(REPO_ROOT, "docker/daemon.dockerfile"), "utf8");
    const install = "RUN npm ci --omit=dev --no-audit --no-fund";
    expect(daemon).toContain(install);
    expect(instructions).toContain(install);
  });

  it("puts a dify-plugin-daemon launcher on PATH that starts the CLI's bin", async () => {
    expect(dockerfile).toContain("exec node /app/clients/cli/bin.mjs");
    const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, "package.json"), "utf8")) as { bin: Record<string, string> };
    expect(pkg.bin["dify-plugin-daemon"]).toBe("clients/cli/bin.mjs");
    expect(instructions.some((line) => line.includes("> /usr/local/bin/dify-plugin-daemon"))).toBe(true);
  });
});
