import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { GetToolRuntimeParametersRequestSchema } from "../../../../gen/dify/plugin/v1/invoke_service_pb.js";
import { toolRuntimeRpcs } from "./tool-runtime-rpcs.js";
import { fakeDispatch, handlerContext } from "./fake-dispatch.js";

const ctx = () => handlerContext("getToolRuntimeParameters");

const request = (credentials?: Record<string, string>) =>
  create(GetToolRuntimeParametersRequestSchema, {
    tenantId: "tenant-1",
    pluginId: "langgenius/search",
    userId: "user-1",
    pluginUniqueIdentifier: "langgenius/search:0.0.1@abc",
    provider: "search",
    tool: "web_search",
    credentials,
  });

describe("toolRuntimeRpcs.getToolRuntimeParameters", () => {
  it("sends tool/get_tool_runtime_parameters with provider, tool and credentials, and returns the parameters", async () => {
    const parameter = { name: "engine", type: "select", form: "form", options: [{ value: "g", label: { en_US: "G" } }] };
    const { dispatch, calls } = fakeDispatch([{ parameters: [parameter] }]);
    const handlerCtx = ctx();
    const res = await toolRuntimeRpcs(dispatch).getToolRuntimeParameters(request({ api_key: "k" }), handlerCtx);

    expect(calls).toHaveLength(1);
    expect(calls[0]?.request).toStrictEqual({
      type: "tool",
      action: "get_tool_runtime_parameters",
      data: { provider: "search", tool: "web_search", credentials: { api_key: "k" } },
    });
    expect(calls[0]?.target).toMatchObject({ tenantId: "tenant-1", pluginId: "langgenius/search", userId: "user-1", pluginUniqueIdentifier: "langgenius/search:0.0.1@abc" });
    expect(calls[0]?.signal).toBe(handlerCtx.signal);
    expect(res).toStrictEqual({ parameters: [parameter] });
  });

  it("answers an empty list when the plugin ends without a chunk (the SDK has no route for this action)", async () => {
    const { dispatch, calls } = fakeDispatch([]);
    const res = await toolRuntimeRpcs(dispatch).getToolRuntimeParameters(request(), ctx());
    expect(res).toStrictEqual({ parameters: [] });
    expect(calls[0]?.request.data).toStrictEqual({ provider: "search", tool: "web_search", credentials: {} });
  });

  it("fails on a chunk without a parameter list or with a nameless parameter", async () => {
    await expect(toolRuntimeRpcs(fakeDispatch([{ params: [] }]).dispatch).getToolRuntimeParameters(request(), ctx())).rejects.toThrow(
      "the plugin's tool/get_tool_runtime_parameters result lacks parameters (expected a list of objects)",
    );
    await expect(
      toolRuntimeRpcs(fakeDispatch([{ parameters: [{ name: "a" }, { type: "string" }] }]).dispatch).getToolRuntimeParameters(request(), ctx()),
    ).rejects.toThrow("lacks parameters[1].name (expected a string)");
  });
});
