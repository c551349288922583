import type { ServiceImpl } from "@connectrpc/connect";
import type { InvokeService } from "../../../gen/dify/plugin/v1/invoke_service_pb.js";
import { createDispatch, type DispatchDeps } from "./invoke/dispatch.js";
import { toolRpcs } from "./invoke/tool-rpcs.js";

/**
 * createInvokeService: one RPC per dispatch action, each a thin mapping over the shared dispatch (tenant's
 * installation -> runtime -> session with backwards invocation). RPCs not listed here answer Unimplemented.
 */
export function createInvokeService(deps: DispatchDeps): Partial<ServiceImpl<typeof InvokeService>> {
  const dispatch = createDispatch(deps);
  return {
    ...toolRpcs(dispatch),
  };
}
