import { cp, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { buildPackage } from "../src/packaging/build-package.js";

/**
 * The fixture plugins under server/test/fixtures/plugins as ready-to-run trees and as packages. Each is a stdlib-only
 * Python plugin on the shared mini SDK (`_shared/mini_sdk.py`), which is copied into the tree's root here, so that
 * `python -m main` imports it as the top-level module `mini_sdk`.
 */

const PLUGINS_DIR = path.resolve(import.meta.dirname, "fixtures/plugins");
const MINI_SDK = path.join(PLUGINS_DIR, "_shared/mini_sdk.py");
const MAX_PACKAGE_BYTES = 50 * 1024 * 1024;

/** The fixture plugin source trees, by directory name. */
export const FIXTURE_PLUGINS = ["echo-tool", "no-permission-tool", "model-provider", "agent-strategy"] as const;
export type FixturePluginName = (typeof FIXTURE_PLUGINS)[number];

export interface FixtureOptions {
  /** Rewrite manifest.yaml's top-level `version:` (e.g. "0.2.0" for the upgrade tests). */
  readonly version?: string;
}

export interface FixtureTree {
  /** A fresh directory holding the plugin: its source files plus mini_sdk.py. */
  readonly dir: string;
  cleanup(): Promise<void>;
}

function isFixtureName(name: string): name is FixturePluginName {
  return (FIXTURE_PLUGINS as readonly string[]).includes(name);
}

/** Keep out what running the source tree in place may leave behind. */
function keep(source: string): boolean {
  const base = path.basename(source);
  return base !== "__pycache__" && !base.endsWith(".pyc");
}

/**
 * fixtureTree copies server/test/fixtures/plugins/<name> and mini_sdk.py into a new temporary directory, with the
 * manifest's version rewritten when options.version is given. The caller removes it with cleanup().
 */
export async function fixtureTree(name: string, options: FixtureOptions = {}): Promise<FixtureTree> {
  if (!isFixtureName(name)) {
    throw new Error(`no fixture plugin named ${JSON.stringify(name)}; there are ${FIXTURE_PLUGINS.join(", ")}`);
  }
  const source = path.join(PLUGINS_DIR, name);
  const dir = await mkdtemp(path.join(os.tmpdir(), `fixture-${name}-`));
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    await stat(source);
    await cp(source, dir, { recursive: true, filter: keep });
    await cp(MINI_SDK, path.join(dir, "mini_sdk.py"));
    if (options.version !== undefined) await setManifestVersion(dir, options.version);
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { dir, cleanup };
}

async function setManifestVersion(dir: string, version: string): Promise<void> {
  if (!/^[0-9A-Za-z._-]+$/.test(version)) throw new Error(`${JSON.stringify(version)} is not a version`);
  const file = path.join(dir, "manifest.yaml");
  const text = await readFile(file, "utf8");
  // Only the top-level key: `meta.version` is indented and stays as it is.
  const line = /^version:.*$/m;
  if (!line.test(text)) throw new Error(`${file} has no top-level version line`);
  await writeFile(file, text.replace(line, `version: ${version}`));
}

/**
 * buildFixturePackage packages a fixture plugin with the daemon's own packager (the CLI packager's strict rules)
 * and returns the unsigned .difypkg bytes. The temporary tree is removed afterwards.
 */
export async function buildFixturePackage(name: string, options: FixtureOptions = {}): Promise<Buffer> {
  const tree = await fixtureTree(name, options);
  try {
    return (await buildPackage(tree.dir, { maxBytes: MAX_PACKAGE_BYTES })).bytes;
  } finally {
    await tree.cleanup();
  }
}
