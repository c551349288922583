import { describe, expect, it } from "vitest";
import type { PythonHost } from "./python-host.js";
import { resolutionError } from "./resolve.js";
import { fetchOptions } from "./pip-options.js";
import { compatiblePlatforms, planTargets, targetArguments, uvEnvironmentOf } from "./targets.js";

const host: PythonHost = {
  interpreter: "python3",
  version: "3.11",
  platform: "linux_x86_64",
  platformTags: new Set(["manylinux_2_36_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "linux_x86_64"]),
};

describe("compatiblePlatforms", () => {
  it("widens manylinux to every older tag, legacy aliases included, newest first", () => {
    expect(compatiblePlatforms("manylinux_2_28_aarch64")).toEqual([
      ...[28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18].map((m) => `manylinux_2_${m}_aarch64`),
      "manylinux_2_17_aarch64",
      "manylinux2014_aarch64",
    ]);
    const x86 = compatiblePlatforms("manylinux2014_x86_64");
    expect(x86.slice(0, 2)).toEqual(["manylinux_2_17_x86_64", "manylinux2014_x86_64"]);
    expect(x86).toContain("manylinux2010_x86_64");
    expect(x86.at(-1)).toBe("manylinux1_x86_64");
    expect(compatiblePlatforms("musllinux_1_2_x86_64")).toEqual(["musllinux_1_2_x86_64", "musllinux_1_1_x86_64"]);
    expect(compatiblePlatforms("win_amd64")).toEqual(["win_amd64"]);
  });
});

describe("planTargets", () => {
  it("is native for this machine when its Python is the target's", async () => {
    const [target] = await planTargets([], "3.11", host);
    expect(target).toMatchObject({ platform: "linux_x86_64", native: true, runnable: true });
    expect(targetArguments(target!)).toEqual(["--prefer-binary"]);
  });

  it("is binary-only for platforms given, runnable only where this machine installs them", async () => {
    const targets = await planTargets(["manylinux2014_x86_64", "manylinux2014_aarch64", "manylinux2014_x86_64"], "3.11", host);
    expect(targets.map((t) => [t.platform, t.native, t.runnable])).toEqual([
      ["manylinux2014_x86_64", false, true],
      ["manylinux2014_aarch64", false, false],
    ]);
    const args = targetArguments(targets[1]!);
    expect(args.slice(0, 7)).toEqual(["--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"]);
    expect(args).toContain("manylinux_2_17_aarch64");
  });

  it("refuses what is not a platform tag or a CPython version, saying what would be", async () => {
    await expect(planTargets(["linux/amd64"], "3.11", host)).rejects.toThrow(/not a pip platform tag; use tags such as manylinux2014_x86_64/);
    await expect(planTargets([], "3", host)).rejects.toThrow(/not a CPython version such as 3\.12/);
    await expect(planTargets(["linux_x86_64"], "3.11", host)).rejects.toThrow(/use a portable tag such as manylinux_2_28_x86_64/);
  });
});

describe("resolutionError", () => {
  it("names the package, version and platform of a missing wheel", async () => {
    const [target] = await planTargets(["manylinux2014_aarch64"], "3.12", host);
    const error = resolutionError(
      target!,
      "ERROR: Could not find a version that satisfies the requirement numpy==1.26.4 (from versions: none)\nERROR: No matching distribution found for numpy==1.26.4",
      "",
    );
    expect(error.message).toMatch(/^no wheel of numpy==1\.26\.4 for manylinux2014_aarch64 \/ CPython 3\.12: this target takes wheels only/);
    expect(error.detail).toContain("No matching distribution");
  });

  it("tells an unreachable index apart, though pip then also finds no distribution", async () => {
    const [target] = await planTargets([], "3.11", host);
    const error = resolutionError(
      target!,
      "WARNING: Retrying ... NewConnectionError('Connection refused')\nERROR: Could not find a version that satisfies the requirement x (from versions: none)\nERROR: No matching distribution found for x",
      "https://mirror/simple",
    );
    expect(error.message).toBe("cannot reach the Python package index https://mirror/simple while resolving for linux_x86_64 / CPython 3.11; set PIP_MIRROR_URL to an index this machine can reach");
  });
});

describe("uvEnvironmentOf", () => {
  it("says which machines a target's wheels are for, as a PEP 508 marker", async () => {
    const [native] = await planTargets([], "3.11", host);
    expect(uvEnvironmentOf(native!)).toBe("sys_platform == 'linux' and platform_machine == 'x86_64' and python_version == '3.11'");
    const targets = await planTargets(["manylinux_2_28_aarch64", "macosx_11_0_arm64", "macosx_10_9_universal2", "win_amd64"], "3.12", host);
    expect(targets.map(uvEnvironmentOf)).toEqual([
      "sys_platform == 'linux' and platform_machine == 'aarch64' and python_version == '3.12'",
      "sys_platform == 'darwin' and platform_machine == 'arm64' and python_version == '3.12'",
      "sys_platform == 'darwin' and python_version == '3.12'",
      "sys_platform == 'win32' and platform_machine == 'AMD64' and python_version == '3.12'",
    ]);
  });
});

describe("fetchOptions", () => {
  it("keeps from PIP_EXTRA_ARGS what download and wheel also accept, with its values", () => {
    expect(
      fetchOptions(["--break-system-packages", "--trusted-host", "mirror", "--timeout=60", "--no-warn-script-location", "--extra-index-url", "https://x/simple", "--pre", "--user"]),
    ).toEqual(["--trusted-host", "mirror", "--timeout=60", "--extra-index-url", "https://x/simple", "--pre"]);
  });
});
