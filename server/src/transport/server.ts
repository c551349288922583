import type { DescFile, DescService } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { file_grpc_health_v1_health } from "../../../gen/grpc/health/v1/health_pb.js";
import { file_grpc_reflection_v1_reflection } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { file_grpc_reflection_v1alpha_reflection } from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import type { Logger } from "../logger.js";
import type { Services } from "../services/registrations.js";
import { createDifyDialect, type DifyDialectDeps } from "./dify/router.js";
import { registerHealth, type ReadinessProbe } from "./health.js";
import { authInterceptor } from "./interceptors/auth.js";
import { errorsInterceptor } from "./interceptors/errors.js";
import { loggingInterceptor } from "./interceptors/logging.js";
import { createOnePortServer, type OnePortServer } from "./one-port-server.js";
import { registerReflection } from "./reflection.js";

/** ServiceRegistration is one of our proto services with its (possibly partial) implementation. */
export interface ServiceRegistration {
  readonly service: DescService;
  readonly impl: object;
}

export interface TransportDeps {
  readonly logger: Logger;
  readonly serverKey: string;
  readonly readiness: ReadinessProbe;
  readonly services: readonly ServiceRegistration[];
  /** Max bytes of one request or response message (packages are uploaded in one message). */
  readonly maxMessageBytes: number;
  /** The Dify HTTP dialect, served on the same port over the same service implementations. */
  readonly dify: {
    readonly services: Services;
    /** MAX_PLUGIN_PACKAGE_SIZE, the largest `dify_pkg` upload. */
    readonly maxPackageBytes: number;
    readonly version: string;
    /** Serves `/e/{hook_id}/...` (endpoint hooks) when given. */
    readonly endpointHooks?: DifyDialectDeps["endpointHooks"];
  };
}

/**
 * createTransport assembles the one port: our services behind the interceptors (log, auth, errors),
 * plus grpc.health.v1 and reflection, over Connect, gRPC and gRPC-Web on HTTP/1.1 and h2c.
 */
export function createTransport(deps: TransportDeps): OnePortServer {
  const serviceNames = deps.services.map((s) => s.service.typeName);
  const files: DescFile[] = [
    ...new Set(deps.services.map((s) => s.service.file)),
    file_grpc_health_v1_health,
    file_grpc_reflection_v1_reflection,
    file_grpc_reflection_v1alpha_reflection,
  ];
  const dify = createDifyDialect({ ...deps.dify, logger: deps.logger, serverKey: deps.serverKey, maxBodyBytes: deps.maxMessageBytes });
  const handler = connectNodeAdapter({
    routes: (router) => {
      for (const s of deps.services) router.service(s.service, s.impl as never);
      registerHealth(router, serviceNames, deps.readiness);
      registerReflection(router, files, [
        ...serviceNames,
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
      ]);
    },
    interceptors: [loggingInterceptor(deps.logger), authInterceptor(deps.serverKey), errorsInterceptor(deps.logger)],
    readMaxBytes: deps.maxMessageBytes,
    writeMaxBytes: deps.maxMessageBytes,
    // Every path that is not an RPC belongs to the Dify dialect, whose unknown-route answer is Go's 404.
    fallback: (req, res) => void dify(req, res),
  });
  return createOnePortServer(handler);
}
