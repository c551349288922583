import type { ServiceImpl } from "@connectrpc/connect";
import { CredentialType } from "../../../../gen/dify/plugin/v1/common_pb.js";
import type { InvokeService } from "../../../../gen/dify/plugin/v1/invoke_service_pb.js";
import { lastChunk, type Dispatch } from "./dispatch.js";
import { toolMessageFromChunk } from "./tool-messages.js";

/** Dify's wire names of credential types; unspecified is left out, as Dify leaves it out. */
export const CREDENTIAL_TYPES: Record<number, string> = {
  [CredentialType.API_KEY]: "api-key",
  [CredentialType.OAUTH2]: "oauth2",
  [CredentialType.UNAUTHORIZED]: "unauthorized",
};

/** toolRpcs: invoke_tool (streamed, every ToolInvokeMessage kind typed) and validate_tool_credentials. */
export function toolRpcs(dispatch: Dispatch): Pick<ServiceImpl<typeof InvokeService>, "invokeTool" | "validateToolCredentials"> {
  return {
    async *invokeTool(req, ctx) {
      const data: Record<string, unknown> = {
        provider: req.provider,
        tool: req.tool,
        tool_parameters: req.toolParameters ?? {},
        credentials: req.credentials ?? {},
      };
      const credentialType = CREDENTIAL_TYPES[req.credentialType];
      if (credentialType) data["credential_type"] = credentialType;
      for await (const chunk of dispatch(req, { type: "tool", action: "invoke_tool", data }, ctx.signal)) {
        yield { message: toolMessageFromChunk(chunk) };
      }
    },

    async validateToolCredentials(req, ctx) {
      const data = { provider: req.provider, credentials: req.credentials ?? {} };
      const result = await lastChunk(dispatch(req, { type: "tool", action: "validate_tool_credentials", data }, ctx.signal), "credential validation");
      return { result: result["result"] === true };
    },
  };
}
