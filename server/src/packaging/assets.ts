import { createHash } from "node:crypto";
import path from "node:path";
import type { PackageFiles } from "./archive.js";
import { PackageError } from "./errors.js";
import type { PluginDeclarationJson } from "./manifest/load-declaration.js";

/** An `_assets` file as the daemon stores it, under its content-derived id. */
export interface StoredAsset {
  readonly id: string;
  readonly data: Buffer;
}

/**
 * assetId is the Go daemon's media id: sha256 of the bytes followed by the file name (the path under
 * `_assets/`), as hex, plus the name's extension. Same file, same id, on every daemon.
 */
export function assetId(name: string, data: Buffer): string {
  return createHash("sha256").update(data).update(name, "utf8").digest("hex") + path.extname(name);
}

type Json = Record<string, unknown>;
const LANGUAGES = ["en_US", "zh_Hans", "ja_JP", "pt_BR"] as const;

/**
 * remapAssets returns a copy of the declaration whose icon fields (plugin, tool, agent strategy, datasource and
 * trigger identities, model icons per language) name stored asset ids instead of `_assets` file names, and the
 * assets to store. A referenced icon missing from `_assets` is an error naming the field.
 */
export function remapAssets(
  declaration: PluginDeclarationJson,
  files: PackageFiles,
): { declaration: PluginDeclarationJson; assets: StoredAsset[] } {
  const copy = structuredClone(declaration) as Json;
  const byName = new Map<string, string>();
  const assets: StoredAsset[] = [];
  const remap = (name: string, field: string): string => {
    const known = byName.get(name);
    if (known) return known;
    const data = files.read(`_assets/${name}`);
    if (!data) {
      throw new PackageError("missing_asset", `${field}: icon "${name}" is not in _assets/; add _assets/${name} to the plugin`, {
        field,
        file: "manifest.yaml",
      });
    }
    const id = assetId(name, data);
    byName.set(name, id);
    assets.push({ id, data });
    return id;
  };
  const remapField = (owner: unknown, key: string, field: string): void => {
    if (owner && typeof owner === "object" && typeof (owner as Json)[key] === "string" && (owner as Json)[key] !== "") {
      (owner as Json)[key] = remap((owner as Json)[key] as string, field);
    }
  };

  remapField(copy, "icon", "icon");
  remapField(copy, "icon_dark", "icon_dark");
  for (const category of ["tool", "agent_strategy", "datasource", "trigger"]) {
    const identity = (copy[category] as Json | undefined)?.["identity"];
    remapField(identity, "icon", `${category}.identity.icon`);
    remapField(identity, "icon_dark", `${category}.identity.icon_dark`);
  }
  const model = copy["model"] as Json | undefined;
  for (const key of ["icon_small", "icon_large", "icon_small_dark", "icon_large_dark"]) {
    for (const language of LANGUAGES) remapField(model?.[key], language, `model.${key}.${language}`);
  }
  return { declaration: copy as PluginDeclarationJson, assets };
}

const MIME_TYPES: Record<string, string> = {
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
};

/** mimeTypeOf guesses an asset's content type from its id's extension. */
export function mimeTypeOf(id: string): string {
  return MIME_TYPES[path.extname(id).toLowerCase()] ?? "application/octet-stream";
}
