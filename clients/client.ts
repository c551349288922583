import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { DebugService } from "../gen/dify/plugin/v1/debug_service_pb.js";
import { EndpointService } from "../gen/dify/plugin/v1/endpoint_service_pb.js";
import { InvokeService } from "../gen/dify/plugin/v1/invoke_service_pb.js";
import { PluginService } from "../gen/dify/plugin/v1/plugin_service_pb.js";
import { RepackageService } from "../gen/dify/plugin/v1/repackage_service_pb.js";

/** The wire protocols the daemon serves on its one port. */
export type Protocol = "connect" | "connect-binary" | "grpc" | "grpc-web";

export interface ClientOptions {
  /** e.g. http://127.0.0.1:5002 */
  readonly baseUrl: string;
  /** The daemon's SERVER_KEY; health needs none. */
  readonly apiKey?: string;
  /** Default "connect" (JSON over HTTP/1.1, what curl speaks). gRPC always uses HTTP/2. */
  readonly protocol?: Protocol;
  /** For connect and grpc-web: "1.1" (default) or "2". */
  readonly httpVersion?: "1.1" | "2";
}

/** DaemonClients holds one typed client per service of the daemon, sharing one transport. */
export interface DaemonClients {
  readonly plugins: Client<typeof PluginService>;
  readonly invoke: Client<typeof InvokeService>;
  readonly endpoints: Client<typeof EndpointService>;
  readonly debug: Client<typeof DebugService>;
  readonly repackage: Client<typeof RepackageService>;
  readonly health: Client<typeof Health>;
}

/** createDaemonClients builds typed clients for every service over the chosen protocol. */
export function createDaemonClients(options: ClientOptions): DaemonClients {
  const transport = createTransport(options);
  return {
    plugins: createClient(PluginService, transport),
    invoke: createClient(InvokeService, transport),
    endpoints: createClient(EndpointService, transport),
    debug: createClient(DebugService, transport),
    repackage: createClient(RepackageService, transport),
    health: createClient(Health, transport),
  };
}

/** createTransport is exported for callers that build clients for one service only. */
export function createTransport(options: ClientOptions): Transport {
  const interceptors: Interceptor[] = options.apiKey ? [withApiKey(options.apiKey)] : [];
  const httpVersion = options.httpVersion ?? "1.1";
  switch (options.protocol ?? "connect") {
    case "connect":
      return createConnectTransport({ baseUrl: options.baseUrl, httpVersion, interceptors });
    case "connect-binary":
      return createConnectTransport({ baseUrl: options.baseUrl, httpVersion, interceptors, useBinaryFormat: true });
    case "grpc":
      return createGrpcTransport({ baseUrl: options.baseUrl, interceptors });
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl: options.baseUrl, httpVersion, interceptors });
  }
}

function withApiKey(apiKey: string): Interceptor {
  return (next) => (req) => {
    req.header.set("x-api-key", apiKey);
    return next(req);
  };
}
