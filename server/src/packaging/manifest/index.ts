/** Reading a plugin's manifest.yaml and provider files into the declaration the daemon's API returns. */
export { loadDeclaration, type LoadDeclarationOptions } from "./load-declaration.js";
export type {
  AgentStrategyProviderJson,
  DatasourceProviderJson,
  EndpointProviderJson,
  ModelProviderJson,
  OAuthSchemaJson,
  PluginCategory,
  PluginDeclarationJson,
  ToolProviderJson,
  TriggerProviderJson,
  ValidationMode,
} from "./types.js";
export type { ModelDeclarationJson, ModelPositionJson, ParameterRuleJson } from "./model-schema.js";
export type {
  AgentStrategyDeclarationJson,
  DatasourceDeclarationJson,
  EndpointDeclarationJson,
  EventDeclarationJson,
  ToolDeclarationJson,
} from "./provider-schema.js";
export type { I18nText, PluginPermissionJson, ProviderConfigJson, ProviderIdentityJson } from "./schema.js";
export { ARCHES, PLUGIN_TAGS } from "./validate.js";
