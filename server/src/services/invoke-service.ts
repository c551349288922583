import type { ServiceImpl } from "@connectrpc/connect";
import type { InvokeService } from "../../../gen/dify/plugin/v1/invoke_service_pb.js";
import { createDispatch, type DispatchDeps } from "./invoke/dispatch.js";
import { agentRpcs } from "./invoke/agent-rpcs.js";
import { datasourceRpcs } from "./invoke/datasource-rpcs.js";
import { dynamicSelectRpcs } from "./invoke/dynamic-select-rpcs.js";
import { modelRpcs } from "./invoke/model-rpcs.js";
import { oauthRpcs } from "./invoke/oauth-rpcs.js";
import { toolRpcs } from "./invoke/tool-rpcs.js";
import { toolRuntimeRpcs } from "./invoke/tool-runtime-rpcs.js";
import { triggerRpcs } from "./invoke/trigger-rpcs.js";

/**
 * createInvokeService: one RPC per dispatch action, each a thin mapping over the shared dispatch (tenant's
 * installation -> runtime -> session with backwards invocation). InvokeEndpoint comes with the endpoint
 * capability and answers Unimplemented until then.
 */
export function createInvokeService(deps: DispatchDeps): Partial<ServiceImpl<typeof InvokeService>> {
  const dispatch = createDispatch(deps);
  return {
    ...toolRpcs(dispatch),
    ...toolRuntimeRpcs(dispatch),
    ...modelRpcs(dispatch),
    ...agentRpcs(dispatch),
    ...oauthRpcs(dispatch),
    ...dynamicSelectRpcs(dispatch),
    ...datasourceRpcs(dispatch),
    ...triggerRpcs(dispatch),
  };
}
