import { InvalidPackageError } from "../errors.js";

/**
 * Why a package was refused. One reason per distinct problem, so callers (and tests) can tell a zip bomb from a
 * path traversal without parsing messages; the message itself says what is wrong and, for limits, the limit.
 */
export type PackageProblem =
  // container
  | "not_zip"
  | "truncated"
  | "too_large"
  | "uncompressed_too_large"
  | "too_many_entries"
  | "compression_ratio"
  | "size_mismatch"
  | "unsupported_compression"
  | "encrypted_entry"
  | "multi_disk"
  | "corrupt_entry"
  // names
  | "path_traversal"
  | "absolute_path"
  | "backslash_path"
  | "invalid_name"
  | "name_too_long"
  | "directory_entry"
  | "symlink_entry"
  | "duplicate_entry"
  // manifest and declaration
  | "manifest_missing"
  | "manifest_not_root"
  | "invalid_yaml"
  | "invalid_manifest"
  | "missing_file"
  | "invalid_declaration"
  | "invalid_category"
  | "missing_asset"
  // identity
  | "invalid_identifier"
  | "identifier_mismatch";

/** PackageError is an InvalidPackageError with the problem it found and, where it matters, the file and field. */
export class PackageError extends InvalidPackageError {
  constructor(
    readonly problem: PackageProblem,
    message: string,
    readonly detail: { readonly file?: string; readonly field?: string; readonly limit?: number } = {},
  ) {
    super(message);
  }
}
