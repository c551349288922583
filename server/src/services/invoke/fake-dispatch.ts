import { createHandlerContext, type HandlerContext } from "@connectrpc/connect";
import { InvokeService } from "../../../../gen/dify/plugin/v1/invoke_service_pb.js";
import type { ActionRequest, Dispatch, InvokeTarget } from "./dispatch.js";

/**
 * Test helpers for the RPC mapping files: a Dispatch that records what it was asked to send and yields canned
 * plugin chunks (optionally failing after them), and a handler context for calling an RPC directly.
 */
export function fakeDispatch(chunks: unknown[], failAfter?: Error) {
  const calls: { target: InvokeTarget; request: ActionRequest; signal: AbortSignal }[] = [];
  const dispatch: Dispatch = async function* (target, request, signal) {
    calls.push({ target, request, signal });
    yield* chunks;
    if (failAfter) throw failAfter;
  };
  return { dispatch, calls };
}

/** handlerContext makes the context Connect would pass to an InvokeService method. */
export function handlerContext(method: keyof typeof InvokeService.method): HandlerContext {
  const desc = InvokeService.method[method];
  return createHandlerContext({
    service: InvokeService,
    method: desc,
    protocolName: "connect",
    requestMethod: "POST",
    url: `http://localhost/${InvokeService.typeName}/${desc.name}`,
  });
}
