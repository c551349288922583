import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { BundleDependencySchema, type BundleDependency } from "../../../gen/dify/plugin/v1/install_pb.js";
import { UploadBundleResponseSchema, type PluginService } from "../../../gen/dify/plugin/v1/plugin_service_pb.js";
import type { PackagePolicy } from "../config.js";
import type { JsonObject } from "../db/tables.js";
import { InvalidArgumentError, SignatureError } from "../errors.js";
import { decodeBundle, type PackageDependency } from "../packaging/bundle.js";
import { decodePackage } from "../packaging/decode-package.js";
import { PackageError } from "../packaging/errors.js";
import type { TrustedKey } from "../packaging/signature.js";
import { checkSignaturePolicy } from "../packaging/signature-policy.js";
import type { PackageRegistry, StoredPackage } from "../plugins/package-registry.js";
import { declarationFromJson } from "./declaration-json.js";
import { requireTenant } from "./paging.js";

export interface UploadBundleDeps {
  readonly packages: PackageRegistry;
  /** MAX_BUNDLE_PACKAGE_SIZE: on the bundle's bytes and on its declared uncompressed total. */
  readonly maxBundleBytes: number;
  /**
   * The registry's own policy and keys, so that every embedded package is checked exactly as packages.upload
   * will check it (limits, FORCE_VERIFYING_SIGNATURE, verify_signature, ENFORCE_LANGGENIUS_PLUGIN_SIGNATURES)
   * before any is stored. Without it only the decoding is checked up front, and a package refused by the
   * signature policy leaves the embedded packages before it stored.
   */
  readonly verify?: { readonly policy: PackagePolicy; readonly trustedKeys: readonly TrustedKey[] };
}

/**
 * uploadBundleRpc implements PluginService.UploadBundle: decode the `.difybndl`, decode and verify every
 * embedded package, and only when all passed store them (packages.upload is idempotent per content), then
 * list the dependencies in bundle order, embedded packages by their stored identifier and declaration.
 */
export function uploadBundleRpc(deps: UploadBundleDeps): Pick<ServiceImpl<typeof PluginService>, "uploadBundle"> {
  const { packages, maxBundleBytes, verify } = deps;
  const bundleLimits = { maxPackageBytes: maxBundleBytes, maxUncompressedBytes: maxBundleBytes };
  // Without the policy, an embedded package cannot be larger than the bundle; upload applies the real limit.
  const packageLimit = verify?.policy.maxPackageBytes ?? maxBundleBytes;
  const packageLimits = { maxPackageBytes: packageLimit, maxUncompressedBytes: packageLimit };

  return {
    async uploadBundle(req) {
      requireTenant(req.tenantId);
      if (req.bundle.length === 0) throw new InvalidArgumentError("bundle is empty: send the .difybndl bytes");
      const bundle = await decodeBundle(Buffer.from(req.bundle.buffer, req.bundle.byteOffset, req.bundle.byteLength), bundleLimits);
      const embedded = bundle.dependencies.filter((d): d is PackageDependency => d.type === "package");

      // Phase 1: every embedded package must decode and pass the signature policy before any is stored.
      const identifiers = new Map<PackageDependency, string>();
      for (const dep of embedded) {
        await inBundleFile(dep.file, async () => {
          const decoded = await decodePackage(dep.bytes, { limits: packageLimits, trustedKeys: verify?.trustedKeys ?? [] });
          if (verify) checkSignaturePolicy(decoded.verification, decoded.identifier.author, verify.policy, req.verifySignature);
          identifiers.set(dep, decoded.uniqueIdentifier);
        });
      }

      // Phase 2: store them, pinned to what phase 1 decoded.
      const stored = new Map<PackageDependency, StoredPackage>();
      for (const dep of embedded) {
        const result = await inBundleFile(dep.file, () =>
          packages.upload(dep.bytes, { requireSignature: req.verifySignature, expectedIdentifier: identifiers.get(dep), source: "package" }),
        );
        stored.set(dep, result);
      }

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
