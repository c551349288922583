import type { z } from "zod";
import type { PackageFiles } from "../archive.js";
import { at, fail, type Site } from "./fail.js";
import { readReference } from "./paths.js";
import {
  agentStrategyDeclaration,
  agentStrategyProviderFile,
  datasourceDeclaration,
  datasourceProviderFile,
  endpointDeclaration,
  endpointGroupFile,
  eventDeclaration,
  toolDeclaration,
  toolProviderFile,
  triggerProviderFile,
} from "./provider-schema.js";
import { parseShape } from "./shape.js";
import type {
  AgentStrategyProviderJson,
  DatasourceProviderJson,
  EndpointProviderJson,
  ToolProviderJson,
  TriggerProviderJson,
} from "./types.js";
import { isMapping, parseYamlDocument, toMapping, type Mapping } from "./yaml-file.js";

/** A provider read from its file: the JSON, the file, and where each of its items (tools, events, ...) was declared. */
export interface LoadedProvider<T> {
  readonly json: T;
  readonly file: string;
  readonly itemSites: readonly Site[];
}

/** readDeclarationFile reads a referenced YAML file that must hold a mapping. */
export function readDeclarationFile(files: PackageFiles, ref: string, site: Site): { site: Site; value: Mapping } {
  const { path, data } = readReference(files, ref, site);
  return { site: { file: path, field: "" }, value: toMapping(parseYamlDocument(data, path), path, "invalid_declaration") };
}

/**
 * loadItems reads a provider's item list (`tools:`, `strategies:`, `datasources:`, `events:`, `endpoints:`), where
 * each entry is a file path or an inline declaration. As in Go, inline declarations come first (they are decoded
 * with the provider file) and the referenced files follow, each in list order.
 */
function loadItems<T extends z.ZodType>(
  files: PackageFiles,
  list: readonly unknown[] | undefined,
  listSite: Site,
  schema: T,
): { items: z.output<T>[]; sites: Site[] } {
  const inline: { item: z.output<T>; site: Site }[] = [];
  const referenced: { item: z.output<T>; site: Site }[] = [];
  (list ?? []).forEach((entry, index) => {
    const site = at(listSite, index);
    if (isMapping(entry)) {
      inline.push({ item: parseShape(schema, entry, site, "invalid_declaration"), site });
    } else if (typeof entry === "string" || typeof entry === "number" || typeof entry === "boolean") {
      const file = readDeclarationFile(files, String(entry), site);
      referenced.push({ item: parseShape(schema, file.value, file.site, "invalid_declaration"), site: file.site });
    } else if (entry === null || entry === undefined) {
      fail("invalid_declaration", site, "is empty; give a file path or an inline declaration");
    } else {
      fail("invalid_declaration", site, "expected a file path or an inline declaration, found a list");
    }
  });
  const all = [...inline, ...referenced];
  return { items: all.map((e) => e.item), sites: all.map((e) => e.site) };
}

/** Tool provider: identity, credentials (list or mapping; `credentials_for_provider` is the older name), tools. */
export function loadToolProvider(files: PackageFiles, ref: string, site: Site): LoadedProvider<ToolProviderJson> {
  const file = readDeclarationFile(files, ref, site);
  const parsed = parseShape(toolProviderFile, file.value, file.site, "invalid_declaration");
  const { identity, tools, credentials_schema, credentials_for_provider, ...rest } = parsed;
  const loaded = loadItems(files, tools, at(file.site, "tools"), toolDeclaration);
  const credentials = credentials_schema?.length ? credentials_schema : (credentials_for_provider ?? []);
  return {
    json: { identity, credentials_schema: credentials, ...rest, tools: loaded.items },
    file: file.site.file,
    itemSites: loaded.sites,
  };
}

/** Endpoint group: settings and endpoints (path, method, hidden). */
export function loadEndpointGroup(files: PackageFiles, ref: string, site: Site): LoadedProvider<EndpointProviderJson> {
  const file = readDeclarationFile(files, ref, site);
  const { settings, endpoints, ...rest } = parseShape(endpointGroupFile, file.value, file.site, "invalid_declaration");
  const loaded = loadItems(files, endpoints, at(file.site, "endpoints"), endpointDeclaration);
  return { json: { settings, ...rest, endpoints: loaded.items }, file: file.site.file, itemSites: loaded.sites };
}

/** Agent strategy provider: identity and strategies. */
export function loadAgentStrategyProvider(
  files: PackageFiles,
  ref: string,
  site: Site,
): LoadedProvider<AgentStrategyProviderJson> {
  const file = readDeclarationFile(files, ref, site);
  const parsed = parseShape(agentStrategyProviderFile, file.value, file.site, "invalid_declaration");
  const { identity, strategies, ...rest } = parsed;
  const loaded = loadItems(files, strategies, at(file.site, "strategies"), agentStrategyDeclaration);
  return { json: { identity, ...rest, strategies: loaded.items }, file: file.site.file, itemSites: loaded.sites };
}

/** Datasource provider: identity, credentials, provider_type and datasources. */
export function loadDatasourceProvider(
  files: PackageFiles,
  ref: string,
  site: Site,
): LoadedProvider<DatasourceProviderJson> {
  const file = readDeclarationFile(files, ref, site);
  const parsed = parseShape(datasourceProviderFile, file.value, file.site, "invalid_declaration");
  const { identity, credentials_schema, datasources, ...rest } = parsed;
  const loaded = loadItems(files, datasources, at(file.site, "datasources"), datasourceDeclaration);
  return {
    json: { identity, credentials_schema, ...rest, datasources: loaded.items },
    file: file.site.file,
    itemSites: loaded.sites,
  };
}

/** Trigger provider: identity, subscription schema and constructor, events. */
export function loadTriggerProvider(files: PackageFiles, ref: string, site: Site): LoadedProvider<TriggerProviderJson> {
  const file = readDeclarationFile(files, ref, site);
  const parsed = parseShape(triggerProviderFile, file.value, file.site, "invalid_declaration");
  const { identity, subscription_schema, events, ...rest } = parsed;
  const loaded = loadItems(files, events, at(file.site, "events"), eventDeclaration);
  return {
    json: { identity, subscription_schema, ...rest, events: loaded.items },
    file: file.site.file,
    itemSites: loaded.sites,
  };
}
