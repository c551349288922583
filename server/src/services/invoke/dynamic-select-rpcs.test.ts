import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CredentialType } from "../../../../gen/dify/plugin/v1/common_pb.js";
import { FetchParameterOptionsRequestSchema } from "../../../../gen/dify/plugin/v1/invoke_service_pb.js";
import { dynamicSelectRpcs } from "./dynamic-select-rpcs.js";
import { fakeDispatch, handlerContext } from "./fake-dispatch.js";

const ctx = () => handlerContext("fetchParameterOptions");

const request = (credentialType = CredentialType.UNSPECIFIED) =>
  create(FetchParameterOptionsRequestSchema, {
    tenantId: "tenant-1",
    pluginId: "langgenius/slack",
    userId: "user-1",
    provider: "slack",
    providerAction: "send_message",
    parameter: "channel",
    credentials: { access_token: "t" },
    credentialType,
  });

describe("dynamicSelectRpcs.fetchParameterOptions", () => {
  it("sends dynamic_parameter/fetch_parameter_options with credential_type and maps the options", async () => {
    const { dispatch, calls } = fakeDispatch([
      {
        options: [
          { value: "C1", label: { en_US: "general", zh_Hans: "常规", ja_JP: null }, icon: "https://x/icon.png" },
          { value: "C2", label: { en_US: "random" }, icon: null },
        ],
      },
    ]);
    const handlerCtx = ctx();
    const res = await dynamicSelectRpcs(dispatch).fetchParameterOptions(request(CredentialType.OAUTH2), handlerCtx);

    expect(calls[0]?.request).toStrictEqual({
      type: "dynamic_parameter",
      action: "fetch_parameter_options",
      data: { provider: "slack", provider_action: "send_message", parameter: "channel", credentials: { access_token: "t" }, credential_type: "oauth2" },
    });
    expect(calls[0]?.target).toMatchObject({ tenantId: "tenant-1", pluginId: "langgenius/slack", userId: "user-1" });
    expect(calls[0]?.signal).toBe(handlerCtx.signal);
    expect(res).toStrictEqual({
      options: [
        { value: "C1", label: { enUs: "general", zhHans: "常规", jaJp: "", ptBr: "" }, icon: "https://x/icon.png" },
        { value: "C2", label: { enUs: "random", zhHans: "", jaJp: "", ptBr: "" }, icon: "" },
      ],
    });
  });

  it("leaves credential_type out when unspecified", async () => {
    const { dispatch, calls } = fakeDispatch([{ options: [] }]);
    expect(await dynamicSelectRpcs(dispatch).fetchParameterOptions(request(), ctx())).toStrictEqual({ options: [] });
    expect(calls[0]?.request.data).not.toHaveProperty("credential_type");
  });

  it("fails on an option without an English label or with a non-string value", async () => {
    await expect(
      dynamicSelectRpcs(fakeDispatch([{ options: [{ value: "a", label: { en_US: "A" } }, { value: "b", label: { zh_Hans: "乙" } }] }]).dispatch).fetchParameterOptions(
        request(),
        ctx(),
      ),
    ).rejects.toThrow("the plugin's dynamic_parameter/fetch_parameter_options result lacks options[1].label.en_US (expected a string)");
    await expect(
      dynamicSelectRpcs(fakeDispatch([{ options: [{ value: 1, label: { en_US: "one" } }] }]).dispatch).fetchParameterOptions(request(), ctx()),
    ).rejects.toThrow("has options[0].value as a number, expected a string");
    await expect(dynamicSelectRpcs(fakeDispatch([{}]).dispatch).fetchParameterOptions(request(), ctx())).rejects.toThrow(
      "lacks options (expected a list of objects)",
    );
  });
});
