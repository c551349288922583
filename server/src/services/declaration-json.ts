import { fromJson, type JsonObject as ProtoJsonObject } from "@bufbuild/protobuf";
import { PluginCategory } from "../../../gen/dify/plugin/v1/common_pb.js";
import { PluginDeclarationSchema, type PluginDeclaration } from "../../../gen/dify/plugin/v1/declaration_pb.js";
import type { JsonObject } from "../db/tables.js";

/**
 * PLUGIN_CATEGORIES: Dify's category words. The declaration is stored in Dify's JSON shape, where only `category`
 * is spelled differently from proto JSON; Dify's HTTP routes take the same words.
 */
export const PLUGIN_CATEGORIES: Readonly<Record<string, PluginCategory>> = {
  tool: PluginCategory.TOOL,
  model: PluginCategory.MODEL,
  extension: PluginCategory.EXTENSION,
  "agent-strategy": PluginCategory.AGENT_STRATEGY,
  datasource: PluginCategory.DATASOURCE,
  trigger: PluginCategory.TRIGGER,
};

/** categoryName is the declaration `category` a PluginCategory filter selects; undefined for UNSPECIFIED. */
export function categoryName(category: PluginCategory): string | undefined {
  return Object.entries(PLUGIN_CATEGORIES).find(([, value]) => value === category)?.[0];
}

/**
 * declarationFromJson turns a stored declaration (Dify's JSON: snake_case keys, `en_US` labels, the
 * category as a word) into the proto message. Proto JSON parsing accepts the original field names, so
 * only the category needs translating; fields Dify has and the contract does not are ignored.
 */
export function declarationFromJson(declaration: JsonObject): PluginDeclaration {
  const { category, ...rest } = declaration;
  const json: ProtoJsonObject = { ...rest };
  // Proto JSON accepts an enum as its number; an unknown word is left unspecified rather than failing the read.
  const value = typeof category === "string" ? PLUGIN_CATEGORIES[category] : undefined;
  if (value !== undefined) json["category"] = value;
  return fromJson(PluginDeclarationSchema, json, { ignoreUnknownFields: true });
}
