import type { ServiceImpl } from "@connectrpc/connect";
import type { InvokeService } from "../../../../gen/dify/plugin/v1/invoke_service_pb.js";
import { lastChunk, type Dispatch } from "./dispatch.js";
import { credentialTypeField, readChunk } from "./chunk-reader.js";

const ACTION = "dynamic_parameter/fetch_parameter_options";

/**
 * dynamicSelectRpcs: fetch_parameter_options, the choices of a dynamic select parameter of a tool, a trigger
 * event or a provider (`provider_action`). Each option needs a string `value` and a `label` with `en_US`.
 */
export function dynamicSelectRpcs(dispatch: Dispatch): Pick<ServiceImpl<typeof InvokeService>, "fetchParameterOptions"> {
  return {
    async fetchParameterOptions(req, ctx) {
      const data = {
        provider: req.provider,
        provider_action: req.providerAction,
        parameter: req.parameter,
        credentials: req.credentials ?? {},
        ...credentialTypeField(req.credentialType),
      };
      const chunks = dispatch(req, { type: "dynamic_parameter", action: "fetch_parameter_options", data }, ctx.signal);
      const result = readChunk(await lastChunk(chunks, ACTION), ACTION);
      return {
        options: result.readers("options").map((option) => {
          const label = option.reader("label");
          return {
            value: option.string("value"),
            label: {
              enUs: label.string("en_US"),
              zhHans: label.optionalString("zh_Hans") ?? "",
              jaJp: label.optionalString("ja_JP") ?? "",
              ptBr: label.optionalString("pt_BR") ?? "",
            },
            icon: option.optionalString("icon") ?? "",
          };
        }),
      };
    },
  };
}
