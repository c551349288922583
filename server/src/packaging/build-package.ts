import { filesOf } from "./archive.js";
import { remapAssets } from "./assets.js";
import { loadDeclaration, type PluginDeclarationJson, type ValidationMode } from "./manifest/load-declaration.js";
import { collectSourceFiles, type SourceFiles } from "./package-directory.js";
import { writeArchive } from "./write-archive.js";

/** A package built from a source tree, unsigned. */
export interface BuiltPackage {
  readonly bytes: Buffer;
  readonly declaration: PluginDeclarationJson;
  readonly files: SourceFiles;
}

/**
 * buildPackage does what `dify plugin package` does: collect the files `.difyignore` lets through, check the
 * manifest with the packager's (stricter) rules and that every icon is in `_assets`, then write the zip in
 * path order. It refuses before writing anything, so a bad tree never produces a package. The repackager asks
 * for the daemon's "upload" rules instead: it repacks published packages, which daemons accept, and must not
 * refuse one because the packager's rules grew stricter since it was published.
 */
export async function buildPackage(
  directory: string,
  options: { readonly maxBytes: number; readonly validation?: ValidationMode },
): Promise<BuiltPackage> {
  const files = await collectSourceFiles(directory, options.maxBytes);
  const view = filesOf({ entries: files.entries, comment: "" });
  const declaration = loadDeclaration(view, { validation: options.validation ?? "package" });
  remapAssets(declaration, view);
  return { bytes: await writeArchive(files.entries), declaration, files };
}
