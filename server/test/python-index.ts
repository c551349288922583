import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

/**
 * Offline stand-ins for what the repackager reaches over the network: a PEP 503 simple index serving wheels and
 * sdists built here from tiny generated Python projects, and a host that answers like the Dify Marketplace's and
 * GitHub releases' download URLs. Nothing here touches the network or the machine's own pip configuration.
 */

const run = promisify(execFile);

const BACKEND = path.resolve(import.meta.dirname, "fixtures/python/tiny_backend.py");

export interface TinyProject {
  /** The project name, e.g. "rp-alpha"; its module is the normalized name with underscores (rp_alpha). */
  readonly name: string;
  /** e.g. "1.0.0"; written as given, so give a normalized version. */
  readonly version: string;
  /** PEP 508 requirements, e.g. ["rp-beta>=1"], written as Requires-Dist. */
  readonly dependencies?: readonly string[];
  /** The wheel tag, default "py3-none-any"; e.g. "py3-none-manylinux2014_x86_64" to pose as a platform wheel. */
  readonly tag?: string;
  /** Publish only an sdist (.tar.gz), no wheel. */
  readonly sdistOnly?: boolean;
  /** Add a data file of this many random (incompressible) bytes to the module, to make big wheels. */
  readonly paddingBytes?: number;
}

/** PEP 503 normalization: lowercase, runs of -_. become one "-". */
export function normalizeProjectName(name: string): string {
  return name.replace(/[-_.]+/g, "-").toLowerCase();
}

// PEP 508 names: ASCII letters and digits, with -_. only inside.
const PROJECT_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
// A wheel tag: three "-"-separated fields, each a "."-separated set of tags.
const WHEEL_TAG = /^[A-Za-z0-9_.]+-[A-Za-z0-9_.]+-[A-Za-z0-9_.]+$/;

/**
 * hermeticPipEnv returns process.env without any PIP_* variable, plus PIP_CONFIG_FILE=/dev/null, PIP_NO_INPUT=1,
 * PIP_DISABLE_PIP_VERSION_CHECK=1 and PIP_NO_CACHE_DIR=1, then `extra`. This machine's pip config and environment
 * (PIP_FIND_LINKS, extra index URLs, constraints) point at local package stores, and its pip cache outlives test
 * runs: neither may make an offline test pass. PIP_CONFIG_FILE=/dev/null makes pip skip every config file, the
 * global and site ones included.
 */
export function hermeticPipEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.toUpperCase().startsWith("PIP_")) env[key] = value;
  }
  return {
    ...env,
    PIP_CONFIG_FILE: "/dev/null",
    PIP_NO_INPUT: "1",
    PIP_DISABLE_PIP_VERSION_CHECK: "1",
    // Any value disables pip's HTTP and built-wheel caches (pip reads even "0" or "false" as "no cache").
    PIP_NO_CACHE_DIR: "1",
    ...extra,
  };
}

function tomlString(value: string): string {
  // A JSON string literal is a valid TOML basic string for the characters these fixtures use.
  return JSON.stringify(value);
}

function pyproject(project: TinyProject): string {
  const dependencies = (project.dependencies ?? []).map(tomlString).join(", ");
  const lines = [
    "[build-system]",
    "requires = []",
    'build-backend = "tiny_backend"',
    'backend-path = ["."]',
    "",
    "[project]",
    `name = ${tomlString(project.name)}`,
    `version = ${tomlString(project.version)}`,
    `dependencies = [${dependencies}]`,
  ];
  if (project.tag !== undefined) lines.push("", "[tool.tiny]", `tag = ${tomlString(project.tag)}`);
  return lines.join("\n") + "\n";
}

function validate(project: TinyProject): void {
  if (!PROJECT_NAME.test(project.name)) throw new Error(`not a valid project name: ${JSON.stringify(project.name)}`);
  if (!/^[A-Za-z0-9.+!_]+$/.test(project.version)) {
    throw new Error(`not a usable version: ${JSON.stringify(project.version)}`);
  }
  if (project.tag !== undefined && !WHEEL_TAG.test(project.tag)) {
    throw new Error(`not a wheel tag: ${JSON.stringify(project.tag)}`);
  }
  if (project.paddingBytes !== undefined && !(Number.isInteger(project.paddingBytes) && project.paddingBytes >= 0)) {
    throw new Error(`paddingBytes must be a non-negative integer, got ${project.paddingBytes}`);
  }
}

/** Write one project's source tree: pyproject.toml, tiny_backend.py and <module>/__init__.py (+ padding). */
async function writeProject(dir: string, project: TinyProject): Promise<void> {
  const module = normalizeProjectName(project.name).replace(/-/g, "_");
  await mkdir(path.join(dir, module), { recursive: true });
  await writeFile(path.join(dir, "pyproject.toml"), pyproject(project));
  await copyFile(BACKEND, path.join(dir, "tiny_backend.py"));
  await writeFile(
    path.join(dir, module, "__init__.py"),
    `NAME = ${JSON.stringify(project.name)}\n__version__ = ${JSON.stringify(project.version)}\n`,
  );
  if (project.paddingBytes !== undefined && project.paddingBytes > 0) {
    await writeFile(path.join(dir, module, "padding.bin"), randomBytes(project.paddingBytes));
  }
}

