import { filesOf, type PackageArchive } from "./archive.js";
import { packageChecksum } from "./checksum.js";
import { decodeArchive, type DecodeLimits } from "./decode.js";
import { PackageError } from "./errors.js";
import { parseUniqueIdentifier, pluginIdOf, type UniqueIdentifier } from "./identifier.js";
import { loadDeclaration, type PluginDeclarationJson } from "./manifest/load-declaration.js";
import { verifyArchive, type TrustedKey, type Verification } from "./signature.js";

/** DecodedPackage is everything the daemon knows about a package from its bytes alone. */
export interface DecodedPackage {
  readonly archive: PackageArchive;
  readonly uniqueIdentifier: string;
  readonly identifier: UniqueIdentifier;
  readonly pluginId: string;
  readonly checksum: string;
  /** Dify's JSON declaration, `verified` set from the signature check. Icons still name `_assets` files. */
  readonly declaration: PluginDeclarationJson;
  readonly verification: Verification;
}

/**
 * decodePackage turns untrusted bytes into a DecodedPackage: safe unzip within limits, manifest and every
 * declaration file, checksum and unique identifier, signature. Every refusal is a PackageError that says what
 * is wrong; whether an unverified package may be used is the caller's policy (signature-policy.ts).
 */
export async function decodePackage(
  bytes: Buffer,
  options: { readonly limits: DecodeLimits; readonly trustedKeys: readonly TrustedKey[]; readonly expectedIdentifier?: string },
): Promise<DecodedPackage> {
  const archive = await decodeArchive(bytes, options.limits);
  return describeArchive(archive, options);
}

/** describeArchive is decodePackage for an archive already in memory (built by the packager or the signer). */
export function describeArchive(
  archive: PackageArchive,
  options: { readonly trustedKeys: readonly TrustedKey[]; readonly expectedIdentifier?: string },
): DecodedPackage {
  const declaration = loadDeclaration(filesOf(archive));
  const checksum = packageChecksum(archive.entries);
  const uniqueIdentifier = `${declaration.author ? `${declaration.author}/` : ""}${declaration.name}:${declaration.version}@${checksum}`;
  const identifier = parseUniqueIdentifier(uniqueIdentifier);
  if (options.expectedIdentifier !== undefined && options.expectedIdentifier !== uniqueIdentifier) {
    throw new PackageError(
      "identifier_mismatch",
      `plugin unique identifier mismatch: expected ${options.expectedIdentifier}, the package is ${uniqueIdentifier}`,
    );
  }
  const verification = verifyArchive(archive, options.trustedKeys);
  return {
    archive,
    uniqueIdentifier,
    identifier,
    pluginId: pluginIdOf(identifier),
    checksum,
    declaration: { ...declaration, verified: verification.verified },
    verification,
  };
}
