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
import type { ServiceRegistration } from "../transport/server.js";
import { createInvokeService } from "./invoke-service.js";
import { createPluginService } from "./plugin-service.js";

export interface ServiceDeps {
  readonly db: Db;
  readonly logger: Logger;
  readonly packages: PackageRegistry;
  readonly lifecycle: Lifecycle;
  readonly runtimes: RuntimeRegistry;
  readonly installations: InstallationCache;
  readonly sources: PackageSources;
  readonly dify: DifyInnerApi | null;
}

/**
 * createServiceRegistrations lists every service of the contract. A service registered with a partial
 * implementation answers Unimplemented for the RPCs it leaves out (Connect's own behaviour), so the
 * whole surface is routable, visible through reflection, and honest about what works today.
 */
export function createServiceRegistrations(deps: ServiceDeps): ServiceRegistration[] {
  return [
    { service: PluginService, register: (router) => router.service(PluginService, createPluginService(deps)) },
    { service: InvokeService, register: (router) => router.service(InvokeService, createInvokeService(deps)) },
    { service: EndpointService, register: (router) => router.service(EndpointService, {}) },
    { service: DebugService, register: (router) => router.service(DebugService, {}) },
    { service: RepackageService, register: (router) => router.service(RepackageService, {}) },
  ];
}
