import { create, fromJson, type JsonObject as ProtoJsonObject } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { PluginCategory, RuntimeType } from "../../../gen/dify/plugin/v1/common_pb.js";
import { PluginMetaSchema } from "../../../gen/dify/plugin/v1/declaration_pb.js";
import {
  MissingPluginSchema,
  ModelBindingSchema,
  ProviderInstallationSchema,
  type ProviderInstallation,
} from "../../../gen/dify/plugin/v1/install_pb.js";
import { PluginService } from "../../../gen/dify/plugin/v1/plugin_service_pb.js";
import type { Db } from "../db/database.js";
import { findInstallationsByPluginIds, type PluginCategoryName } from "../db/repositories/installations.js";
import {
  existingToolProviders,
  findProvider,
  findReadmes,
  installedIdentifiers,
  isInstalledAnywhere,
  listInstalledPluginIds,
  listModelBindings,
  listProviders,
  saveReadmes,
  type ProviderKind,
  type ProviderRecord,
} from "../db/repositories/providers.js";
import { InvalidArgumentError, NotFoundError } from "../errors.js";
import { parseUniqueIdentifier, pluginIdOf, type UniqueIdentifier } from "../packaging/identifier.js";
import type { PackageRegistry } from "../plugins/package-registry.js";
import type { BlobStorage } from "../storage/blob-storage.js";
import { categoryName } from "./declaration-json.js";
import { RUNTIME_TYPES, toInstallation } from "./installation-mapping.js";
import { MAX_PAGE_SIZE, pageWindow, requireTenant } from "./paging.js";
import {
  createPackageArchives,
  mimeTypeOfFile,
  pickReadme,
  readmesOf,
  requireFilePath,
  requireLanguage,
} from "./plugin-queries/package-contents.js";

/** A plugin id as unique identifiers spell it: `author/name` (or a bare `name`), lowercase. */
const PLUGIN_ID = /^(?:[a-z0-9_-]{1,64}\/)?[a-z0-9_-]{1,255}$/;
/** The provider column is varchar(127); a short name never contains `/`. */
const MAX_PROVIDER = 127;
/** How many packages known to carry no README are remembered, so they are not decoded on every request. */
const NO_README_MEMORY = 1024;


/** What each provider kind is called in messages. */
const KIND_NAMES: Record<ProviderKind, string> = {
  tool: "tool provider",
  model: "model provider",
  agent_strategy: "agent strategy provider",
  datasource: "datasource provider",
  trigger: "trigger provider",
};

function requirePluginId(field: string, value: string): string {
  if (value === "") throw new InvalidArgumentError(`${field} is required: "author/name", e.g. langgenius/openai`);
  if (!PLUGIN_ID.test(value)) {
    throw new InvalidArgumentError(`${field} "${value.slice(0, 400)}" is not a plugin id: expected "author/name" in lowercase letters, digits, _ and -`);
  }
  return value;
}

function requireIdentifier(field: string, value: string): UniqueIdentifier {
  try {
    return parseUniqueIdentifier(value);
  } catch (err) {
    throw new InvalidArgumentError(`${field}: ${(err as Error).message}`);
  }
}

function requireAtMost<T>(field: string, values: readonly T[], max = MAX_PAGE_SIZE): readonly T[] {
  if (values.length > max) throw new InvalidArgumentError(`${field} has ${values.length} entries: at most ${max}`);
  return values;
}

/**
 * providerRef reads a provider name as Dify sends it: `plugin_id` plus the short name (`/management/tool`), or the
 * full `author/name/provider` in `provider` (with `plugin_id` empty or equal to its plugin part).
 */
function providerRef(pluginIdField: string, pluginId: string, provider: string): { pluginId: string; provider: string } {
  let plugin = pluginId;
  let name = provider;
  const slash = provider.lastIndexOf("/");
  if (slash >= 0) {
    const prefix = provider.slice(0, slash);
    name = provider.slice(slash + 1);
    if (plugin === "") plugin = prefix;
    else if (prefix !== plugin) {
      throw new InvalidArgumentError(`provider "${provider.slice(0, 400)}" belongs to plugin ${prefix.slice(0, 320)}, but ${pluginIdField} is ${plugin.slice(0, 320)}`);
    }
  }
  if (name === "") throw new InvalidArgumentError('provider is required: the provider\'s short name, e.g. "google"');
  if (name.length > MAX_PROVIDER) throw new InvalidArgumentError(`provider "${name.slice(0, 200)}…" is ${name.length} characters: at most ${MAX_PROVIDER}`);
  return { pluginId: requirePluginId(pluginIdField, plugin), provider: name };
}

