import { fail } from "./fail.js";
import type { PluginCategory } from "./types.js";

/** The provider lists of manifest.yaml's `plugins:`, by the declaration key each one loads into. */
export const PROVIDER_LISTS = {
  tool: "tools",
  model: "models",
  endpoint: "endpoints",
  agent_strategy: "agent_strategies",
  datasource: "datasources",
  trigger: "triggers",
} as const;

export type ProviderKey = keyof typeof PROVIDER_LISTS;

/** Kinds that must be a plugin's only provider, in the order the daemon checks them. Tools and endpoints may mix. */
const ALONE: readonly ProviderKey[] = ["model", "agent_strategy", "datasource", "trigger"];

/**
 * checkCategoryRules enforces the daemon's category rules on the providers actually loaded: at least one, and a model,
 * agent strategy, datasource or trigger provider alone.
 */
export function checkCategoryRules(loaded: ReadonlySet<ProviderKey>): void {
  if (loaded.size === 0) {
    fail(
      "invalid_category",
      { file: "manifest.yaml", field: "plugins" },
      "declares no provider; list a provider file under plugins.tools, models, endpoints, agent_strategies, " +
        "datasources or triggers",
    );
  }
  for (const key of ALONE) {
    if (!loaded.has(key)) continue;
    const others = [...loaded].filter((other) => other !== key);
    if (others.length > 0) {
      const list = others.map((other) => `plugins.${PROVIDER_LISTS[other]}`).join(", ");
      fail(
        "invalid_category",
        { file: "manifest.yaml", field: `plugins.${PROVIDER_LISTS[key]}` },
        `a plugin with ${PROVIDER_LISTS[key]} cannot also declare ${list}; only tools and endpoints may be ` +
          "combined, so ship them as separate plugins",
      );
    }
  }
}

/**
 * categoryOf derives the category by the daemon's priority:
 * tool > model > datasource > agent-strategy > trigger > extension (endpoints only).
 */
export function categoryOf(loaded: ReadonlySet<ProviderKey>): PluginCategory {
  if (loaded.has("tool")) return "tool";
  if (loaded.has("model")) return "model";
  if (loaded.has("datasource")) return "datasource";
  if (loaded.has("agent_strategy")) return "agent-strategy";
  if (loaded.has("trigger")) return "trigger";
  return "extension";
}
