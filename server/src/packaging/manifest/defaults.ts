import type { PluginDeclarationJson } from "./types.js";

/**
 * fillInDefaultValues is the daemon's FillInDefaultValues, applied in place to a freshly built declaration: a tool or
 * trigger provider without an English description takes the plugin's, and one without tags takes the plugin's tags;
 * a model provider without a description takes the plugin's. (The plugin's own tags already default to `[]`.)
 */
export function fillInDefaultValues(declaration: PluginDeclarationJson): void {
  for (const provider of [declaration.tool, declaration.trigger]) {
    if (provider === undefined) continue;
    if (provider.identity.description.en_US === "") {
      provider.identity.description = structuredClone(declaration.description);
    }
    if (provider.identity.tags.length === 0) provider.identity.tags = [...declaration.tags];
  }
  if (declaration.model !== undefined && declaration.model.description === undefined) {
    declaration.model.description = structuredClone(declaration.description);
  }
}
