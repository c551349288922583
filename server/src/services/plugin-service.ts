import { create, fromJson, type JsonObject as ProtoJsonObject } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { I18nObjectSchema, VerificationCategory } from "../../../gen/dify/plugin/v1/common_pb.js";
import {
  InstallTaskPluginSchema,
  InstallTaskSchema,
  InstallTaskStatus,
  type InstallTask,
} from "../../../gen/dify/plugin/v1/install_pb.js";
import { PluginService } from "../../../gen/dify/plugin/v1/plugin_service_pb.js";
import type { Db } from "../db/database.js";
import type { JsonObject } from "../db/tables.js";
import { findInstallTask, listInstallTasks, type InstallTaskRecord } from "../db/repositories/install-tasks.js";
import { deleteInstallTaskItem, deleteInstallTasks } from "../db/repositories/lifecycle.js";
import {
  findInstallation,
  listInstallations,
  type InstallationRecord,
  type PluginCategoryName,
} from "../db/repositories/installations.js";
import { InvalidArgumentError, NotFoundError } from "../errors.js";
import type { Lifecycle } from "../plugins/lifecycle.js";
import type { PackageRegistry } from "../plugins/package-registry.js";
import type { PackageSources } from "../plugins/sources.js";
import type { BlobStorage } from "../storage/blob-storage.js";
import { categoryName, declarationFromJson } from "./declaration-json.js";
import { toInstallation } from "./installation-mapping.js";
import { pageWindow, requireTenant, requireUuid } from "./paging.js";
import { createPluginQueries } from "./plugin-queries.js";
import { uploadBundleRpc } from "./upload-bundle.js";


const VERIFICATIONS: Record<string, VerificationCategory> = {
  langgenius: VerificationCategory.LANGGENIUS,
  partner: VerificationCategory.PARTNER,
  community: VerificationCategory.COMMUNITY,
};

function toVerification(category: string | null): VerificationCategory {
  return category === null ? VerificationCategory.NONE : (VERIFICATIONS[category] ?? VerificationCategory.NONE);
}

const TASK_STATUSES: Record<string, InstallTaskStatus> = {
  pending: InstallTaskStatus.PENDING,
  running: InstallTaskStatus.RUNNING,
  success: InstallTaskStatus.SUCCESS,
  failed: InstallTaskStatus.FAILED,
};


function toInstallTask(record: InstallTaskRecord): InstallTask {
  return create(InstallTaskSchema, {
    id: record.id,
    tenantId: record.tenantId,
    status: TASK_STATUSES[record.status] ?? InstallTaskStatus.UNSPECIFIED,
    totalPlugins: record.totalPlugins,
    completedPlugins: record.completedPlugins,
    createdAt: timestampFromDate(record.createdAt),
    updatedAt: timestampFromDate(record.updatedAt),
    plugins: record.plugins.map((p) =>
      create(InstallTaskPluginSchema, {
        pluginUniqueIdentifier: p.pluginUniqueIdentifier,
        pluginId: p.pluginId,
        status: TASK_STATUSES[p.status] ?? InstallTaskStatus.UNSPECIFIED,
        message: p.message,
        labels: fromJson(I18nObjectSchema, p.labels as ProtoJsonObject, { ignoreUnknownFields: true }),
        icon: p.icon,
        iconDark: p.iconDark,
        source: p.source,
      }),
    ),
  });
}

/**
 * createPluginService implements PluginService over the package registry (upload, decode, manifest, assets)
 * and the database (installations, install tasks). Install, upgrade and uninstall come with the lifecycle
 * capability; until then they answer Unimplemented.
 */
