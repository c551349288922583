import type { PackageFiles } from "../archive.js";
import { checkIcons } from "./assets.js";
import { categoryOf, checkCategoryRules, PROVIDER_LISTS, type ProviderKey } from "./category.js";
import { fillInDefaultValues } from "./defaults.js";
import { fail, type Site } from "./fail.js";
import { loadModelProvider } from "./models.js";
import {
  loadAgentStrategyProvider,
  loadDatasourceProvider,
  loadEndpointGroup,
  loadToolProvider,
  loadTriggerProvider,
  type LoadedProvider,
} from "./providers.js";
import { manifestFile, type ManifestFile } from "./schema.js";
import { parseShape } from "./shape.js";
import { goTimeJson, ZERO_TIME } from "./timestamp.js";
import type {
  AgentStrategyProviderJson,
  DatasourceProviderJson,
  EndpointProviderJson,
  ModelProviderJson,
  PluginDeclarationJson,
  ToolProviderJson,
  TriggerProviderJson,
  ValidationMode,
} from "./types.js";
import { validateManifest } from "./validate.js";
import { keepScalarText, parseYamlDocument, toMapping } from "./yaml-file.js";

export type { PluginDeclarationJson, ValidationMode } from "./types.js";

export interface LoadDeclarationOptions {
  /** "upload" (the default) checks what the daemon enforces on upload; "package" adds the CLI packager's rules. */
  readonly validation?: ValidationMode;
}

const MANIFEST = "manifest.yaml";

/** Fields Go reads as strings whose YAML text matters even when it looks like a number (`version: 1.10`). */
const TEXT_FIELDS = [
  ["version"],
  ["author"],
  ["name"],
  ["meta", "version"],
  ["meta", "runner", "version"],
  ["meta", "minimum_dify_version"],
];

/**
 * Manifest keys toDeclarationJson lays out itself, and keys the loader computes (a manifest.yaml cannot set those);
 * any other key of manifest.yaml is passed through.
 */
const NOT_PASSED_THROUGH = new Set([
  ...["version", "type", "author", "name", "label", "description", "icon", "icon_dark", "resource", "plugins"],
  ...["meta", "tags", "created_at", "privacy", "repo", "verified", "category", ...Object.keys(PROVIDER_LISTS)],
]);

interface LoadedProviders {
  tool?: LoadedProvider<ToolProviderJson>;
  model?: LoadedProvider<ModelProviderJson>;
  endpoint?: LoadedProvider<EndpointProviderJson>;
  agent_strategy?: LoadedProvider<AgentStrategyProviderJson>;
  datasource?: LoadedProvider<DatasourceProviderJson>;
  trigger?: LoadedProvider<TriggerProviderJson>;
}

/**
 * loadDeclaration reads a plugin's manifest.yaml and every provider file it lists, checks them, and returns the
 * declaration in the JSON shape the daemon's API uses (`verified` is false: the caller sets it after checking the
 * signature). Paths in the manifest and provider files are relative to the package root and may not leave it.
 * Throws PackageError: manifest_missing, manifest_not_root, invalid_yaml, invalid_manifest, missing_file,
 * invalid_declaration, invalid_category or missing_asset, each message naming the file and field.
 */
export function loadDeclaration(files: PackageFiles, options: LoadDeclarationOptions = {}): PluginDeclarationJson {
  const manifest = readManifest(files);
  validateManifest(manifest, options.validation ?? "upload");
  const providers = loadProviders(files, manifest);
  const loaded = new Set(Object.keys(providers) as ProviderKey[]);
  checkCategoryRules(loaded);
  const declaration = toDeclarationJson(manifest, providers, loaded);
  fillInDefaultValues(declaration);
  checkIcons(files, declaration, {
    tool: providers.tool?.file,
    model: providers.model?.file,
    agent_strategy: providers.agent_strategy?.file,
    datasource: providers.datasource?.file,
    datasourceItems: providers.datasource?.itemSites,
    trigger: providers.trigger?.file,
  });
  return declaration;
}

function readManifest(files: PackageFiles): ManifestFile {
  const data = files.read(MANIFEST);
  if (data === undefined) {
    const nested = files.paths.find((path) => /^[^/]+\/manifest\.yaml$/.test(path));
    if (nested !== undefined) {
      const folder = nested.slice(0, -`/${MANIFEST}`.length);
      fail(
        "manifest_not_root",
        { file: nested, field: "" },
        `manifest.yaml must be at the root of the package, not in ${folder}/: the package was zipped from the folder ` +
          `above the plugin. Zip the contents of ${folder}/ instead (cd ${folder} && zip -r -D ../${folder}.difypkg .), ` +
          `or build it with \`dify plugin package ${folder}\``,
      );
    }
    const what = "is not in the package; every plugin package has manifest.yaml at its root";
    fail("manifest_missing", { file: MANIFEST, field: "" }, what);
  }
  const doc = parseYamlDocument(data, MANIFEST);
  for (const path of TEXT_FIELDS) keepScalarText(doc, path);
  const raw = toMapping(doc, MANIFEST, "invalid_manifest");
  return parseShape(manifestFile, raw, { file: MANIFEST, field: "" }, "invalid_manifest");
}

