import type { PackageFiles } from "../archive.js";
import { at, fail, quote, type Site } from "./fail.js";
import type { I18nText } from "./schema.js";
import type { PluginDeclarationJson } from "./types.js";

/** Where each loaded provider (and each datasource in it) was declared, to name the file in errors. */
export interface IconSources {
  readonly tool?: string;
  readonly model?: string;
  readonly agent_strategy?: string;
  readonly datasource?: string;
  readonly datasourceItems?: readonly Site[];
  readonly trigger?: string;
}

interface IconReference {
  readonly icon: string | undefined;
  readonly site: Site;
}

const MODEL_ICONS = ["icon_small", "icon_large", "icon_small_dark", "icon_large_dark"] as const;
const LANGUAGES = ["en_US", "zh_Hans", "ja_JP", "pt_BR"] as const;

/**
 * iconReferences lists every icon the daemon maps to a stored asset on install: the plugin's icon and icon_dark, the
 * tool, agent strategy, datasource (and each datasource's) and trigger identity icons, and the model provider's four
 * icons in every language.
 */
function iconReferences(d: PluginDeclarationJson, sources: IconSources): IconReference[] {
  const refs: IconReference[] = [
    { icon: d.icon, site: { file: "manifest.yaml", field: "icon" } },
    { icon: d.icon_dark, site: { file: "manifest.yaml", field: "icon_dark" } },
  ];
  const identity = (icon: unknown, file: string | undefined, field: string): void => {
    if (file !== undefined && typeof icon === "string") refs.push({ icon, site: { file, field } });
  };
  for (const key of ["tool", "agent_strategy", "trigger"] as const) {
    identity(d[key]?.identity.icon, sources[key], "identity.icon");
    identity(d[key]?.identity.icon_dark, sources[key], "identity.icon_dark");
  }
  identity(d.datasource?.identity.icon, sources.datasource, "identity.icon");
  d.datasource?.datasources.forEach((item, index) => {
    const site = sources.datasourceItems?.[index];
    if (site) identity(item.identity.icon, site.file, at(site, "identity", "icon").field);
  });
  if (d.model && sources.model !== undefined) {
    for (const name of MODEL_ICONS) {
      const icons: I18nText | undefined = d.model[name];
      for (const language of LANGUAGES) {
        refs.push({ icon: icons?.[language], site: { file: sources.model, field: `${name}.${language}` } });
      }
    }
  }
  return refs;
}

/**
 * checkIcons fails with missing_asset for the first icon that is not a file under `_assets/` (icon names are paths
 * below `_assets/`). Empty icons are skipped, as the daemon skips them.
 */
export function checkIcons(files: PackageFiles, declaration: PluginDeclarationJson, sources: IconSources): void {
  const assets = new Set(files.paths.filter((p) => p.startsWith("_assets/")).map((p) => p.slice("_assets/".length)));
  for (const { icon, site } of iconReferences(declaration, sources)) {
    if (!icon || assets.has(icon)) continue;
    fail("missing_asset", site, `icon ${quote(icon)} is not in the package; add it as _assets/${icon}`);
  }
}
