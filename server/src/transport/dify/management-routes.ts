import { Code } from "@connectrpc/connect";
import { PluginCategory } from "../../../../gen/dify/plugin/v1/common_pb.js";
import { PluginService } from "../../../../gen/dify/plugin/v1/plugin_service_pb.js";
import {
  BindError,
  isUniqueIdentifier,
  optObject,
  optString,
  pageOf,
  pluginIdOf,
  requireIdentifier,
  requireString,
  type JsonRecord,
} from "./binding.js";
import { difyError, ErrorType } from "./envelope.js";
import { mediaType } from "./http-io.js";
import { providerRoutes } from "./provider-routes.js";
import { AnswerError, envelopeRoute, jsonBody, tenantOf, when, type DifyRoute, type RouteContext } from "./route.js";
import { callUnary } from "./rpc.js";
import { PLUGIN_CATEGORIES } from "../../services/declaration-json.js";
import { uploadRoutes } from "./upload-routes.js";
import { declarationJson, installationRowJson, installationViewJson, installTaskJson, runtimeTypeName, verificationJson } from "./wire-shapes.js";

/**
 * The plugin management routes, `/plugin/{tenant_id}/management/...` (spec/dify-http-api.md §2.2, §3): each binds
 * Dify's request, calls the PluginService RPC, and renders the answer as Dify reads it.
 */

const M = "/plugin/:tenant_id/management";
const rpc = PluginService.method;

const LANGUAGES = new Set(["en_US", "zh_Hans", "ja_JP", "pt_BR"]);

const plugin = (ctx: RouteContext) => ctx.services.plugin;

/** queryOrBody reads a GET parameter from the query, or from a JSON body (Dify's `decode/from_identifier` quirk, §3). */
async function queryOrBody(ctx: RouteContext, name: string): Promise<unknown> {
  const fromQuery = ctx.query.get(name);
  if (fromQuery !== null && fromQuery !== "") return fromQuery;
  if (mediaType(ctx.req) !== "application/json") return fromQuery ?? undefined;
  return (await jsonBody(ctx))[name];
}

function categoryOf(value: string | null): PluginCategory {
  if (value === null || value === "") throw BindError.field("Category", "required");
  const category = PLUGIN_CATEGORIES[value];
  if (category === undefined) throw AnswerError.badRequest(`invalid category: ${value}`);
  return category;
}

/** identifiersOf binds the required `plugin_unique_identifiers` array of at most `max` identifiers (`field` names it in errors). */
function identifiersOf(body: JsonRecord, field: string, max: number): string[] {
  const value = body["plugin_unique_identifiers"];
  if (!Array.isArray(value)) throw BindError.field(field, "required");
  if (value.length > max) throw BindError.field(field, "max");
  return value.map((v, i) => requireIdentifier(v, `${field}[${i}]`));
}

