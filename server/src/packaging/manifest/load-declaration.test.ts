import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import yauzl from "yauzl";
import { describe, expect, it } from "vitest";
import type { PackageFiles } from "../archive.js";
import { PackageError, type PackageProblem } from "../errors.js";
import { compileGlob } from "./glob.js";
import { loadDeclaration, type LoadDeclarationOptions } from "./load-declaration.js";
import { decimalText } from "./model-schema.js";
import { goTimeJson } from "./timestamp.js";

const FIXTURES = "/work/shared/fixtures";

// ---------------------------------------------------------------------------------------------------------------
// Test-local PackageFiles: a zip read with yauzl (the real decoder is written elsewhere), a directory, a map.

function filesOfMap(map: ReadonlyMap<string, Buffer>): PackageFiles {
  return { paths: [...map.keys()], read: (path) => map.get(path) };
}

function readZip(path: string): Promise<PackageFiles> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(readFileSync(path), { lazyEntries: true }, (err, zip) => {
      if (err) return reject(err);
      const entries = new Map<string, Buffer>();
      zip.on("error", reject);
      zip.on("end", () => resolve(filesOfMap(entries)));
      zip.on("entry", (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith("/")) return zip.readEntry();
        zip.openReadStream(entry, (streamErr, stream) => {
          if (streamErr) return reject(streamErr);
          const chunks: Buffer[] = [];
          stream.on("data", (chunk: Buffer) => chunks.push(chunk));
          stream.on("error", reject);
          stream.on("end", () => {
            entries.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

function readDirectory(root: string, extra: Record<string, string> = {}): PackageFiles {
  const entries = new Map<string, Buffer>();
  const walk = (relative: string): void => {
    for (const name of readdirSync(join(root, relative)).sort()) {
      const path = relative ? `${relative}/${name}` : name;
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else entries.set(path, readFileSync(join(root, path)));
    }
  };
  walk("");
  for (const [path, text] of Object.entries(extra)) entries.set(path, Buffer.from(text));
  return filesOfMap(entries);
}

type Tree = Record<string, string>;

function memory(tree: Tree): PackageFiles {
  return filesOfMap(new Map(Object.entries(tree).map(([path, text]) => [path, Buffer.from(text)])));
}

/** edit parses one YAML file of a tree, lets `change` modify it, and writes it back. */
function edit(tree: Tree, path: string, change: (doc: Record<string, any>) => void): Tree {
  const doc = parseYaml(tree[path]!) as Record<string, any>;
  change(doc);
  return { ...tree, [path]: stringifyYaml(doc) };
}

function loadError(files: PackageFiles, options?: LoadDeclarationOptions): PackageError {
  try {
    loadDeclaration(files, options);
  } catch (err) {
    if (err instanceof PackageError) return err;
    throw err;
  }
  throw new Error("expected loadDeclaration to fail");
}

// ---------------------------------------------------------------------------------------------------------------
// Real packages

describe("openai.difypkg", async () => {
  const files = await readZip(`${FIXTURES}/packages/openai.difypkg`);
  const declaration = loadDeclaration(files);

  it("is a model plugin with the daemon's JSON layout", () => {
    expect(declaration.category).toBe("model");
    expect(declaration.verified).toBe(false);
    expect(declaration.name).toBe("openai");
    expect(declaration.author).toBe("langgenius");
    expect(declaration.label).toEqual({ en_US: "OpenAI" });
    expect(declaration.meta.runner).toEqual({ language: "python", version: "3.12", entrypoint: "main" });
    expect(declaration.meta.minimum_dify_version).toBeNull();
    expect(declaration.plugins).toEqual({
      tools: null,
      models: ["provider/openai.yaml"],
      endpoints: null,
      agent_strategies: null,
      datasources: null,
      triggers: null,
    });
    expect(declaration.tags).toEqual([]);
    expect(declaration.created_at).toBe("2024-07-12T08:03:44.658609186Z");
    expect(Object.keys(declaration)).toEqual([
      "version", "type", "author", "name", "label", "description", "icon", "icon_dark", "resource", "plugins",
      "meta", "tags", "created_at", "verified", "category", "model",
    ]);
    expect(declaration.tool).toBeUndefined();
  });

  it("loads the provider and, per model type, every model file its globs match", () => {
    const model = declaration.model!;
    expect(model.provider).toBe("openai");
    expect(model.icon_small).toEqual({ en_US: "icon_s_en.svg" });
    expect(model.supported_model_types).toEqual(["llm", "text-embedding", "speech2text", "moderation", "tts"]);
    // Count the model files ourselves: models/<dir>/*.yaml, one directory deep, minus _position.yaml.
    const typeOfDir: Record<string, string> = { text_embedding: "text-embedding" };
    const expected: Record<string, number> = {};
    for (const path of files.paths) {
      const match = /^models\/([^/]+)\/[^/]+\.yaml$/.exec(path);
      if (!match || path.endsWith("_position.yaml")) continue;
      const type = typeOfDir[match[1]!] ?? match[1]!;
      expected[type] = (expected[type] ?? 0) + 1;
    }
    const actual: Record<string, number> = {};
    for (const m of model.models) actual[m.model_type!] = (actual[m.model_type!] ?? 0) + 1;
    expect(actual).toEqual(expected);
    expect(expected["llm"]).toBe(37);
    expect(model.models.map((m) => m.model)).toEqual(expect.arrayContaining(["gpt-4o", "o1", "whisper-1", "tts-1", "text-embedding-3-small"]));
  });

  it("reads the llm position file and completes models as the daemon does", () => {
    const model = declaration.model!;
    const position = parseYaml(files.read("models/llm/_position.yaml")!.toString()) as string[];
    expect(model.position).toEqual({ llm: position });
    const gpt4o = model.models.find((m) => m.model === "gpt-4o")!;
    expect(gpt4o.fetch_from).toBe("predefined-model");
    expect(gpt4o.pricing).toEqual({ input: "5", output: "15", unit: "0.000001", currency: "USD" });
    const temperature = gpt4o.parameter_rules.find((r) => r.name === "temperature")!;
    expect(temperature).toMatchObject({ type: "float", min: 0, max: 1, precision: 2, default: 0, label: { en_US: "temperature" } });
    const maxTokens = gpt4o.parameter_rules.find((r) => r.name === "max_tokens")!;
    expect(maxTokens).toMatchObject({ default: 512, min: 1, max: 4096, type: "int" });
    // tts-1 declares no label: the daemon shows the model name.
    expect(model.models.find((m) => m.model === "tts-1")!.label).toEqual({ en_US: "tts-1" });
  });

  it("also passes the packager's rules", () => {
    expect(loadDeclaration(files, { validation: "package" }).name).toBe("openai");
  });
});

describe("dummy_plugin.difypkg", async () => {
  const files = await readZip(`${FIXTURES}/packages/dummy_plugin.difypkg`);

  it("is a tool plugin with its one tool", () => {
    const declaration = loadDeclaration(files);
    expect(declaration.category).toBe("tool");
    const tool = declaration.tool!;
    const toolFiles = files.paths.filter((p) => /^tools\/[^/]+\.yaml$/.test(p));
    expect(tool.tools).toHaveLength(toolFiles.length);
    expect(tool.tools.map((t) => t.identity.name)).toEqual(["test"]);
    expect(tool.identity.name).toBe("test");
    expect(tool.credentials_schema).toEqual([]);
    expect(tool.tools[0]!.parameters?.[0]).toMatchObject({ name: "query", type: "string", form: "llm", required: true });
    // Keys the daemon does not model are kept.
    expect(tool["extra"]).toEqual({ python: { source: "provider/test.py" } });
    expect(declaration.created_at).toBe("2025-03-30T14:38:08.927240378Z");
    expect(declaration.privacy).toBe("PRIVACY.md");
  });

  it("also passes the packager's rules", () => {
    expect(loadDeclaration(files, { validation: "package" }).category).toBe("tool");
  });
});

describe("langgenius-agent_0.0.14.difypkg", async () => {
  const files = await readZip(`${FIXTURES}/packages/langgenius-agent_0.0.14.difypkg`);

  it("is an agent strategy plugin with its strategies in list order", () => {
    const declaration = loadDeclaration(files);
    expect(declaration.category).toBe("agent-strategy");
    expect(declaration.tags).toEqual(["agent"]);
    expect(declaration.created_at).toBe("2025-01-08T15:22:00Z");
    const provider = declaration.agent_strategy!;
    expect(provider.identity).toMatchObject({ author: "langgenius", name: "agent", icon: "icon.svg" });
    expect(provider.strategies.map((s) => s.identity.name)).toEqual(["function_calling", "ReAct"]);
    expect(provider.strategies[1]!.features).toEqual(["history-messages"]);
    expect(provider.strategies[1]!.parameters?.map((p) => p.name)).toEqual([
      "model", "tools", "instruction", "query", "maximum_iterations",
    ]);
  });

  it("also passes the packager's rules", () => {
    expect(loadDeclaration(files, { validation: "package" }).name).toBe("agent");
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Plugin source trees. They reference icon.svg but have no _assets/ at all, which the daemon refuses too (installing
// fails remapping the icon; the CLI packager fails reading _assets). With the icon supplied they load in both modes.

describe.each(["plugin-with-pyproject", "plugin-with-requirements", "plugin-without-dependencies"])("source tree %s", (name) => {
  const root = `${FIXTURES}/plugins/${name}`;

  it("is refused as is: its icon is not under _assets/", () => {
    for (const validation of ["upload", "package"] as const) {
      const err = loadError(readDirectory(root), { validation });
      expect(err.problem).toBe("missing_asset");
      expect(err.message).toBe(`manifest.yaml: icon: icon "icon.svg" is not in the package; add it as _assets/icon.svg`);
    }
  });

  it.each(["upload", "package"] as const)("loads in %s mode once the icon exists", (validation) => {
    const files = readDirectory(root, { "_assets/icon.svg": "<svg/>" });
    const declaration = loadDeclaration(files, { validation });
    const manifest = parseYaml(files.read("manifest.yaml")!.toString()) as { name: string };
    expect(declaration.name).toBe(manifest.name);
    expect(declaration.category).toBe("tool");
    expect(declaration.tool!.identity.name).toBe("test_provider");
    expect(declaration.tool!.tools.map((t) => t.identity.name)).toEqual(["test_tool"]);
    // credentials_for_provider: {} is the older spelling of an empty credentials_schema.
    expect(declaration.tool!.credentials_schema).toEqual([]);
    expect(declaration.created_at).toBe("2024-01-01T00:00:00Z");
  });
});

// ---------------------------------------------------------------------------------------------------------------
// A small valid plugin, and everything that can be wrong with it

const MANIFEST = `version: 0.0.1
type: plugin
author: acme
name: echo
label:
  en_US: Echo
  fr_FR: Écho
description:
  en_US: Echoes its input
icon: icon.svg
created_at: "2024-01-01T00:00:00.000000Z"
tags: [utilities]
resource:
  memory: 268435456
  permission:
    storage:
      enabled: true
      size: 1048576
plugins:
  tools:
    - provider/echo.yaml
meta:
  version: 0.0.1
  arch: [amd64, arm64]
  runner:
    language: python
    version: "3.12"
    entrypoint: main
`;

const TOOL_PROVIDER = `identity:
  author: acme
  name: echo
  label:
    en_US: Echo
  icon: icon.svg
credentials_for_provider:
  api_key:
    type: secret-input
    required: true
    label:
      en_US: API key
tools:
  - tools/echo.yaml
  - identity:
      author: acme
      name: inline
      label:
        en_US: Inline
    description:
      human:
        en_US: An inline tool
      llm: inline
`;

const TOOL = `identity:
  author: acme
  name: echo
  label:
    en_US: Echo
description:
  human:
    en_US: Echo the query
  llm: Echo the query
parameters:
  - name: query
    type: string
    form: llm
    required: true
    label:
      en_US: Query
    human_description:
      en_US: What to echo
`;

const BASE: Tree = {
  "manifest.yaml": MANIFEST,
  "provider/echo.yaml": TOOL_PROVIDER,
  "tools/echo.yaml": TOOL,
  "_assets/icon.svg": "<svg/>",
  "main.py": "print('hi')\n",
};

const MODEL_PROVIDER = `provider: acme
label:
  en_US: Acme
icon_small:
  en_US: icon.svg
supported_model_types: [llm]
configurate_methods: [predefined-model]
models:
  llm:
    predefined:
      - "models/llm/*.yaml"
    position: models/llm/_position.yaml
`;

const MODEL_BASE: Tree = {
  ...edit(BASE, "manifest.yaml", (m) => (m.plugins = { models: ["provider/acme.yaml"] })),
  "provider/acme.yaml": MODEL_PROVIDER,
  "models/llm/_position.yaml": "- big\n- small\n",
  "models/llm/big.yaml": "model: big\nmodel_type: llm\nparameter_rules:\n  - name: temperature\n    use_template: temperature\n",
  "models/llm/small.yaml": "model: small\nmodel_type: llm\nlabel:\n  en_US: Small\n",
  "models/llm/nested/deep.yaml": "model: deep\nmodel_type: llm\n",
};

describe("a small valid plugin", () => {
  it("loads in both modes", () => {
    for (const validation of ["upload", "package"] as const) {
      const declaration = loadDeclaration(memory(BASE), { validation });
      expect(declaration.category).toBe("tool");
      expect(declaration.label).toEqual({ en_US: "Echo" });
      expect(declaration.created_at).toBe("2024-01-01T00:00:00Z");
    }
  });

  it("puts inline tools before referenced ones and turns a credentials mapping into a named list", () => {
    const tool = loadDeclaration(memory(BASE)).tool!;
    expect(tool.tools.map((t) => t.identity.name)).toEqual(["inline", "echo"]);
    expect(tool.credentials_schema).toEqual([
      expect.objectContaining({ name: "api_key", type: "secret-input", required: true, label: { en_US: "API key" } }),
    ]);
    expect(tool).not.toHaveProperty("credentials_for_provider");
  });

  it("fills a tool provider's description and tags from the plugin", () => {
    const tool = loadDeclaration(memory(BASE)).tool!;
    expect(tool.identity.description).toEqual({ en_US: "Echoes its input" });
    expect(tool.identity.tags).toEqual(["utilities"]);
  });

  it("normalises references and loads endpoints alongside tools", () => {
    const tree = {
      ...edit(BASE, "manifest.yaml", (m) => {
        m.plugins.tools = ["./provider/../provider/echo.yaml"];
        m.plugins.endpoints = ["group/echo.yaml"];
      }),
      "group/echo.yaml": "settings: []\nendpoints:\n  - endpoints/get.yaml\n",
      "endpoints/get.yaml": "path: /echo\nmethod: GET\n",
    };
    const declaration = loadDeclaration(memory(tree));
    expect(declaration.category).toBe("tool");
    expect(declaration.endpoint!.endpoints).toEqual([{ path: "/echo", method: "GET", hidden: false }]);
  });

  it("accepts a 2-part version and a missing created_at on upload only", () => {
    const tree = edit(BASE, "manifest.yaml", (m) => {
      m.version = "1.0";
      delete m.created_at;
    });
    const declaration = loadDeclaration(memory(tree));
    expect(declaration.version).toBe("1.0");
    expect(declaration.created_at).toBe("0001-01-01T00:00:00Z");
    expect(loadError(memory(tree), { validation: "package" }).detail.field).toBe("version");
  });

  it("keeps unquoted numbers in string fields as written", () => {
    const tree = {
      ...BASE,
      "manifest.yaml": MANIFEST.replace('version: "3.12"', "version: 3.10"),
    };
    expect(loadDeclaration(memory(tree)).meta.runner.version).toBe("3.10");
  });

  it("loads model globs with filepath.Match semantics and skips _position.yaml", () => {
    const declaration = loadDeclaration(memory(MODEL_BASE), { validation: "package" });
    expect(declaration.category).toBe("model");
    const model = declaration.model!;
    expect(model.models.map((m) => m.model)).toEqual(["big", "small"]);
    expect(model.position).toEqual({ llm: ["big", "small"] });
    expect(model.description).toEqual({ en_US: "Echoes its input" });
    expect(model.models[0]!.label).toEqual({ en_US: "big" });
    expect(model.models[0]!.parameter_rules[0]).toMatchObject({ type: "float", max: 1, options: [] });
  });
});

describe("other provider kinds", () => {
  const only = (plugins: Record<string, string[]>, extra: Tree): PackageFiles =>
    memory({ ...edit(BASE, "manifest.yaml", (m) => (m.plugins = plugins)), ...extra });

  it("files an endpoint-only plugin as an extension", () => {
    const declaration = loadDeclaration(
      only({ endpoints: ["group/echo.yaml"] }, {
        "group/echo.yaml": "endpoints:\n  - path: /inline\n    method: POST\n  - endpoints/get.yaml\n",
        "endpoints/get.yaml": "path: /echo\nmethod: GET\nhidden: true\n",
      }),
    );
    expect(declaration.category).toBe("extension");
    expect(declaration.endpoint).toEqual({
      settings: [],
      endpoints: [
        { path: "/inline", method: "POST", hidden: false },
        { path: "/echo", method: "GET", hidden: true },
      ],
    });
  });

  const datasource: Tree = {
    "provider/notes.yaml": [
      "identity:\n  author: acme\n  name: notes\n  label:\n    en_US: Notes\n  icon: icon.svg",
      "provider_type: online_document",
      "credentials_schema:\n  token:\n    type: secret-input\n    label:\n      en_US: Token",
      "datasources:\n  - datasources/page.yaml\n",
    ].join("\n"),
    "datasources/page.yaml":
      "identity:\n  author: acme\n  name: page\n  label:\n    en_US: Page\n  icon: page.svg\ndescription:\n  en_US: A page\n",
  };

  it("loads a datasource provider and checks each datasource's icon", () => {
    const err = loadError(only({ datasources: ["provider/notes.yaml"] }, datasource));
    expect(err.problem).toBe("missing_asset");
    expect(err.message).toMatch(/^datasources\/page.yaml: identity.icon: icon "page.svg"/);
    const declaration = loadDeclaration(only({ datasources: ["provider/notes.yaml"] }, { ...datasource, "_assets/page.svg": "<svg/>" }));
    expect(declaration.category).toBe("datasource");
    expect(declaration.datasource!.provider_type).toBe("online_document");
    expect(declaration.datasource!.credentials_schema.map((c) => c.name)).toEqual(["token"]);
    expect(declaration.datasource!.datasources.map((d) => d.identity.name)).toEqual(["page"]);
  });

  it("loads a trigger provider and fills its description and tags from the plugin", () => {
    const declaration = loadDeclaration(
      only({ triggers: ["provider/hook.yaml"] }, {
        "provider/hook.yaml": [
          "identity:\n  author: acme\n  name: hook\n  label:\n    en_US: Hook\n  icon: icon.svg",
          "subscription_schema:\n  secret:\n    type: secret-input\n    label:\n      en_US: Secret",
          "events:\n  - events/push.yaml\n",
        ].join("\n"),
        "events/push.yaml": "identity:\n  author: acme\n  name: push\n  label:\n    en_US: Push\ndescription:\n  en_US: A push\n",
      }),
    );
    expect(declaration.category).toBe("trigger");
    const trigger = declaration.trigger!;
    expect(trigger.subscription_schema.map((c) => c.name)).toEqual(["secret"]);
    expect(trigger.events.map((e) => e.identity.name)).toEqual(["push"]);
    expect(trigger.identity.description).toEqual({ en_US: "Echoes its input" });
    expect(trigger.identity.tags).toEqual(["utilities"]);
  });

  it("lets tools and endpoints share a plugin but not a trigger and tools", () => {
    const err = loadError(
      memory({
        ...edit(BASE, "manifest.yaml", (m) => (m.plugins.triggers = ["provider/hook.yaml"])),
        "provider/hook.yaml": "identity:\n  name: hook\n",
      }),
    );
    expect(err.problem).toBe("invalid_category");
    expect(err.detail.field).toBe("plugins.triggers");
  });
});

interface BrokenCase {
  readonly name: string;
  readonly files: PackageFiles;
  readonly validation?: "upload" | "package";
  readonly problem: PackageProblem;
  readonly file: string;
  /** The field the message must name; undefined for whole-file problems. */
  readonly field?: string;
  readonly says?: string | RegExp;
}

const manifestWith = (change: (m: Record<string, any>) => void): PackageFiles => memory(edit(BASE, "manifest.yaml", change));

const BROKEN: BrokenCase[] = [
  {
    name: "missing manifest",
    files: memory(Object.fromEntries(Object.entries(BASE).filter(([p]) => p !== "manifest.yaml"))),
    problem: "manifest_missing",
    file: "manifest.yaml",
  },
  {
    name: "manifest one folder down (zipped from the parent folder)",
    files: memory(Object.fromEntries(Object.entries(BASE).map(([p, t]) => [`echo/${p}`, t]))),
    problem: "manifest_not_root",
    file: "echo/manifest.yaml",
    says: /zipped from the folder above the plugin.*Zip the contents of echo\//,
  },
  {
    name: "YAML syntax error",
    files: memory({ ...BASE, "manifest.yaml": "version: [0.0.1\nname: echo\n" }),
    problem: "invalid_yaml",
    file: "manifest.yaml",
    says: /line \d+, column \d+/,
  },
  {
    name: "uppercase author",
    files: manifestWith((m) => (m.author = "Acme")),
    problem: "invalid_manifest",
    file: "manifest.yaml",
    field: "author",
    says: '"Acme"',
  },
  {
    name: "UUID author",
    files: manifestWith((m) => (m.author = "123e4567-e89b-12d3-a456-426614174000")),
    problem: "invalid_manifest",
    file: "manifest.yaml",
    field: "author",
    says: "UUID",
  },
  {
    name: "bad version",
    files: manifestWith((m) => (m.version = "1.x")),
    problem: "invalid_manifest",
    file: "manifest.yaml",
    field: "version",
  },
  {
    name: "arch x86",
    files: manifestWith((m) => (m.meta.arch = ["x86"])),
    problem: "invalid_manifest",
    file: "manifest.yaml",
    field: "meta.arch[0]",
    says: 'manifest.yaml: meta.arch[0]: "x86" is not one of amd64, arm64',
  },
  {
    name: "runner go",
    files: manifestWith((m) => (m.meta.runner.language = "go")),
    problem: "invalid_manifest",
    file: "manifest.yaml",
    field: "meta.runner.language",
  },
  {
    name: "empty entrypoint",
    files: manifestWith((m) => (m.meta.runner.entrypoint = "")),
    problem: "invalid_manifest",
    file: "manifest.yaml",
    field: "meta.runner.entrypoint",
  },
  {
    name: "missing referenced tool file",
    files: memory({
      ...Object.fromEntries(Object.entries(BASE).filter(([p]) => p !== "tools/echo.yaml")),
      "tools/ECHO.yaml": TOOL,
    }),
    problem: "missing_file",
    file: "provider/echo.yaml",
    field: "tools[0]",
    says: /"tools\/echo.yaml" is not in the package \(there is "tools\/ECHO.yaml"/,
  },
  {
    name: "missing provider file",
    files: manifestWith((m) => (m.plugins.tools = ["provider/none.yaml"])),
    problem: "missing_file",
    file: "manifest.yaml",
    field: "plugins.tools[0]",
  },
  {
    name: "provider reference escaping the root",
    files: manifestWith((m) => (m.plugins.tools = ["provider/../../outside.yaml"])),
    problem: "invalid_declaration",
    file: "manifest.yaml",
    field: "plugins.tools[0]",
    says: "outside the package root",
  },
  {
    name: "absolute provider reference",
    files: manifestWith((m) => (m.plugins.tools = ["/etc/passwd"])),
    problem: "invalid_declaration",
    file: "manifest.yaml",
    field: "plugins.tools[0]",
    says: "absolute",
  },
  {
    name: "model and tool in one plugin",
    files: memory({
      ...edit(MODEL_BASE, "manifest.yaml", (m) => (m.plugins.tools = ["provider/echo.yaml"])),
    }),
    problem: "invalid_category",
    file: "manifest.yaml",
    field: "plugins.models",
    says: "plugins.tools",
  },
  {
    name: "no provider at all",
    files: manifestWith((m) => (m.plugins = {})),
    problem: "invalid_category",
    file: "manifest.yaml",
    field: "plugins",
  },
  {
    name: "icon missing from _assets",
    files: memory(Object.fromEntries(Object.entries(BASE).filter(([p]) => !p.startsWith("_assets/")))),
    problem: "missing_asset",
    file: "manifest.yaml",
    field: "icon",
  },
  {
    name: "tool provider icon missing from _assets",
    files: memory(edit(BASE, "provider/echo.yaml", (p) => (p.identity.icon = "echo.png"))),
    problem: "missing_asset",
    file: "provider/echo.yaml",
    field: "identity.icon",
  },
  {
    name: "storage.size 10",
    files: manifestWith((m) => (m.resource.permission.storage.size = 10)),
    problem: "invalid_manifest",
    file: "manifest.yaml",
    field: "resource.permission.storage.size",
    says: "1024..1073741824",
  },
  {
    name: "label without en_US",
    files: manifestWith((m) => (m.label = { zh_Hans: "回声" })),
    problem: "invalid_manifest",
    file: "manifest.yaml",
    field: "label.en_US",
  },
  {
    name: "label that is not a mapping",
    files: manifestWith((m) => (m.label = "Echo")),
    problem: "invalid_manifest",
    file: "manifest.yaml",
    field: "label",
    says: "expected object",
  },
  {
    name: "bad created_at",
    files: manifestWith((m) => (m.created_at = "yesterday")),
    problem: "invalid_manifest",
    file: "manifest.yaml",
    field: "created_at",
  },
  {
    name: "tool parameter of the wrong type",
    files: memory(edit(BASE, "tools/echo.yaml", (t) => (t.parameters[0].required = "yes please"))),
    problem: "invalid_declaration",
    file: "tools/echo.yaml",
    field: "parameters[0].required",
    says: "expected boolean",
  },
  {
    name: "unknown parameter template",
    files: memory({ ...MODEL_BASE, "models/llm/big.yaml": "model: big\nmodel_type: llm\nparameter_rules:\n  - name: t\n    use_template: warmth\n" }),
    problem: "invalid_declaration",
    file: "models/llm/big.yaml",
    field: "parameter_rules[0].use_template",
  },
  {
    name: "malformed model glob",
    files: memory(edit(MODEL_BASE, "provider/acme.yaml", (p) => (p.models.llm.predefined = ["models/llm/[*.yaml"]))),
    problem: "invalid_declaration",
    file: "provider/acme.yaml",
    field: "models.llm.predefined[0]",
  },
  {
    name: "bad tag (package mode)",
    files: manifestWith((m) => (m.tags = ["robots"])),
    validation: "package",
    problem: "invalid_manifest",
    file: "manifest.yaml",
    field: "tags[0]",
    says: '"robots" is not one of search',
  },
  {
    name: "created_at missing (package mode)",
    files: manifestWith((m) => delete m.created_at),
    validation: "package",
    problem: "invalid_manifest",
    file: "manifest.yaml",
    field: "created_at",
  },
  {
    name: "type bundle (package mode)",
    files: manifestWith((m) => (m.type = "bundle")),
    validation: "package",
    problem: "invalid_manifest",
    file: "manifest.yaml",
    field: "type",
  },
  {
    name: "memory zero (package mode)",
    files: manifestWith((m) => (m.resource.memory = 0)),
    validation: "package",
    problem: "invalid_manifest",
    file: "manifest.yaml",
    field: "resource.memory",
  },
  {
    name: "repo not a URL (package mode)",
    files: manifestWith((m) => (m.repo = "my repo")),
    validation: "package",
    problem: "invalid_manifest",
    file: "manifest.yaml",
    field: "repo",
  },
  {
    name: "description without en_US (package mode)",
    files: manifestWith((m) => (m.description = {})),
    validation: "package",
    problem: "invalid_manifest",
    file: "manifest.yaml",
    field: "description.en_US",
  },
];

describe("broken manifests and declarations", () => {
  it.each(BROKEN)("$name", ({ files, validation, problem, file, field, says }) => {
    const err = loadError(files, validation ? { validation } : undefined);
    expect(err.problem).toBe(problem);
    expect(err.detail.file).toBe(file);
    expect(err.detail.field).toBe(field);
    expect(err.message.startsWith(field === undefined ? `${file}: ` : `${file}: ${field}: `)).toBe(true);
    if (typeof says === "string") expect(err.message).toContain(says);
    else if (says) expect(err.message).toMatch(says);
  });

  it("accepts what only the packager refuses when uploading", () => {
    for (const { files } of BROKEN.filter((c) => c.validation === "package")) {
      expect(loadDeclaration(files, { validation: "upload" }).name).toBe("echo");
    }
  });
});

describe("helpers", () => {
  it("matches globs like Go's filepath.Match", () => {
    expect(compileGlob("models/llm/*.yaml").test("models/llm/a.yaml")).toBe(true);
    expect(compileGlob("models/llm/*.yaml").test("models/llm/sub/a.yaml")).toBe(false);
    expect(compileGlob("models/?/x").test("models/a/x")).toBe(true);
    expect(compileGlob("models/?/x").test("models///x")).toBe(false);
    expect(compileGlob("m[a-c]").test("mb")).toBe(true);
    expect(compileGlob("m[^a-c]").test("mb")).toBe(false);
    expect(compileGlob("a\\*b").test("a*b")).toBe(true);
    expect(compileGlob("a\\*b").test("axb")).toBe(false);
    expect(compileGlob("a-b.(yaml)").test("a-b.(yaml)")).toBe(true);
    for (const bad of ["[", "[]", "a\\", "[a-]", "[-a]"]) expect(() => compileGlob(bad)).toThrow();
  });

  it("writes prices as shopspring/decimal does", () => {
    expect(decimalText("5.00")).toBe("5");
    expect(decimalText("0.000001")).toBe("0.000001");
    expect(decimalText("1e-7")).toBe("0.0000001");
    expect(decimalText("1.5e3")).toBe("1500");
    expect(decimalText("-0.50")).toBe("-0.5");
    expect(decimalText("0")).toBe("0");
    expect(decimalText("abc")).toBeUndefined();
    expect(decimalText("1e99999")).toBeUndefined();
  });

  it("formats created_at as Go's JSON does", () => {
    expect(goTimeJson("2024-01-01T00:00:00.000000Z")).toBe("2024-01-01T00:00:00Z");
    expect(goTimeJson("2024-1-2")).toBe("2024-01-02T00:00:00Z");
    expect(goTimeJson("2024-01-02 03:04:05.5")).toBe("2024-01-02T03:04:05.5Z");
    expect(goTimeJson("2024-01-02T03:04:05+08:00")).toBe("2024-01-02T03:04:05+08:00");
    expect(goTimeJson("2024-02-30")).toBeUndefined();
  });
});
