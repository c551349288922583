import type { ModelDeclarationJson, ModelPositionJson } from "./model-schema.js";
import type {
  AgentStrategyDeclarationJson,
  DatasourceDeclarationJson,
  EndpointDeclarationJson,
  EventDeclarationJson,
  ToolDeclarationJson,
} from "./provider-schema.js";
import type { I18nText, PluginPermissionJson, ProviderConfigJson, ProviderIdentityJson } from "./schema.js";

/** The category Dify files a plugin under, derived from what it declares (tool > model > datasource > ...). */
export type PluginCategory = "tool" | "model" | "extension" | "agent-strategy" | "datasource" | "trigger";

/** How strictly to check: "upload" is what the daemon enforces on upload; "package" adds the CLI packager's rules. */
export type ValidationMode = "upload" | "package";

/*
 * The JSON shapes below are those the Go daemon returns in its API. Known fields are typed; every object also keeps
 * the keys we do not model (the index signature), since Dify reads fields the daemon does not know about.
 */

export interface OAuthSchemaJson {
  client_schema?: ProviderConfigJson[];
  credentials_schema?: ProviderConfigJson[];
  [field: string]: unknown;
}

export interface ToolProviderJson {
  identity: ProviderIdentityJson;
  credentials_schema: ProviderConfigJson[];
  oauth_schema?: OAuthSchemaJson;
  tools: ToolDeclarationJson[];
  [field: string]: unknown;
}

export interface EndpointProviderJson {
  settings: ProviderConfigJson[];
  endpoints: EndpointDeclarationJson[];
  [field: string]: unknown;
}

export interface AgentStrategyProviderJson {
  identity: ProviderIdentityJson;
  strategies: AgentStrategyDeclarationJson[];
  [field: string]: unknown;
}

export interface DatasourceProviderJson {
  identity: ProviderIdentityJson;
  credentials_schema: ProviderConfigJson[];
  oauth_schema?: OAuthSchemaJson;
  provider_type?: string;
  datasources: DatasourceDeclarationJson[];
  [field: string]: unknown;
}

export interface TriggerProviderJson {
  identity: ProviderIdentityJson;
  subscription_schema: ProviderConfigJson[];
  subscription_constructor?: { [field: string]: unknown };
  events: EventDeclarationJson[];
  [field: string]: unknown;
}

export interface ModelProviderJson {
  provider?: string;
  label: I18nText;
  /** Filled from the plugin's description when the provider has none. */
  description?: I18nText;
  icon_small?: I18nText;
  icon_large?: I18nText;
  icon_small_dark?: I18nText;
  icon_large_dark?: I18nText;
  background?: string;
  supported_model_types: string[];
  configurate_methods: string[];
  /** Present (maybe `{}`) when `models:` is a mapping by type; the model names read from each `position` file. */
  position?: ModelPositionJson;
  /** Every model declaration: inline ones, or each package file matched by the `predefined` globs. */
  models: ModelDeclarationJson[];
  [field: string]: unknown;
}

/** The declaration of a plugin as the daemon's API returns it: manifest.yaml plus the loaded provider. */
export interface PluginDeclarationJson {
  version: string;
  type: string;
  author: string;
  name: string;
  label: I18nText;
  description: I18nText;
  icon: string;
  icon_dark: string;
  resource: { memory: number; permission?: PluginPermissionJson; [field: string]: unknown };
  /** The provider file lists as written in manifest.yaml; null where the manifest has none (Go's nil slice). */
  plugins: {
    tools: string[] | null;
    models: string[] | null;
    endpoints: string[] | null;
    agent_strategies: string[] | null;
    datasources: string[] | null;
    triggers: string[] | null;
    [field: string]: unknown;
  };
  meta: {
    version: string;
    arch: string[] | null;
    runner: { language: string; version: string; entrypoint: string; [field: string]: unknown };
    minimum_dify_version: string | null;
    [field: string]: unknown;
  };
  tags: string[];
  /** RFC 3339 as Go writes it; Go's zero time `0001-01-01T00:00:00Z` when the manifest has none. */
  created_at: string;
  privacy?: string;
  repo?: string;
  /** Always false here: whoever checks the signature sets it. */
  verified: boolean;
  category: PluginCategory;
  tool?: ToolProviderJson;
  model?: ModelProviderJson;
  endpoint?: EndpointProviderJson;
  agent_strategy?: AgentStrategyProviderJson;
  datasource?: DatasourceProviderJson;
  trigger?: TriggerProviderJson;
  [field: string]: unknown;
}
