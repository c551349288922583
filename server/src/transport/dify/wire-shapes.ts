import { toJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { RuntimeType, VerificationCategory, type I18nObject } from "../../../../gen/dify/plugin/v1/common_pb.js";
import { PluginDeclarationSchema, type PluginDeclaration, type PluginMeta } from "../../../../gen/dify/plugin/v1/declaration_pb.js";
import type { Endpoint } from "../../../../gen/dify/plugin/v1/endpoint_service_pb.js";
import { InstallTaskStatus, type Installation, type InstallTask, type ProviderInstallation } from "../../../../gen/dify/plugin/v1/install_pb.js";
import { goTime, sortedDeep } from "./wire-json.js";

/**
 * The one mapping from the management messages of the contract to Dify's JSON (spec/dify-http-api.md §2.2):
 * snake_case keys in the Go daemon's field order, `en_US` language keys, enums as Dify's words, int64 as numbers,
 * times as Go writes them. The declaration is the proto's own JSON (original field names) with the few places
 * where Dify's JSON differs fixed here.
 */

type Obj = Record<string, unknown>;

const RUNTIME_TYPES: Readonly<Record<number, string>> = {
  [RuntimeType.LOCAL]: "local",
  [RuntimeType.DEBUG]: "remote",
  [RuntimeType.SERVERLESS]: "serverless",
};

const VERIFICATIONS: Readonly<Record<number, string>> = {
  [VerificationCategory.LANGGENIUS]: "langgenius",
  [VerificationCategory.PARTNER]: "partner",
  [VerificationCategory.COMMUNITY]: "community",
};

const TASK_STATUSES: Readonly<Record<number, string>> = {
  [InstallTaskStatus.PENDING]: "pending",
  [InstallTaskStatus.RUNNING]: "running",
  [InstallTaskStatus.SUCCESS]: "success",
  [InstallTaskStatus.FAILED]: "failed",
};

export const runtimeTypeName = (type: RuntimeType): string => RUNTIME_TYPES[type] ?? "";

/** i18nJson: `{en_US, ja_JP?, zh_Hans?, pt_BR?}`, the optional languages left out when empty (Go's omitempty). */
export function i18nJson(text: I18nObject | undefined): Obj {
  const out: Obj = { en_US: text?.enUs ?? "" };
  if (text?.jaJp) out["ja_JP"] = text.jaJp;
  if (text?.zhHans) out["zh_Hans"] = text.zhHans;
  if (text?.ptBr) out["pt_BR"] = text.ptBr;
  return out;
}

/** verificationJson: `{authorized_category}` of a verified package, null for an unverified one. */
export function verificationJson(category: VerificationCategory): Obj | null {
  const name = VERIFICATIONS[category];
  return name ? { authorized_category: name } : null;
}

const num = (v: JsonValue | undefined): number => Number(v ?? 0);
const obj = (v: JsonValue | undefined): JsonObject => (v && typeof v === "object" && !Array.isArray(v) ? v : {});

/** pluginMetaJson: the manifest `meta` block; `minimum_dify_version` is null when undeclared (a Go nil pointer). */
export function pluginMetaJson(meta: PluginMeta | undefined): Obj {
  return {
    version: meta?.version ?? "",
    arch: meta?.arch ?? [],
    runner: { language: meta?.runner?.language ?? "", version: meta?.runner?.version ?? "", entrypoint: meta?.runner?.entrypoint ?? "" },
    minimum_dify_version: meta?.minimumDifyVersion ?? null,
  };
}

function permissionJson(p: JsonObject): Obj {
  const out: Obj = {};
  const enabled = (block: JsonValue | undefined) => ({ enabled: obj(block)["enabled"] === true });
  if (p["tool"] !== undefined) out["tool"] = enabled(p["tool"]);
  if (p["model"] !== undefined) {
    const m = obj(p["model"]);
    out["model"] = Object.fromEntries(["enabled", "llm", "text_embedding", "rerank", "tts", "speech2text", "moderation"].map((k) => [k, m[k] === true]));
  }
  if (p["node"] !== undefined) out["node"] = enabled(p["node"]);
  if (p["endpoint"] !== undefined) out["endpoint"] = enabled(p["endpoint"]);
  if (p["app"] !== undefined) out["app"] = enabled(p["app"]);
  if (p["storage"] !== undefined) out["storage"] = { enabled: obj(p["storage"])["enabled"] === true, size: num(obj(p["storage"])["size"]) };
  return out;
}

const PROVIDER_KEYS = ["endpoint", "model", "tool", "agent_strategy", "datasource", "trigger"] as const;

/**
 * declarationJson renders a PluginDeclaration as Dify's manifest JSON: the proto JSON with original field names,
 * reordered as the Go daemon writes it, plus `type: "plugin"`; I18n keys `en_US`...; `resource.memory` and
 * `permission.storage.size` as numbers; `category` left out (Dify derives it); provider declarations as stored.
 */
export function declarationJson(d: PluginDeclaration | undefined): Obj | null {
  if (!d) return null;
  const j = toJson(PluginDeclarationSchema, d, { useProtoFieldName: true, alwaysEmitImplicit: true }) as JsonObject;
  const resource = obj(j["resource"]);
  const plugins = obj(j["plugins"]);
  const out: Obj = {
    version: j["version"],
    type: "plugin",
    author: j["author"],
    name: j["name"],
    label: i18nJson(d.label),
    description: i18nJson(d.description),
    icon: j["icon"],
    icon_dark: j["icon_dark"],
    resource: {
      memory: num(resource["memory"]),
      ...(resource["permission"] !== undefined ? { permission: permissionJson(obj(resource["permission"])) } : {}),
    },
    plugins: Object.fromEntries(["tools", "models", "endpoints", "agent_strategies", "datasources", "triggers"].map((k) => [k, plugins[k] ?? []])),
    meta: pluginMetaJson(d.meta),
    tags: j["tags"] ?? [],
    created_at: goTime(d.createdAt),
  };
  if (d.privacy !== undefined) out["privacy"] = d.privacy;
  if (d.repo !== undefined) out["repo"] = d.repo;
  out["verified"] = d.verified;
  for (const key of PROVIDER_KEYS) if (j[key] !== undefined) out[key] = j[key];
  return out;
}

/** installationViewJson: one item of `management/list` (Go's pluginInstallationResponse). */
export function installationViewJson(i: Installation): Obj {
  return {
    id: i.id,
    name: i.name,
    plugin_id: i.pluginId,
    tenant_id: i.tenantId,
    plugin_unique_identifier: i.pluginUniqueIdentifier,
    endpoints_active: i.endpointsActive,
    endpoints_setups: i.endpointsSetups,
    installation_id: i.id,
    declaration: declarationJson(i.declaration),
    runtime_type: runtimeTypeName(i.runtimeType),
    version: i.version,
    created_at: goTime(i.createdAt),
    updated_at: goTime(i.updatedAt),
    source: i.source,
    checksum: i.checksum,
    meta: sortedDeep(i.meta ?? {}),
  };
}

/** installationRowJson: one item of `installation/fetch/batch` (the installation row plus version, checksum, declaration). */
export function installationRowJson(i: Installation): Obj {
  return {
    id: i.id,
    created_at: goTime(i.createdAt),
    updated_at: goTime(i.updatedAt),
    tenant_id: i.tenantId,
    plugin_id: i.pluginId,
    plugin_unique_identifier: i.pluginUniqueIdentifier,
    runtime_type: runtimeTypeName(i.runtimeType),
    endpoints_setups: i.endpointsSetups,
    endpoints_active: i.endpointsActive,
    source: i.source,
    meta: sortedDeep(i.meta ?? {}),
    version: i.version,
    checksum: i.checksum,
    declaration: declarationJson(i.declaration),
  };
}

/** installTaskJson: an install task as Dify polls it. */
export function installTaskJson(t: InstallTask): Obj {
  return {
    id: t.id,
    created_at: goTime(t.createdAt),
    updated_at: goTime(t.updatedAt),
    status: TASK_STATUSES[t.status] ?? "",
    tenant_id: t.tenantId,
    total_plugins: t.totalPlugins,
    completed_plugins: t.completedPlugins,
    plugins: t.plugins.map((p) => ({
      plugin_unique_identifier: p.pluginUniqueIdentifier,
      labels: i18nJson(p.labels),
      icon: p.icon,
      icon_dark: p.iconDark,
      plugin_id: p.pluginId,
      status: TASK_STATUSES[p.status] ?? "",
      message: p.message,
      source: p.source,
    })),
  };
}

/** Which provider listing a row belongs to: the model table puts `provider` before `tenant_id`; agents add `meta`. */
export type ProviderKind = "tool" | "model" | "agent_strategy" | "datasource" | "trigger";

/** providerRowJson: one provider of the per-category listings (row columns, then `declaration`, then agents' `meta`). */
export function providerRowJson(p: ProviderInstallation, kind: ProviderKind): Obj {
  const head = { id: p.id, created_at: goTime(p.createdAt), updated_at: goTime(p.updatedAt) };
  const owner =
    kind === "model"
      ? { provider: p.provider, tenant_id: p.tenantId }
      : { tenant_id: p.tenantId, provider: p.provider };
  const out: Obj = { ...head, ...owner, plugin_unique_identifier: p.pluginUniqueIdentifier, plugin_id: p.pluginId, declaration: p.declaration ?? null };
  if (kind === "agent_strategy") out["meta"] = pluginMetaJson(p.meta);
  return out;
}

/** endpointJson: an endpoint as Dify lists it (Go's models.Endpoint: row, then settings and declaration). */
export function endpointJson(e: Endpoint): Obj {
  return {
    id: e.id,
    created_at: goTime(e.createdAt),
    updated_at: goTime(e.updatedAt),
    name: e.name,
    hook_id: e.hookId,
    tenant_id: e.tenantId,
    user_id: e.userId,
    plugin_id: e.pluginId,
    expired_at: goTime(e.expiredAt),
    enabled: e.enabled,
    settings: sortedDeep(e.settings ?? {}),
    declaration: {
      settings: e.declaration?.settings ?? [],
      endpoints: (e.declaration?.endpoints ?? []).map((r) => ({ path: r.path, method: r.method, hidden: r.hidden })),
    },
  };
}
