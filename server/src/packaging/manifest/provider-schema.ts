import { z } from "zod";
import {
  bool,
  i18nField,
  itemIdentity,
  itemList,
  oauthSchema,
  objectMap,
  optional,
  optionalI18n,
  optionalProviderConfigs,
  orDefault,
  parameterOption,
  providerConfig,
  providerConfigs,
  providerIdentity,
  text,
} from "./schema.js";

/** Shapes of tool, endpoint, agent strategy, datasource and trigger declarations (see schema.ts for the conventions). */

// ---------------------------------------------------------------------------------------------------------------
// Tools

const toolParameter = z.looseObject({
  name: optional(text),
  label: i18nField,
  human_description: i18nField,
  type: optional(text),
  scope: optional(text),
  form: optional(text),
  llm_description: optional(text),
  required: bool,
  multiple: bool,
  options: optional(z.array(parameterOption)),
});

export const toolDeclaration = z.looseObject({
  identity: orDefault(itemIdentity, {}),
  description: orDefault(z.looseObject({ human: i18nField, llm: optional(text) }), {}),
  parameters: optional(z.array(toolParameter)),
  output_schema: objectMap,
  has_runtime_parameters: bool,
});
export type ToolDeclarationJson = z.output<typeof toolDeclaration>;

export const toolProviderFile = z.looseObject({
  identity: orDefault(providerIdentity, {}),
  credentials_schema: optionalProviderConfigs,
  /** Older name of credentials_schema, used when credentials_schema is absent or empty. */
  credentials_for_provider: optionalProviderConfigs,
  oauth_schema: optional(oauthSchema),
  tools: itemList,
});

// ---------------------------------------------------------------------------------------------------------------
// Endpoints

export const endpointDeclaration = z.looseObject({ path: optional(text), method: optional(text), hidden: bool });
export type EndpointDeclarationJson = z.output<typeof endpointDeclaration>;

export const endpointGroupFile = z.looseObject({
  settings: orDefault(z.array(providerConfig), []),
  endpoints: itemList,
});

// ---------------------------------------------------------------------------------------------------------------
// Agent strategies

const agentStrategyParameter = z.looseObject({
  name: optional(text),
  label: i18nField,
  help: i18nField,
  type: optional(text),
  scope: optional(text),
  required: bool,
  options: optional(z.array(parameterOption)),
});

export const agentStrategyDeclaration = z.looseObject({
  identity: orDefault(itemIdentity, {}),
  description: i18nField,
  parameters: optional(z.array(agentStrategyParameter)),
  output_schema: objectMap,
  features: orDefault(z.array(text), []),
});
export type AgentStrategyDeclarationJson = z.output<typeof agentStrategyDeclaration>;

export const agentStrategyProviderFile = z.looseObject({
  identity: orDefault(providerIdentity, {}),
  strategies: itemList,
});

// ---------------------------------------------------------------------------------------------------------------
// Datasources

const datasourceParameter = z.looseObject({
  name: optional(text),
  label: i18nField,
  type: optional(text),
  scope: optional(text),
  required: bool,
  options: optional(z.array(parameterOption)),
  description: i18nField,
});

export const datasourceDeclaration = z.looseObject({
  identity: orDefault(itemIdentity.extend({ icon: optional(text) }), {}),
  parameters: orDefault(z.array(datasourceParameter), []),
  description: i18nField,
  output_schema: objectMap,
});
export type DatasourceDeclarationJson = z.output<typeof datasourceDeclaration>;

export const datasourceProviderFile = z.looseObject({
  identity: orDefault(providerIdentity, {}),
  credentials_schema: providerConfigs,
  oauth_schema: optional(oauthSchema),
  provider_type: optional(text),
  datasources: itemList,
});

// ---------------------------------------------------------------------------------------------------------------
// Triggers

const eventParameter = z.looseObject({
  name: optional(text),
  label: i18nField,
  type: optional(text),
  required: bool,
  options: optional(z.array(z.looseObject({ label: i18nField, value: z.unknown().optional() }))),
  description: optionalI18n,
});

export const eventDeclaration = z.looseObject({
  identity: orDefault(itemIdentity, {}),
  parameters: optional(z.array(eventParameter)),
  description: i18nField,
  output_schema: objectMap,
});
export type EventDeclarationJson = z.output<typeof eventDeclaration>;

export const triggerProviderFile = z.looseObject({
  identity: orDefault(providerIdentity, {}),
  subscription_schema: providerConfigs,
  subscription_constructor: optional(
    z.looseObject({
      parameters: orDefault(z.array(eventParameter), []),
      credentials_schema: providerConfigs,
      oauth_schema: optional(oauthSchema),
    }),
  ),
  events: itemList,
});

