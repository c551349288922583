import http2 from "node:http2";
import { create } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { InvokeService, InvokeToolResponseSchema } from "../../gen/dify/plugin/v1/invoke_service_pb.js";

/**
 * The floor of the transport the daemon is built on: InvokeTool over Connect-ES on Node's h2 server, answered
 * by a handler that echoes the text parameter at once (no auth, no plugin, no pipe). Run in its own process by
 * the invocation benchmark, so that its throughput compares with the daemon's and the bare pipe's on the same
 * machine in the same run: no daemon on this stack can be faster than this.
 */
const server = http2.createServer(
  connectNodeAdapter({
    routes(router) {
      router.service(InvokeService, {
        async *invokeTool(req) {
          const text = String(req.toolParameters?.["text"] ?? "");
          yield create(InvokeToolResponseSchema, { message: { message: { case: "text", value: { text } } } });
        },
      });
    },
  }),
);
server.listen(0, "127.0.0.1", () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
process.on("SIGTERM", () => process.exit(0));
