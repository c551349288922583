import type { ServiceImpl } from "@connectrpc/connect";
import type { InvokeService } from "../../../../gen/dify/plugin/v1/invoke_service_pb.js";
import { InvalidArgumentError } from "../../errors.js";
import { BlobAssembler } from "./agent-blobs.js";
import type { Dispatch } from "./dispatch.js";

/**
 * agentRpcs: invoke_agent_strategy, streamed. The chunks are ToolInvokeMessages, except that the daemon
 * re-assembles each blob_chunk sequence into one blob message (agent-blobs.ts), as the Go daemon does.
 */
export function agentRpcs(dispatch: Dispatch): Pick<ServiceImpl<typeof InvokeService>, "invokeAgentStrategy"> {
  return {
    async *invokeAgentStrategy(req, ctx) {
      if (req.agentStrategyProvider === "") throw new InvalidArgumentError("agent_strategy_provider is required");
      if (req.agentStrategy === "") throw new InvalidArgumentError("agent_strategy is required");
      const data = {
        agent_strategy_provider: req.agentStrategyProvider,
        agent_strategy: req.agentStrategy,
        agent_strategy_params: req.agentStrategyParams ?? {},
      };
      const blobs = new BlobAssembler();
      for await (const chunk of dispatch(req, { type: "agent_strategy", action: "invoke_agent_strategy", data }, ctx.signal)) {
        const message = blobs.accept(chunk);
        if (message) yield { message };
      }
    },
  };
}