export function createPluginService(deps: {
  readonly db: Db;
  readonly packages: PackageRegistry;
  readonly lifecycle: Lifecycle;
  readonly sources: PackageSources;
  readonly storage: BlobStorage;
  readonly maxPackageBytes: number;
  /** MAX_BUNDLE_PACKAGE_SIZE. */
  readonly maxBundleBytes: number;
}): Partial<ServiceImpl<typeof PluginService>> {
  const { db, packages, lifecycle, sources } = deps;
  return {
    ...createPluginQueries({ db, packages, storage: deps.storage, maxPackageBytes: deps.maxPackageBytes }),
    // Embedded packages are all decoded and checked against the signature policy before any is stored.
    ...uploadBundleRpc({ packages, maxBundleBytes: deps.maxBundleBytes }),
    // Whatever arrives is decoded and verified like an upload; a pinned identifier must match what came.
    async installFromMarketplace(req) {
      const tenantId = requireTenant(req.tenantId);
      const plugin = req.plugin;
      if (plugin.case === undefined) throw new InvalidArgumentError("name the plugin: ref {author, name, version} or plugin_unique_identifier");
      const bytes = await sources.marketplace(plugin.case === "ref" ? plugin.value : { uniqueIdentifier: plugin.value });
      const stored = await packages.upload(bytes, {
        requireSignature: req.verifySignature,
        source: "marketplace",
        expectedIdentifier: plugin.case === "pluginUniqueIdentifier" ? plugin.value : undefined,
      });
      const meta = { plugin_unique_identifier: stored.uniqueIdentifier };
      const started = await lifecycle.install({ tenantId, uniqueIdentifiers: [stored.uniqueIdentifier], source: "marketplace", metas: [meta] });
      return { pluginUniqueIdentifier: stored.uniqueIdentifier, ...started };
    },

    async installFromGithub(req) {
      const tenantId = requireTenant(req.tenantId);
      if (!req.asset) throw new InvalidArgumentError("asset is required: {repo, release, asset}");
      const bytes = await sources.github(req.asset);
      const stored = await packages.upload(bytes, { requireSignature: req.verifySignature, source: "github" });
      const meta = { repo: req.asset.repo, version: req.asset.release, package: req.asset.asset };
      const started = await lifecycle.install({ tenantId, uniqueIdentifiers: [stored.uniqueIdentifier], source: "github", metas: [meta] });
      return { pluginUniqueIdentifier: stored.uniqueIdentifier, ...started };
    },

    async installFromIdentifiers(req) {
      const tenantId = requireTenant(req.tenantId);
      return lifecycle.install({
        tenantId,
        uniqueIdentifiers: req.pluginUniqueIdentifiers,
        source: req.source,
        metas: req.metas as JsonObject[],
      });
    },

    async upgradePlugin(req) {
      const tenantId = requireTenant(req.tenantId);
      return lifecycle.upgrade(tenantId, req.originalPluginUniqueIdentifier, req.newPluginUniqueIdentifier, req.source, (req.meta ?? {}) as JsonObject);
    },

    async uninstallPlugin(req) {
      const tenantId = requireTenant(req.tenantId);
      await lifecycle.uninstall(tenantId, requireUuid("plugin_installation_id", req.pluginInstallationId));
      return {};
    },

    async deleteInstallTask(req) {
      const tenantId = requireTenant(req.tenantId);
      // A task deleted while it runs still finishes its installs; only its progress record goes.
      const deleted = await deleteInstallTasks(db, tenantId, requireUuid("task_id", req.taskId));
      if (deleted === 0) throw new NotFoundError(`install task ${req.taskId} not found in tenant ${tenantId}`);
      return {};
    },

    async deleteAllInstallTasks(req) {
      await deleteInstallTasks(db, requireTenant(req.tenantId));
      return {};
    },

    async deleteInstallTaskItem(req) {
      const tenantId = requireTenant(req.tenantId);
      const found = await deleteInstallTaskItem(db, tenantId, requireUuid("task_id", req.taskId), req.pluginUniqueIdentifier);
      if (!found) throw new NotFoundError(`install task ${req.taskId} has no plugin ${req.pluginUniqueIdentifier} in tenant ${tenantId}`);
      return {};
    },

    // Every change of the task's rows, from its state now until it finishes or the caller goes away.
    async *watchInstallTask(req, ctx) {
      const tenantId = requireTenant(req.tenantId);
      const taskId = requireUuid("task_id", req.taskId);
      let wake: () => void = () => undefined;
      const unsubscribe = lifecycle.onTaskChange(taskId, () => wake());
      try {
        for (;;) {
          const changed = new Promise<void>((resolve) => (wake = resolve));
          const task = await findInstallTask(db, tenantId, taskId);
          if (!task) throw new NotFoundError(`install task ${taskId} not found in tenant ${tenantId}`);
          yield { task: toInstallTask(task) };
          if (task.status === "success" || task.status === "failed" || ctx.signal.aborted) return;
          // Changes come from this process; the timeout covers tasks another replica runs.
          await Promise.race([changed, new Promise((r) => setTimeout(r, 1_000)), new Promise((r) => ctx.signal.addEventListener("abort", r, { once: true }))]);
          if (ctx.signal.aborted) return;
        }
      } finally {
        unsubscribe();
      }
    },

    async uploadPackage(req) {
      requireTenant(req.tenantId);
      if (req.package.length === 0) throw new InvalidArgumentError("package is empty: send the .difypkg bytes");
      const stored = await packages.upload(Buffer.from(req.package.buffer, req.package.byteOffset, req.package.byteLength), {
        requireSignature: req.verifySignature,
      });
      return {
        pluginUniqueIdentifier: stored.uniqueIdentifier,
        declaration: declarationFromJson(stored.declaration as JsonObject),
        verification: toVerification(stored.verification),
      };
    },

    async decodePluginFromIdentifier(req) {
      requireTenant(req.tenantId);
      const stored = await packages.find(req.pluginUniqueIdentifier);
      return {
        pluginUniqueIdentifier: stored.uniqueIdentifier,
        declaration: declarationFromJson(stored.declaration as JsonObject),
        verification: toVerification(stored.verification),
      };
    },

    async getPluginManifest(req) {
      requireTenant(req.tenantId);
      const stored = await packages.find(req.pluginUniqueIdentifier);
      return { declaration: declarationFromJson(stored.declaration as JsonObject) };
    },

    async getAsset(req) {
      requireTenant(req.tenantId);
      const asset = await packages.asset(req.assetId);
      return { data: asset.data, mimeType: asset.mimeType };
    },

    async listInstallations(req) {
      const tenantId = requireTenant(req.tenantId);
      const window = pageWindow(req.page, req.pageSize);
      const { records, total } = await listInstallations(
        db,
        tenantId,
        {
          category: categoryName(req.category) as PluginCategoryName | undefined,
          query: req.query,
          language: req.language,
          tags: req.tags,
        },
        window,
      );
      return {
        installations: records.map(toInstallation),
        total: BigInt(total),
        hasMore: window.offset + records.length < total,
      };
    },

    async getInstallation(req) {
      const tenantId = requireTenant(req.tenantId);
      const selector = req.selector;
      let record: InstallationRecord | undefined;
      if (selector.case === "installationId") {
        record = await findInstallation(db, tenantId, { id: requireUuid("installation_id", selector.value) });
      } else if (selector.case === "pluginId") {
        record = await findInstallation(db, tenantId, { pluginId: selector.value });
      } else {
        throw new NotFoundError("no installation selected: set installation_id or plugin_id");
      }
      if (!record) throw new NotFoundError(`plugin ${selector.value} is not installed in tenant ${tenantId}`);
      return { installation: toInstallation(record) };
    },

    async getInstallTask(req) {
      const tenantId = requireTenant(req.tenantId);
      const task = await findInstallTask(db, tenantId, requireUuid("task_id", req.taskId));
      if (!task) throw new NotFoundError(`install task ${req.taskId} not found in tenant ${tenantId}`);
      return { task: toInstallTask(task) };
    },

    async listInstallTasks(req) {
      const tenantId = requireTenant(req.tenantId);
      const tasks = await listInstallTasks(db, tenantId, pageWindow(req.page, req.pageSize));
      return { tasks: tasks.map(toInstallTask) };
    },
  };
}