/** Build one project into a fresh directory and return that directory's single file's name. */
async function buildOne(project: TinyProject, work: string): Promise<{ readonly dir: string; readonly file: string }> {
  const source = path.join(work, "src");
  const out = path.join(work, "out");
  await mkdir(out, { recursive: true });
  await writeProject(source, project);
  const options = { cwd: source, env: hermeticPipEnv(), maxBuffer: 16 * 1024 * 1024 };
  try {
    if (project.sdistOnly === true) {
      // pip has no "build an sdist" command; call the backend's PEP 517 hook the way a frontend would.
      const script = "import sys, tiny_backend; print(tiny_backend.build_sdist(sys.argv[1]))";
      await run("python3", ["-c", script, out], options);
    } else {
      // The backend requires nothing, so pip's isolated build environment stays empty and --no-index is enough.
      await run("python3", ["-m", "pip", "wheel", "--no-index", "--no-deps", "--quiet", "-w", out, source], options);
    }
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string };
    throw new Error(`building ${project.name} ${project.version} failed:\n${e.stdout ?? ""}${e.stderr ?? ""}`, {
      cause: err,
    });
  }
  const files = await readdir(out);
  const [file] = files;
  if (file === undefined || files.length !== 1) {
    throw new Error(`building ${project.name} ${project.version} left ${JSON.stringify(files)} instead of one file`);
  }
  return { dir: out, file };
}

/**
 * buildDistributions writes each project into a temporary directory with tiny_backend.py and builds it into
 * `outDir`: a wheel through `python3 -m pip wheel --no-index --no-deps` (real PEP 517, offline), or with
 * sdistOnly an sdist through the backend's build_sdist hook. Returns the file names written, in project order.
 */