function toProvider(record: ProviderRecord, withMeta: boolean): ProviderInstallation {
  return create(ProviderInstallationSchema, {
    id: record.id,
    tenantId: record.tenantId,
    pluginId: record.pluginId,
    pluginUniqueIdentifier: record.pluginUniqueIdentifier,
    provider: record.provider,
    createdAt: timestampFromDate(record.createdAt),
    updatedAt: timestampFromDate(record.updatedAt),
    declaration: (record.declaration ?? undefined) as ProtoJsonObject | undefined,
    // Dify carries the plugin's manifest meta on agent strategy providers only.
    meta: withMeta && record.meta ? fromJson(PluginMetaSchema, record.meta as ProtoJsonObject, { ignoreUnknownFields: true }) : undefined,
  });
}


/**
 * createPluginQueries implements PluginService's read-only RPCs over installations and stored packages:
 * per-category provider listings and lookups, tool existence checks, model bindings, batch and missing
 * installation lookups, installed plugin ids, whether a package is installed anywhere, READMEs (cached in
 * plugin_readmes) and single files from inside a stored package.
 *
 * `maxPackageBytes` should be the daemon's MAX_PLUGIN_PACKAGE_SIZE, so a package accepted at upload decodes again.
 */
export function createPluginQueries(deps: {
  readonly db: Db;
  readonly packages: PackageRegistry;
  readonly storage: BlobStorage;
  readonly maxPackageBytes?: number;
}): Partial<ServiceImpl<typeof PluginService>> {
  const { db, packages } = deps;
  const archives = createPackageArchives(deps.storage, deps.maxPackageBytes);
  // Packages are immutable per identifier, so "has no README" stays true; the set only bounds repeated decodes.
  const withoutReadme = new Set<string>();

  async function list(kind: ProviderKind, req: { tenantId: string; page: number; pageSize: number }) {
    const tenantId = requireTenant(req.tenantId);
    const records = await listProviders(db, kind, tenantId, pageWindow(req.page, req.pageSize));
    return { providers: records.map((r) => toProvider(r, kind === "agent_strategy")) };
  }

  async function get(kind: ProviderKind, req: { tenantId: string; pluginId: string; provider: string }) {
    const tenantId = requireTenant(req.tenantId);
    const ref = providerRef("plugin_id", req.pluginId, req.provider);
    const record = await findProvider(db, kind, tenantId, ref.pluginId, ref.provider);
    if (!record) throw new NotFoundError(`${KIND_NAMES[kind]} ${ref.pluginId}/${ref.provider} is not installed in tenant ${tenantId}`);
    return { provider: toProvider(record, kind === "agent_strategy") };
  }

  async function readmes(uniqueIdentifier: string): Promise<Map<string, string>> {
    const cached = await findReadmes(db, uniqueIdentifier);
    if (cached.size > 0 || withoutReadme.has(uniqueIdentifier)) return cached;
    const found = readmesOf(await archives.read(uniqueIdentifier));
    if (found.size > 0) {
      await saveReadmes(db, uniqueIdentifier, found);
    } else {
      if (withoutReadme.size >= NO_README_MEMORY) withoutReadme.clear();
      withoutReadme.add(uniqueIdentifier);
    }
    return found;
  }

  return {
    listToolProviders: (req) => list("tool", req),
    getToolProvider: (req) => get("tool", req),
    listModelProviders: (req) => list("model", req),
    listAgentStrategyProviders: (req) => list("agent_strategy", req),
    getAgentStrategyProvider: (req) => get("agent_strategy", req),
    listDatasourceProviders: (req) => list("datasource", req),
    getDatasourceProvider: (req) => get("datasource", req),
    listTriggerProviders: (req) => list("trigger", req),
    getTriggerProvider: (req) => get("trigger", req),

    async checkToolsExistence(req) {
      const tenantId = requireTenant(req.tenantId);
      const refs = requireAtMost("provider_ids", req.providerIds).map((r, i) =>
        providerRef(`provider_ids[${i}].plugin_id`, r.pluginId, r.providerName),
      );
      const existing = await existingToolProviders(db, tenantId, [...new Set(refs.map((r) => r.pluginId))]);
      return { exists: refs.map((r) => existing.has(`${r.pluginId}/${r.provider}`)) };
    },

    async listModelBindings(req) {
      const tenantId = requireTenant(req.tenantId);
      const records = await listModelBindings(db, tenantId);
      return {
        bindings: records.map((r) =>
          create(ModelBindingSchema, {
            provider: r.provider,
            installationId: r.installationId,
            pluginId: r.pluginId,
            pluginUniqueIdentifier: r.pluginUniqueIdentifier,
            runtimeType: RUNTIME_TYPES[r.runtimeType] ?? RuntimeType.UNSPECIFIED,
            source: r.source,
            version: r.version,
            verified: r.verification !== null,
          }),
        ),
      };
    },

    async batchGetInstallations(req) {
      const tenantId = requireTenant(req.tenantId);
      const pluginIds = [...new Set(requireAtMost("plugin_ids", req.pluginIds).map((id, i) => requirePluginId(`plugin_ids[${i}]`, id)))];
      const records = await findInstallationsByPluginIds(db, tenantId, pluginIds);
      const byPluginId = new Map(records.map((r) => [r.pluginId, r]));
      // Request order; ids the tenant has not installed are skipped.
      return { installations: pluginIds.flatMap((id) => { const r = byPluginId.get(id); return r ? [toInstallation(r)] : []; }) };
    },

    async listInstalledPluginIds(req) {
      const tenantId = requireTenant(req.tenantId);
      const category = categoryName(req.category) as PluginCategoryName | undefined;
      if (category === undefined && req.category !== PluginCategory.UNSPECIFIED) throw new InvalidArgumentError(`category ${req.category} is not a plugin category`);
      return { pluginIds: [...new Set(await listInstalledPluginIds(db, tenantId, category))] };
    },

    async listMissingPlugins(req) {
      const tenantId = requireTenant(req.tenantId);
      const requested = [...new Set(requireAtMost("plugin_unique_identifiers", req.pluginUniqueIdentifiers))];
      const parsed = requested.map((id, i) => ({ id, pluginId: pluginIdOf(requireIdentifier(`plugin_unique_identifiers[${i}]`, id)) }));
      const installed = await installedIdentifiers(db, tenantId, [...new Set(parsed.map((p) => p.pluginId))]);
      return {
        missingPlugins: parsed
          .filter((p) => installed.get(p.pluginId) !== p.id)
          .map((p) => create(MissingPluginSchema, { pluginUniqueIdentifier: p.id, currentIdentifier: installed.get(p.pluginId) ?? "" })),
      };
    },

    async checkPluginExists(req) {
      requireTenant(req.tenantId);
      requireIdentifier("plugin_unique_identifier", req.pluginUniqueIdentifier);
      return { exists: await isInstalledAnywhere(db, req.pluginUniqueIdentifier) };
    },

    async getReadme(req) {
      requireTenant(req.tenantId);
      const language = requireLanguage(req.language);
      const stored = await packages.find(req.pluginUniqueIdentifier);
      const readme = pickReadme(await readmes(stored.uniqueIdentifier), language);
      if (!readme) throw new NotFoundError(`package ${stored.uniqueIdentifier} has no README (README.md or readme/README_<language>.md)`);
      return readme;
    },

    async getPackageFile(req) {
      requireTenant(req.tenantId);
      const filePath = requireFilePath(req.filePath);
      const stored = await packages.find(req.pluginUniqueIdentifier);
      const entry = (await archives.read(stored.uniqueIdentifier)).entries.find((e) => e.name === filePath);
      if (!entry) throw new NotFoundError(`package ${stored.uniqueIdentifier} has no file ${filePath}`);
      return { data: entry.data, mimeType: mimeTypeOfFile(filePath) };
    },
  };
}
