import type { ServiceImpl } from "@connectrpc/connect";
import type { InvokeService } from "../../../../gen/dify/plugin/v1/invoke_service_pb.js";
import type { Dispatch } from "./dispatch.js";
import { readChunk } from "./chunk-reader.js";

/**
 * toolRuntimeRpcs: get_tool_runtime_parameters. The Python SDK registers no route for this action, so a plugin
 * built on it answers with an empty stream and `end`: that is an empty parameter list, not an error.
 */
export function toolRuntimeRpcs(dispatch: Dispatch): Pick<ServiceImpl<typeof InvokeService>, "getToolRuntimeParameters"> {
  return {
    async getToolRuntimeParameters(req, ctx) {
      const data = { provider: req.provider, tool: req.tool, credentials: req.credentials ?? {} };
      let last: unknown;
      for await (const chunk of dispatch(req, { type: "tool", action: "get_tool_runtime_parameters", data }, ctx.signal)) last = chunk;
      if (last === undefined) return { parameters: [] };
      const result = readChunk(last, "tool/get_tool_runtime_parameters");
      // ToolParameter declarations stay free-form (proto Struct); a parameter without a name is unusable.
      const parameters = result.readers("parameters").map((parameter) => {
        parameter.string("name");
        return parameter.raw;
      });
      return { parameters };
    },
  };
}