export async function buildDistributions(outDir: string, projects: readonly TinyProject[]): Promise<string[]> {
  projects.forEach(validate);
  await mkdir(outDir, { recursive: true });
  const work = await mkdtemp(path.join(os.tmpdir(), "tiny-projects-"));
  try {
    // Each build gets its own output directory so its file is known exactly, even with builds running at once.
    const built = await Promise.all(projects.map((project, i) => buildOne(project, path.join(work, String(i)))));
    const names: string[] = [];
    for (const { dir, file } of built) {
      // Copy rather than rename: the temporary directory may be on another file system than outDir.
      await copyFile(path.join(dir, file), path.join(outDir, file));
      names.push(file);
    }
    return names;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The PEP 503 project a distribution file belongs to, or undefined for files that are not distributions. */
export function projectOfFile(file: string): string | undefined {
  let stem: string | undefined;
  if (file.endsWith(".whl")) {
    // {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl: the name holds no "-".
    const fields = file.slice(0, -".whl".length).split("-");
    if (fields.length !== 5 && fields.length !== 6) return undefined;
    stem = fields[0];
  } else {
    const ext = [".tar.gz", ".zip"].find((e) => file.endsWith(e));
    if (ext === undefined) return undefined;
    // {name}-{version}.tar.gz: the version holds no "-", an old-style name may.
    const base = file.slice(0, -ext.length);
    const dash = base.lastIndexOf("-");
    if (dash <= 0) return undefined;
    stem = base.slice(0, dash);
  }
  return stem !== undefined && PROJECT_NAME.test(stem) ? normalizeProjectName(stem) : undefined;
}

function sha256OfFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(file)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function htmlPage(title: string, anchors: readonly { readonly href: string; readonly text: string }[]): string {
  const links = anchors.map((a) => `    <a href="${escapeHtml(a.href)}">${escapeHtml(a.text)}</a><br/>`).join("\n");
  return [
    "<!DOCTYPE html>",
    "<html>",
    "  <head>",
    '    <meta name="pypi:repository-version" content="1.0">',
    `    <title>${escapeHtml(title)}</title>`,
    "  </head>",
    "  <body>",
    `    <h1>${escapeHtml(title)}</h1>`,
    links,
    "  </body>",
    "</html>",
    "",
  ].join("\n");
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  // Index pages and errors are never cached (as PyPI's pages are revalidated), so every lookup shows in `requests`.
  res.writeHead(status, { "Content-Type": type, "Content-Length": bytes.length, "Cache-Control": "no-store" });
  res.end(bytes);
}

function notFound(res: ServerResponse, message: string): void {
  send(res, 404, "application/json", JSON.stringify({ code: "not_found", message }));
}

/** The path part of a request URL, percent-decoded by segment; undefined when it cannot be decoded. */
function pathSegments(req: IncomingMessage): string[] | undefined {
  const pathname = new URL(req.url ?? "/", "http://localhost").pathname;
  try {
    return pathname.split("/").slice(1).map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

export interface LocalServer {
  /** The base URL; for the simple index ".../simple" without a trailing slash. */
  readonly url: string;
  /** Every request's path (with any query), in arrival order. */
  readonly requests: string[];
  close(): Promise<void>;
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  suffix: string,
): Promise<LocalServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? "");
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, 405, "application/json", JSON.stringify({ code: "method_not_allowed", message: req.method ?? "" }));
      return;
    }
    handler(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, "text/plain", String(err));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${suffix}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/**
 * startSimpleIndex serves a PEP 503 simple index of the distribution files in `dir`, read at request time so files
 * added later appear: GET /simple/ lists the projects, GET /simple/<normalized-name>/ lists their files as
 * `href="../../files/<file>#sha256=<hex>"` anchors (a non-normalized name redirects to the normalized one, as PEP 503
 * asks), GET /files/<file> serves the bytes. 404 otherwise. Listens on 127.0.0.1, port 0.
 */
export async function startSimpleIndex(dir: string): Promise<LocalServer> {
  /** The distribution files in dir, by PEP 503 project name. */
  async function projects(): Promise<Map<string, string[]>> {
    const byProject = new Map<string, string[]>();
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const project = entry.isFile() ? projectOfFile(entry.name) : undefined;
      if (project === undefined) continue;
      byProject.set(project, [...(byProject.get(project) ?? []), entry.name]);
    }
    return byProject;
  }

  return listen(async (req, res) => {
    const segments = pathSegments(req);
    if (segments === undefined) return notFound(res, "bad path");
    const [top, name, rest] = segments;

    if (top === "simple" && (name === undefined || name === "") && rest === undefined) {
      if (name === undefined) {
        res.writeHead(301, { Location: "/simple/", "Content-Length": 0 });
        res.end();
        return;
      }
      const names = [...(await projects()).keys()].sort();
      const page = htmlPage(
        "Simple index",
        names.map((n) => ({ href: `${encodeURIComponent(n)}/`, text: n })),
      );
      return send(res, 200, "text/html; charset=utf-8", page);
    }

    if (top === "simple" && name !== undefined && name !== "" && (rest === undefined || rest === "")) {
      const normalized = normalizeProjectName(name);
      if (normalized !== name || rest === undefined) {
        res.writeHead(301, { Location: `/simple/${encodeURIComponent(normalized)}/`, "Content-Length": 0 });
        res.end();
        return;
      }
      const files = (await projects()).get(normalized);
      if (files === undefined) return notFound(res, `no project ${normalized}`);
      const anchors = await Promise.all(
        files.sort().map(async (file) => ({
          href: `../../files/${encodeURIComponent(file)}#sha256=${await sha256OfFile(path.join(dir, file))}`,
          text: file,
        })),
      );
      return send(res, 200, "text/html; charset=utf-8", htmlPage(`Links for ${normalized}`, anchors));
    }

    if (top === "files" && name !== undefined && rest === undefined) {
      // Only names listed in dir are served, so no "..", "/" or other path tricks get through.
      const files = await readdir(dir);
      if (!files.includes(name) || projectOfFile(name) === undefined) return notFound(res, `no file ${name}`);
      const file = path.join(dir, name);
      const { size } = await stat(file);
      res.writeHead(200, {
        "Content-Type": "application/octet-stream",
        "Content-Length": size,
        // What PyPI sends for distribution files: they never change, so pip's HTTP cache may keep them.
        "Cache-Control": "max-age=365000000, immutable, public",
      });
      if (req.method === "HEAD") {
        res.end();
        return;
      }
      await new Promise<void>((resolve, reject) => {
        createReadStream(file).on("error", reject).on("end", resolve).pipe(res);
      });
      return;
    }

    notFound(res, `nothing at ${req.url ?? ""}`);
  }, "/simple");
}

/**
 * startPackageHost stands in for the Dify Marketplace and GitHub releases: it serves
 * GET /api/v1/plugins/<author>/<name>/<version>/download from `marketplace` (key "author/name/version") and
 * GET /<owner>/<repo>/releases/download/<tag>/<asset> from `github` (key "owner/repo/tag/asset"), and answers
 * 404 with a small JSON body otherwise. Listens on 127.0.0.1, port 0; `url` has no trailing slash.
 */
export async function startPackageHost(packages: {
  readonly marketplace?: Readonly<Record<string, Buffer>>;
  readonly github?: Readonly<Record<string, Buffer>>;
}): Promise<LocalServer> {
  const lookup = (map: Readonly<Record<string, Buffer>> | undefined, key: string): Buffer | undefined =>
    map !== undefined && Object.hasOwn(map, key) ? map[key] : undefined;

  return listen(async (req, res) => {
    const segments = pathSegments(req) ?? [];
    let body: Buffer | undefined;
    const [a, b, c, d, e, f, g] = segments;
    if (segments.length === 7 && a === "api" && b === "v1" && c === "plugins" && g === "download") {
      body = lookup(packages.marketplace, `${d}/${e}/${f}`);
    } else if (segments.length === 6 && c === "releases" && d === "download") {
      body = lookup(packages.github, `${a}/${b}/${e}/${f}`);
    }
    if (body === undefined) return notFound(res, `nothing at ${req.url ?? ""}`);
    send(res, 200, "application/octet-stream", body);
  }, "");
}
