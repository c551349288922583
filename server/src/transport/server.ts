import type { DescFile, DescService } from "@bufbuild/protobuf";
import { connectNodeAdapter, type ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import { file_grpc_health_v1_health } from "../../../gen/grpc/health/v1/health_pb.js";
import { file_grpc_reflection_v1_reflection } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { file_grpc_reflection_v1alpha_reflection } from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import type { Logger } from "../logger.js";
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
    fallback: notFound,
  });
  return createOnePortServer(handler);
}

type NodeHandler = NonNullable<ConnectNodeAdapterOptions["fallback"]>;

const notFound: NodeHandler = (req, res) => {
  const body = JSON.stringify({ code: "not_found", message: `no route for ${req.method} ${req.url}` });
  res.writeHead(404, { "content-type": "application/json" });
  res.end(body);
};
