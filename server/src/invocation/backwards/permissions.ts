/**
 * Which manifest permission each backwards invocation type needs (spec plugin-protocol §6.1). A type not
 * listed here is refused; `upload_file` needs none.
 */
type Permission = { readonly [group: string]: { readonly [flag: string]: unknown } | undefined };

const RULES: Record<string, (p: Permission) => boolean> = {
  llm: (p) => on(p, "model", "enabled") && on(p, "model", "llm"),
  llm_structured_output: (p) => on(p, "model", "enabled") && on(p, "model", "llm"),
  system_summary: (p) => on(p, "model", "enabled") && on(p, "model", "llm"),
  text_embedding: (p) => on(p, "model", "enabled") && on(p, "model", "text_embedding"),
  multimodal_embedding: (p) => on(p, "model", "enabled") && on(p, "model", "text_embedding"),
  rerank: (p) => on(p, "model", "enabled") && on(p, "model", "rerank"),
  multimodal_rerank: (p) => on(p, "model", "enabled") && on(p, "model", "rerank"),
  tts: (p) => on(p, "model", "enabled") && on(p, "model", "tts"),
  speech2text: (p) => on(p, "model", "enabled") && on(p, "model", "speech2text"),
  moderation: (p) => on(p, "model", "enabled") && on(p, "model", "moderation"),
  tool: (p) => on(p, "tool", "enabled"),
  app: (p) => on(p, "app", "enabled"),
  fetch_app: (p) => on(p, "app", "enabled"),
  node_parameter_extractor: (p) => on(p, "node", "enabled"),
  node_question_classifier: (p) => on(p, "node", "enabled"),
  storage: (p) => on(p, "storage", "enabled"),
  upload_file: () => true,
};

function on(p: Permission, group: string, flag: string): boolean {
  return p[group]?.[flag] === true;
}

/** permissionError says why a plugin may not make this backwards invocation, or returns null when it may. */
export function permissionError(type: string, permission: Permission | undefined): string | null {
  const rule = RULES[type];
  if (!rule) return `unsupported invoke type: ${type}`;
  if (rule(permission ?? {})) return null;
  const needs = type === "storage" ? "storage" : ["tool", "app", "node"].includes(type) ? type : `model (${type})`;
  return `permission denied, you need to enable ${needs} access in plugin manifest`;
}
