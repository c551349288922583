import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { BundleDependencySchema, type BundleDependency } from "../../../gen/dify/plugin/v1/install_pb.js";
import { UploadBundleResponseSchema, type PluginService } from "../../../gen/dify/plugin/v1/plugin_service_pb.js";
import type { JsonObject } from "../db/tables.js";
import { InvalidArgumentError, SignatureError } from "../errors.js";
import { decodeBundle, type PackageDependency } from "../packaging/bundle.js";
import { PackageError } from "../packaging/errors.js";
import type { CheckedPackage, PackageRegistry, StoredPackage } from "../plugins/package-registry.js";
import { declarationFromJson } from "./declaration-json.js";
import { requireTenant } from "./paging.js";

export interface UploadBundleDeps {
  readonly packages: PackageRegistry;
  /** MAX_BUNDLE_PACKAGE_SIZE: on the bundle's bytes and on its declared uncompressed total. */
  readonly maxBundleBytes: number;
}

/**
 * uploadBundleRpc implements PluginService.UploadBundle: decode the `.difybndl`, check every embedded package
 * with the registry (decode + signature policy, as an upload), and only when all passed store them, then
 * list the dependencies in bundle order, embedded packages by their stored identifier and declaration.
 */
export function uploadBundleRpc(deps: UploadBundleDeps): Pick<ServiceImpl<typeof PluginService>, "uploadBundle"> {
  const { packages, maxBundleBytes } = deps;
  const bundleLimits = { maxPackageBytes: maxBundleBytes, maxUncompressedBytes: maxBundleBytes };

  return {
    async uploadBundle(req) {
      requireTenant(req.tenantId);
      if (req.bundle.length === 0) throw new InvalidArgumentError("bundle is empty: send the .difybndl bytes");
      const bundle = await decodeBundle(Buffer.from(req.bundle.buffer, req.bundle.byteOffset, req.bundle.byteLength), bundleLimits);
      const embedded = bundle.dependencies.filter((d): d is PackageDependency => d.type === "package");

      // Every embedded package must decode and pass the signature policy before any is stored.
      const checked = new Map<PackageDependency, CheckedPackage>();
      for (const dep of embedded) {
        checked.set(dep, await inBundleFile(dep.file, () => packages.check(dep.bytes, { requireSignature: req.verifySignature, source: "package" })));
      }
      const stored = new Map<PackageDependency, StoredPackage>();
      for (const dep of embedded) stored.set(dep, await inBundleFile(dep.file, () => packages.store(checked.get(dep)!)));

      const dependencies = bundle.dependencies.map((dep): BundleDependency => {
        switch (dep.type) {
          case "github":
            return create(BundleDependencySchema, {
              dependency: {
                case: "github",
                value: { repoAddress: dep.repoAddress, repo: dep.repo, release: dep.release, packages: dep.packages },
              },
            });
          case "marketplace":
            return create(BundleDependencySchema, {
              dependency: { case: "marketplace", value: { organization: dep.organization, plugin: dep.plugin, version: dep.version } },
            });
          case "package": {
            const pkg = stored.get(dep);
            if (!pkg) throw new Error(`embedded package ${dep.file} was not stored`);
            return create(BundleDependencySchema, {
              dependency: {
                case: "uploadedPackage",
                value: { uniqueIdentifier: pkg.uniqueIdentifier, manifest: declarationFromJson(pkg.declaration as JsonObject) },
              },
            });
          }
        }
      });
      return create(UploadBundleResponseSchema, { dependencies });
    },
  };
}

/**
 * inBundleFile runs a step on one embedded package and names the bundle entry in what it throws. The entry is
 * appended, so messages Dify matches on ("plugin installation blocked: …") still start the same.
 */
async function inBundleFile<T>(file: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    const where = ` (embedded package ${JSON.stringify(file)} of the bundle)`;
    if (err instanceof PackageError) throw new PackageError(err.problem, `${err.message}${where}`, err.detail);
    if (err instanceof SignatureError) throw new SignatureError(`${err.message}${where}`, { cause: err });
    throw err;
  }
}