/**
 * loadProviders loads every file each `plugins:` list names, in the daemon's order. A list may name several files,
 * and each must load, but as in the daemon each one replaces the previous: a plugin has one provider per kind.
 */
function loadProviders(files: PackageFiles, manifest: ManifestFile): LoadedProviders {
  const out: LoadedProviders = {};
  type Loader<T> = (files: PackageFiles, ref: string, site: Site) => LoadedProvider<T>;
  const each = <T>(key: ProviderKey, load: Loader<T>): LoadedProvider<T> | undefined => {
    let last: LoadedProvider<T> | undefined;
    manifest.plugins[PROVIDER_LISTS[key]]?.forEach((ref, index) => {
      last = load(files, ref, { file: MANIFEST, field: `plugins.${PROVIDER_LISTS[key]}[${index}]` });
    });
    return last;
  };
  const tool = each("tool", loadToolProvider);
  const endpoint = each("endpoint", loadEndpointGroup);
  const model = each("model", loadModelProvider);
  const agent_strategy = each("agent_strategy", loadAgentStrategyProvider);
  const datasource = each("datasource", loadDatasourceProvider);
  const trigger = each("trigger", loadTriggerProvider);
  if (tool) out.tool = tool;
  if (endpoint) out.endpoint = endpoint;
  if (model) out.model = model;
  if (agent_strategy) out.agent_strategy = agent_strategy;
  if (datasource) out.datasource = datasource;
  if (trigger) out.trigger = trigger;
  return out;
}

/** toDeclarationJson lays the manifest out as Go's JSON does: every field present, nil lists as null. */
function toDeclarationJson(
  m: ManifestFile,
  providers: LoadedProviders,
  loaded: ReadonlySet<ProviderKey>,
): PluginDeclarationJson {
  const { version, type, author, name, label, description, icon, icon_dark, resource, plugins, meta, tags } = m;
  const { created_at, privacy, repo } = m;
  const extra = Object.fromEntries(Object.entries(m).filter(([key]) => !NOT_PASSED_THROUGH.has(key)));
  const { memory, permission, ...moreResource } = resource;
  const { tools, models, endpoints, agent_strategies, datasources, triggers, ...morePlugins } = plugins;
  const { runner, arch, minimum_dify_version, version: metaVersion, ...moreMeta } = meta;
  const { language, version: runnerVersion, entrypoint, ...moreRunner } = runner;
  return {
    version: version ?? "",
    type: type ?? "",
    author: author ?? "",
    name: name ?? "",
    label,
    description,
    icon: icon ?? "",
    icon_dark: icon_dark ?? "",
    resource: { memory: memory ?? 0, ...(permission ? { permission } : {}), ...moreResource },
    plugins: {
      tools: tools ?? null,
      models: models ?? null,
      endpoints: endpoints ?? null,
      agent_strategies: agent_strategies ?? null,
      datasources: datasources ?? null,
      triggers: triggers ?? null,
      ...morePlugins,
    },
    meta: {
      version: metaVersion ?? "",
      arch: arch ?? null,
      runner: { language: language ?? "", version: runnerVersion ?? "", entrypoint: entrypoint ?? "", ...moreRunner },
      minimum_dify_version: minimum_dify_version ?? null,
      ...moreMeta,
    },
    tags: tags ?? [],
    created_at: (created_at && goTimeJson(created_at)) || ZERO_TIME,
    ...(privacy === undefined ? {} : { privacy }),
    ...(repo === undefined ? {} : { repo }),
    ...extra,
    verified: false,
    category: categoryOf(loaded),
    ...(providers.endpoint ? { endpoint: providers.endpoint.json } : {}),
    ...(providers.model ? { model: providers.model.json } : {}),
    ...(providers.tool ? { tool: providers.tool.json } : {}),
    ...(providers.agent_strategy ? { agent_strategy: providers.agent_strategy.json } : {}),
    ...(providers.datasource ? { datasource: providers.datasource.json } : {}),
    ...(providers.trigger ? { trigger: providers.trigger.json } : {}),
  };
}