export function managementRoutes(): DifyRoute[] {
  return [
    ...uploadRoutes(),

    envelopeRoute("POST", `${M}/install/identifiers`, async (ctx) => {
      const body = await jsonBody(ctx);
      const identifiers = identifiersOf(body, "PluginUniqueIdentifiers", 64);
      const source = requireString(body["source"], "Source");
      const metas = body["metas"] ?? [];
      if (!Array.isArray(metas)) throw BindError.field("Metas", "omitempty");
      if (metas.length !== identifiers.length) {
        throw AnswerError.badRequest("the number of metas must be equal to the number of plugin unique identifiers");
      }
      const res = await callUnary(
        plugin(ctx),
        rpc.installFromIdentifiers,
        { tenantId: tenantOf(ctx), pluginUniqueIdentifiers: identifiers, source, metas: metas.map((m) => optObject(m) ?? {}) as never },
        ctx.scope,
      );
      return { all_installed: res.allInstalled, task_id: res.taskId };
    }),

    envelopeRoute("POST", `${M}/install/upgrade`, async (ctx) => {
      const body = await jsonBody(ctx);
      const original = requireIdentifier(body["original_plugin_unique_identifier"], "OriginalPluginUniqueIdentifier");
      const next = requireIdentifier(body["new_plugin_unique_identifier"], "NewPluginUniqueIdentifier");
      const source = requireString(body["source"], "Source");
      if (original === next) throw AnswerError.badRequest("original and new plugin unique identifier are the same");
      if (pluginIdOf(original) !== pluginIdOf(next)) throw AnswerError.badRequest("original and new plugin id are different");
      const res = await callUnary(
        plugin(ctx),
        rpc.upgradePlugin,
        { tenantId: tenantOf(ctx), originalPluginUniqueIdentifier: original, newPluginUniqueIdentifier: next, source, meta: optObject(body["meta"]) as never },
        ctx.scope,
      );
      return { all_installed: res.allInstalled, task_id: res.taskId };
    }),

    envelopeRoute(
      "GET",
      `${M}/install/tasks/:id`,
      async (ctx) => {
        const res = await callUnary(plugin(ctx), rpc.getInstallTask, { tenantId: tenantOf(ctx), taskId: ctx.params["id"] ?? "" }, ctx.scope);
        if (!res.task) throw new Error("the service answered without a task");
        return installTaskJson(res.task);
      },
      // Gorm's wording, which Dify shows while a finished task has gone (§11.12).
      when(Code.NotFound, difyError(-500, ErrorType.internal, "record not found")),
    ),

    envelopeRoute("GET", `${M}/install/tasks`, async (ctx) => {
      const res = await callUnary(plugin(ctx), rpc.listInstallTasks, { tenantId: tenantOf(ctx), ...pageOf(ctx.query) }, ctx.scope);
      return res.tasks.map(installTaskJson);
    }),

    envelopeRoute("POST", `${M}/install/tasks/delete_all`, async (ctx) => {
      await callUnary(plugin(ctx), rpc.deleteAllInstallTasks, { tenantId: tenantOf(ctx) }, ctx.scope);
      return true;
    }),

    envelopeRoute(
      "POST",
      `${M}/install/tasks/:id/delete`,
      async (ctx) => {
        await callUnary(plugin(ctx), rpc.deleteInstallTask, { tenantId: tenantOf(ctx), taskId: ctx.params["id"] ?? "" }, ctx.scope);
        return true;
      },
      // Deleting by condition succeeds in Go whether or not the task was there.
      when(Code.NotFound, { data: true }),
    ),

    envelopeRoute("POST", `${M}/install/tasks/:id/delete/*identifier`, async (ctx) => {
      const identifier = (ctx.params["identifier"] ?? "").replace(/^\/+/, "");
      if (!isUniqueIdentifier(identifier)) throw AnswerError.badRequest(`plugin_unique_identifier is not valid: ${identifier}`);
      await callUnary(
        plugin(ctx),
        rpc.deleteInstallTaskItem,
        { tenantId: tenantOf(ctx), taskId: ctx.params["id"] ?? "", pluginUniqueIdentifier: identifier },
        ctx.scope,
      );
      return true;
    }),

    envelopeRoute(
      "GET",
      `${M}/decode/from_identifier`,
      async (ctx) => {
        const identifier = requireIdentifier(await queryOrBody(ctx, "plugin_unique_identifier"), "PluginUniqueIdentifier");
        const res = await callUnary(plugin(ctx), rpc.decodePluginFromIdentifier, { tenantId: tenantOf(ctx), pluginUniqueIdentifier: identifier }, ctx.scope);
        return { manifest: declarationJson(res.declaration), unique_identifier: res.pluginUniqueIdentifier, verification: verificationJson(res.verification) };
      },
      (failure) => (failure.connect.code === Code.NotFound ? difyError(-400, ErrorType.badRequest, failure.connect.rawMessage) : undefined),
    ),

    envelopeRoute(
      "GET",
      `${M}/fetch/manifest`,
      async (ctx) => {
        const identifier = requireIdentifier(await queryOrBody(ctx, "plugin_unique_identifier"), "PluginUniqueIdentifier");
        const res = await callUnary(plugin(ctx), rpc.getPluginManifest, { tenantId: tenantOf(ctx), pluginUniqueIdentifier: identifier }, ctx.scope);
        return declarationJson(res.declaration);
      },
      // "Not uploaded yet" is how Dify decides to download the package (§3).
      when(Code.NotFound, difyError(-400, ErrorType.badRequest, "plugin not found")),
    ),

    envelopeRoute("GET", `${M}/fetch/identifier`, async (ctx) => {
      const identifier = requireIdentifier(await queryOrBody(ctx, "plugin_unique_identifier"), "PluginUniqueIdentifier");
      const res = await callUnary(plugin(ctx), rpc.checkPluginExists, { tenantId: tenantOf(ctx), pluginUniqueIdentifier: identifier }, ctx.scope);
      return res.exists;
    }),

    envelopeRoute("GET", `${M}/fetch/readme`, async (ctx) => {
      const identifier = requireIdentifier(await queryOrBody(ctx, "plugin_unique_identifier"), "PluginUniqueIdentifier");
      const language = ctx.query.get("language") ?? "";
      const res = await callUnary(plugin(ctx), rpc.getReadme, { tenantId: tenantOf(ctx), pluginUniqueIdentifier: identifier, language }, ctx.scope);
      return { content: res.content, language: res.language };
    }),

    envelopeRoute(
      "POST",
      `${M}/uninstall`,
      async (ctx) => {
        const id = requireString((await jsonBody(ctx))["plugin_installation_id"], "PluginInstallationID");
        await callUnary(plugin(ctx), rpc.uninstallPlugin, { tenantId: tenantOf(ctx), pluginInstallationId: id }, ctx.scope);
        return true;
      },
      // Uninstalling what is not installed succeeds (§2.2).
      when(Code.NotFound, { data: true }),
    ),

    envelopeRoute("GET", `${M}/list`, async (ctx) => {
      // Dify also sends response_type=paged, which changes nothing.
      const res = await callUnary(plugin(ctx), rpc.listInstallations, { tenantId: tenantOf(ctx), ...pageOf(ctx.query) }, ctx.scope);
      return { list: res.installations.map(installationViewJson), total: Number(res.total) };
    }),

    envelopeRoute("GET", `${M}/installation/ids`, async (ctx) => {
      const category = categoryOf(ctx.query.get("category"));
      const res = await callUnary(plugin(ctx), rpc.listInstalledPluginIds, { tenantId: tenantOf(ctx), category }, ctx.scope);
      return { plugin_ids: res.pluginIds };
    }),

    envelopeRoute("POST", `${M}/installation/fetch/batch`, async (ctx) => {
      const ids = (await jsonBody(ctx))["plugin_ids"];
      if (!Array.isArray(ids)) throw BindError.field("PluginIDs", "required");
      if (ids.length > 256) throw BindError.field("PluginIDs", "max");
      if (ids.length === 0) return [];
      const res = await callUnary(plugin(ctx), rpc.batchGetInstallations, { tenantId: tenantOf(ctx), pluginIds: ids.map(optString) }, ctx.scope);
      return res.installations.map(installationRowJson);
    }),

    envelopeRoute("POST", `${M}/installation/missing`, async (ctx) => {
      const identifiers = identifiersOf(await jsonBody(ctx), "PluginUniqueIdentifiers", 256);
      if (identifiers.length === 0) return [];
      const res = await callUnary(plugin(ctx), rpc.listMissingPlugins, { tenantId: tenantOf(ctx), pluginUniqueIdentifiers: identifiers }, ctx.scope);
      return res.missingPlugins.map((m) => ({ plugin_unique_identifier: m.pluginUniqueIdentifier, current_identifier: m.currentIdentifier }));
    }),

    envelopeRoute("GET", `${M}/models/bindings`, async (ctx) => {
      const res = await callUnary(plugin(ctx), rpc.listModelBindings, { tenantId: tenantOf(ctx) }, ctx.scope);
      return res.bindings.map((b) => ({
        provider: b.provider,
        installation_id: b.installationId,
        plugin_id: b.pluginId,
        plugin_unique_identifier: b.pluginUniqueIdentifier,
        runtime_type: runtimeTypeName(b.runtimeType),
        source: b.source,
        version: b.version,
        verified: b.verified,
      }));
    }),

    ...providerRoutes(),

    envelopeRoute("POST", `${M}/tools/check_existence`, async (ctx) => {
      const ids = (await jsonBody(ctx))["provider_ids"];
      if (!Array.isArray(ids)) throw BindError.field("ProviderIDs", "required");
      const providerIds = ids.map((raw, i) => {
        const ref = optObject(raw) ?? {};
        return {
          pluginId: requireString(ref["plugin_id"], `ProviderIDs[${i}].PluginID`),
          providerName: requireString(ref["provider_name"], `ProviderIDs[${i}].ProviderName`),
        };
      });
      if (providerIds.length === 0) return [];
      const res = await callUnary(plugin(ctx), rpc.checkToolsExistence, { tenantId: tenantOf(ctx), providerIds }, ctx.scope);
      return res.exists;
    }),

    // Registered last: its first segment is a parameter, so the fixed paths above win.
    envelopeRoute("GET", `${M}/:category/list`, async (ctx) => {
      const category = categoryOf(ctx.params["category"] ?? "");
      const query = ctx.query.get("query") ?? "";
      if (query.length > 256) throw BindError.field("Query", "max");
      const tags = ctx.query.getAll("tags");
      if (tags.length > 128) throw BindError.field("Tags", "max");
      const language = ctx.query.get("language") ?? "";
      if (language !== "" && !LANGUAGES.has(language)) throw BindError.field("Language", "oneof");
      const res = await callUnary(
        plugin(ctx),
        rpc.listInstallations,
        { tenantId: tenantOf(ctx), category, ...pageOf(ctx.query), query, tags, language },
        ctx.scope,
      );
      return { list: res.installations.map(installationViewJson), has_more: res.hasMore };
    }),
  ];
}
