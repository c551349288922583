import type { DescService } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { DebugService } from "../../../gen/dify/plugin/v1/debug_service_pb.js";
import { EndpointService } from "../../../gen/dify/plugin/v1/endpoint_service_pb.js";
import { InvokeService } from "../../../gen/dify/plugin/v1/invoke_service_pb.js";
import { PluginService } from "../../../gen/dify/plugin/v1/plugin_service_pb.js";
import { RepackageService } from "../../../gen/dify/plugin/v1/repackage_service_pb.js";
import type { Db } from "../db/database.js";
import type { Logger } from "../logger.js";
import type { DifyInnerApi } from "../invocation/backwards/dify-inner-api.js";
import type { InstallationCache } from "../plugins/installation-cache.js";
import type { Lifecycle } from "../plugins/lifecycle.js";
import type { PackageRegistry } from "../plugins/package-registry.js";
import type { RuntimeRegistry } from "../plugins/runtime-registry.js";
import type { PackageSources } from "../plugins/sources.js";
import type { BlobStorage } from "../storage/blob-storage.js";
import type { DebuggingKeyStore } from "../plugins/debug-keys.js";
import type { Endpoints } from "../plugins/endpoints.js";
import { createDebugService } from "./debug-service.js";
import { createEndpointService, createInvokeEndpointRpc } from "./endpoint-service.js";
import { createInvokeService } from "./invoke-service.js";
import { createPluginService } from "./plugin-service.js";
import { createRepackageService, type RepackageServiceDeps } from "./repackage-service.js";

export interface ServiceDeps {
  readonly db: Db;
  readonly logger: Logger;
  readonly packages: PackageRegistry;
  readonly lifecycle: Lifecycle;
  readonly runtimes: RuntimeRegistry;
  readonly installations: InstallationCache;
  readonly sources: PackageSources;
  readonly storage: BlobStorage;
  /** MAX_PLUGIN_PACKAGE_SIZE, to read stored packages back under the same limit they were accepted with. */
  readonly maxPackageBytes: number;
  /** MAX_BUNDLE_PACKAGE_SIZE. */
  readonly maxBundleBytes: number;
  readonly dify: DifyInnerApi | null;
  readonly endpoints: Endpoints;
  readonly debugging: { readonly keys: DebuggingKeyStore; readonly enabled: boolean; readonly host: string; readonly port: number };
  readonly repackage: Pick<RepackageServiceDeps, "settings" | "trustedKeys" | "signingKey" | "maxConcurrent">;
}

/** One proto service with its (possibly partial) implementation. */
export interface ServiceBinding<S extends DescService = DescService> {
  readonly service: S;
  readonly impl: Partial<ServiceImpl<S>>;
}

/** The implementations of every service of the contract, for every protocol adapter to share. */
export interface Services {
  readonly plugin: Partial<ServiceImpl<typeof PluginService>>;
  readonly invoke: Partial<ServiceImpl<typeof InvokeService>>;
  readonly endpoint: Partial<ServiceImpl<typeof EndpointService>>;
  readonly debug: Partial<ServiceImpl<typeof DebugService>>;
  readonly repackage: Partial<ServiceImpl<typeof RepackageService>>;
}

export function createServices(deps: ServiceDeps): Services {
  return {
    plugin: createPluginService(deps),
    invoke: { ...createInvokeService(deps), ...createInvokeEndpointRpc(deps.endpoints) },
    endpoint: createEndpointService(deps.endpoints),
    debug: createDebugService(deps.debugging),
    repackage: createRepackageService({ ...deps.repackage, packages: deps.packages, storage: deps.storage }),
  };
}

/**
 * bindingsOf lists every service of the contract with its implementation. A partial implementation answers
 * Unimplemented for the RPCs it leaves out (Connect's own behaviour), so the whole surface is routable,
 * visible through reflection, and honest about what works today.
 */
export function bindingsOf(services: Services): ServiceBinding[] {
  return [
    { service: PluginService, impl: services.plugin },
    { service: InvokeService, impl: services.invoke },
    { service: EndpointService, impl: services.endpoint },
    { service: DebugService, impl: services.debug },
    { service: RepackageService, impl: services.repackage },
  ] as ServiceBinding[];
}
