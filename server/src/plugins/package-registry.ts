import type { PackagePolicy } from "../config.js";
import type { Db } from "../db/database.js";
import type { JsonObject } from "../db/tables.js";
import { InvalidArgumentError, NotFoundError } from "../errors.js";
import type { Logger } from "../logger.js";
import { filesOf } from "../packaging/archive.js";
import { mimeTypeOf, remapAssets } from "../packaging/assets.js";
import { decodePackage, type DecodedPackage } from "../packaging/decode-package.js";
import { parseUniqueIdentifier } from "../packaging/identifier.js";
import type { PluginDeclarationJson } from "../packaging/manifest/load-declaration.js";
import type { AuthorizedCategory, TrustedKey } from "../packaging/signature.js";
import { checkSignaturePolicy } from "../packaging/signature-policy.js";
import { blobKeys, type BlobStorage } from "../storage/blob-storage.js";

/** A package the daemon has stored: what Dify shows before and after install. */
export interface StoredPackage {
  readonly uniqueIdentifier: string;
  /** Icons name stored asset ids. */
  readonly declaration: PluginDeclarationJson;
  /** null when no trusted key signed it (Dify's `verification: null`). */
  readonly verification: AuthorizedCategory | null;
}

export interface PackageRegistryDeps {
  readonly db: Db;
  readonly storage: BlobStorage;
  readonly policy: PackagePolicy;
  readonly trustedKeys: readonly TrustedKey[];
  readonly logger: Logger;
}

/** A package that passed decoding and the signature policy, ready to store. */
export interface CheckedPackage {
  readonly bytes: Buffer;
  readonly decoded: DecodedPackage;
  readonly source: string;
}

export interface UploadOptions {
  readonly requireSignature?: boolean;
  readonly expectedIdentifier?: string;
  readonly source?: string;
}

export interface PackageRegistry {
  /** check decodes a package and applies the signature policy, storing nothing (a bundle checks all first). */
  check(bytes: Buffer, options?: UploadOptions): Promise<CheckedPackage>;
  /** store keeps a checked package with its assets; idempotent per content. */
  store(checked: CheckedPackage): Promise<StoredPackage>;
  /** upload is check, then store. */
  upload(bytes: Buffer, options?: UploadOptions): Promise<StoredPackage>;
  /** find returns a stored package's declaration, or throws NotFound saying to upload it first. */
  find(uniqueIdentifier: string): Promise<StoredPackage>;
  /** asset returns a stored icon or other `_assets` file by its id. */
  asset(id: string): Promise<{ data: Buffer; mimeType: string }>;
}

const ASSET_ID = /^[a-f0-9]{64}(\.[A-Za-z0-9]{1,16})?$/;

/**
 * createPackageRegistry keeps packages by unique identifier: bytes and assets in blob storage, the declaration
 * in the `plugins` table. Blobs are written before the row, so a row never points at a missing package; a
 * failure in between leaves at most an unreferenced, content-addressed blob that the next upload reuses.
 */
export function createPackageRegistry(deps: PackageRegistryDeps): PackageRegistry {
  const { db, storage, policy, trustedKeys } = deps;
  const logger = deps.logger.child({ component: "packages" });
  const limits = { maxPackageBytes: policy.maxPackageBytes, maxUncompressedBytes: policy.maxPackageBytes };

  return {
    async check(bytes, options = {}) {
      const decoded = await decodePackage(bytes, { limits, trustedKeys, expectedIdentifier: options.expectedIdentifier });
      checkSignaturePolicy(decoded.verification, decoded.identifier.author, policy, options.requireSignature);
      return { bytes, decoded, source: options.source ?? "package" };
    },

    async upload(bytes, options) {
      return this.store(await this.check(bytes, options));
    },

    async store({ bytes, decoded, source }) {
      const { declaration, assets } = remapAssets(decoded.declaration, filesOf(decoded.archive));
      for (const asset of assets) {
        const key = blobKeys.asset(asset.id);
        if (!(await storage.exists(key))) await storage.put(key, asset.data);
      }
      await storage.put(blobKeys.package(decoded.uniqueIdentifier), bytes);
      const verification = decoded.verification.verified ? decoded.verification.category : null;
      await db
        .insertInto("plugins")
        .values({
          plugin_unique_identifier: decoded.uniqueIdentifier,
          plugin_id: decoded.pluginId,
          version: decoded.identifier.version,
          checksum: decoded.checksum,
          declaration: JSON.stringify(declaration),
          verification,
          runtime_type: "local",
          source,
          debug_tenant_id: null,
        })
        // Same identifier means same checksum means same content: the stored row is already right.
        .onConflict((oc) => oc.column("plugin_unique_identifier").doNothing())
        .execute();
      logger.info({ plugin: decoded.uniqueIdentifier, verification, assets: assets.length }, "package stored");
      return { uniqueIdentifier: decoded.uniqueIdentifier, declaration, verification };
    },

    async find(uniqueIdentifier) {
      try {
        parseUniqueIdentifier(uniqueIdentifier);
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
      const row = await db
        .selectFrom("plugins")
        .select(["plugin_unique_identifier", "declaration", "verification"])
        .where("plugin_unique_identifier", "=", uniqueIdentifier)
        .executeTakeFirst();
      if (!row) throw new NotFoundError(`package ${uniqueIdentifier} is not stored in this daemon: upload it (or install it from the Marketplace) first`);
      return {
        uniqueIdentifier: row.plugin_unique_identifier,
        declaration: row.declaration as JsonObject as PluginDeclarationJson,
        verification: row.verification,
      };
    },

    async asset(id) {
      if (!ASSET_ID.test(id)) throw new InvalidArgumentError(`"${id.slice(0, 200)}" is not an asset id: expected <64 hex>.<extension>`);
      const data = await storage.get(blobKeys.asset(id));
      if (!data) throw new NotFoundError(`asset ${id} not found`);
      return { data, mimeType: mimeTypeOf(id) };
    },
  };
}
