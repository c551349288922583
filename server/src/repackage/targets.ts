/**
 * Targets: for which platform and CPython the wheels are chosen, and with which pip options.
 *
 * - No --platform: this machine's platform. When this machine also has the target Python (the default
 *   interpreter, or `pythonX.Y` on PATH) the target is native: pip resolves as that Python would install,
 *   prefers wheels and builds the remaining sdists into wheels here.
 * - A --platform, or a Python this machine lacks: binary-only, because an sdist can only be built by the
 *   interpreter and machine it is for. pip chooses wheels by the platform, version, implementation (cp) and
 *   ABI (cpXY, plus abi3 and none, which pip adds itself).
 */
import { RepackageError } from "./errors.js";
import { interpreterFor, type PythonHost } from "./python-host.js";

export interface Target {
  /** The platform tag the wheels are for (the name in summaries and in the RPC's result). */
  readonly platform: string;
  readonly pythonVersion: string;
  /** The interpreter whose pip resolves and downloads for this target. */
  readonly interpreter: string;
  /** Native: resolved as this machine's Python installs, sdists built here. */
  readonly native: boolean;
  /** The --platform values given to pip, most preferred first; none = this machine's. */
  readonly pipPlatforms: readonly string[];
  /** Whether this machine can install the target's wheels, which the offline proof needs. */
  readonly runnable: boolean;
}

const PLATFORM_TAG = /^[a-z0-9]+(?:_[a-z0-9]+)+$/;
const PYTHON_VERSION = /^3\.\d{1,2}$/;

export async function planTargets(platforms: readonly string[], pythonVersion: string, host: PythonHost): Promise<Target[]> {
  if (!PYTHON_VERSION.test(pythonVersion)) {
    throw new RepackageError(`python version ${JSON.stringify(pythonVersion)} is not a CPython version such as 3.12`);
  }
  const interpreter = await interpreterFor(pythonVersion, host);
  if (platforms.length === 0) {
    return [
      interpreter
        ? { platform: host.platform, pythonVersion, interpreter, native: true, pipPlatforms: [], runnable: true }
        : { platform: host.platform, pythonVersion, interpreter: host.interpreter, native: false, pipPlatforms: [], runnable: false },
    ];
  }
  const seen = new Set<string>();
  const targets: Target[] = [];
  for (const platform of platforms) {
    if (!PLATFORM_TAG.test(platform)) {
      throw new RepackageError(
        `platform ${JSON.stringify(platform)} is not a pip platform tag; use tags such as manylinux2014_x86_64, manylinux_2_17_aarch64, macosx_11_0_arm64`,
      );
    }
    if (/^linux_/.test(platform)) {
      throw new RepackageError(
        `platform ${platform} names wheels built for one particular Linux machine, which indexes do not publish; use a portable tag such as manylinux_2_28_${platform.slice("linux_".length)} (any glibc 2.28+ machine), or leave --platform out for this machine`,
      );
    }
    if (seen.has(platform)) continue;
    seen.add(platform);
    const runnable = interpreter !== undefined && host.platformTags.has(platform);
    targets.push({ platform, pythonVersion, interpreter: interpreter ?? host.interpreter, native: false, pipPlatforms: compatiblePlatforms(platform), runnable });
  }
  return targets;
}

/** targetArguments are the pip options that choose distributions for a target. */
export function targetArguments(target: Target): string[] {
  if (target.native) return ["--prefer-binary"];
  return [
    "--only-binary=:all:",
    "--python-version",
    target.pythonVersion,
    "--implementation",
    "cp",
    "--abi",
    `cp${target.pythonVersion.replace(".", "")}`,
    ...target.pipPlatforms.flatMap((p) => ["--platform", p]),
  ];
}

const LEGACY_MANYLINUX: readonly (readonly [string, number, readonly string[]])[] = [
  ["manylinux2014", 17, ["x86_64", "i686", "aarch64", "armv7l", "ppc64", "ppc64le", "s390x"]],
  ["manylinux2010", 12, ["x86_64", "i686"]],
  ["manylinux1", 5, ["x86_64", "i686"]],
];

/**
 * compatiblePlatforms widens a manylinux or musllinux tag to every older tag a machine of that kind installs,
 * as pip does for its own machine but not for --platform (pip 23 takes manylinux_2_28_x86_64 literally and would
 * miss the many wheels tagged manylinux_2_17 or manylinux2014). Newest first, so pip prefers the newest build.
 */
export function compatiblePlatforms(platform: string): string[] {
  let glibc: { minor: number; arch: string } | undefined;
  const modern = /^manylinux_2_(\d+)_(.+)$/.exec(platform);
  if (modern) glibc = { minor: Number(modern[1]), arch: modern[2] ?? "" };
  for (const [alias, minor, arches] of LEGACY_MANYLINUX) {
    const arch = platform.startsWith(`${alias}_`) ? platform.slice(alias.length + 1) : undefined;
    if (arch !== undefined && arches.includes(arch)) glibc = { minor, arch };
  }
  if (glibc) {
    const { minor, arch } = glibc;
    const oldest = arch === "x86_64" || arch === "i686" ? 5 : 17;
    const tags: string[] = [];
    for (let m = minor; m >= oldest; m--) {
      tags.push(`manylinux_2_${m}_${arch}`);
      for (const [alias, aliasMinor, arches] of LEGACY_MANYLINUX) if (aliasMinor === m && arches.includes(arch)) tags.push(`${alias}_${arch}`);
    }
    return tags;
  }
  const musl = /^musllinux_1_(\d+)_(.+)$/.exec(platform);
  if (musl) return Array.from({ length: Number(musl[1]) }, (_, i) => `musllinux_1_${Number(musl[1]) - i}_${musl[2]}`);
  return [platform];
}

const MACHINES: Readonly<Record<string, string>> = { amd64: "AMD64", arm64: "ARM64" };

/**
 * uvEnvironmentOf is the PEP 508 marker of the machines a target's wheels are for, for `[tool.uv] environments`:
 * without it uv locks for every platform and Python and asks for wheels (colorama for Windows, backports for
 * older Pythons) that are not in the package.
 */
export function uvEnvironmentOf(target: Target): string {
  const python = `python_version == '${target.pythonVersion}'`;
  const linux = /^(?:manylinux_\d+_\d+|musllinux_\d+_\d+|manylinux\d*|linux)_(.+)$/.exec(target.platform);
  if (linux) return `sys_platform == 'linux' and platform_machine == '${linux[1]}' and ${python}`;
  const mac = /^macosx_\d+_\d+_(.+)$/.exec(target.platform);
  if (mac) return mac[1] === "x86_64" || mac[1] === "arm64" ? `sys_platform == 'darwin' and platform_machine == '${mac[1]}' and ${python}` : `sys_platform == 'darwin' and ${python}`;
  const windows = /^win_(.+)$/.exec(target.platform);
  if (windows) return `sys_platform == 'win32' and platform_machine == '${MACHINES[windows[1] ?? ""] ?? windows[1]}' and ${python}`;
  return python;
}

/** describeTarget: "manylinux2014_aarch64 / CPython 3.12". */
export function describeTarget(target: Target): string {
  return `${target.platform} / CPython ${target.pythonVersion}`;
}
