import { create } from "@bufbuild/protobuf";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CredentialType } from "../../../../gen/dify/plugin/v1/common_pb.js";
import {
  DispatchTriggerEventRequestSchema,
  InvokeService,
  InvokeTriggerEventRequestSchema,
  RefreshTriggerRequestSchema,
  SubscribeTriggerRequestSchema,
  UnsubscribeTriggerRequestSchema,
  ValidateTriggerCredentialsRequestSchema,
} from "../../../../gen/dify/plugin/v1/invoke_service_pb.js";
import { triggerRpcs } from "./trigger-rpcs.js";
import { fakeDispatch, handlerContext } from "./fake-dispatch.js";


const ctx = () => handlerContext("dispatchTriggerEvent");

const target = { tenantId: "tenant-1", pluginId: "langgenius/github_trigger", userId: "user-1" };
const webhook = 'POST /triggers/s1 HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"action":"opened"}';
const webhookHex = Buffer.from(webhook).toString("hex");
const subscription = { expires_at: -1, endpoint: "https://dify.local/triggers/s1", properties: { hook_id: 7 }, parameters: {} };

describe("triggerRpcs", () => {
  it("InvokeTriggerEvent sends trigger/invoke_trigger_event with the webhook as hex and maps variables", async () => {
    const { dispatch, calls } = fakeDispatch([{ variables: { action: "opened", number: 1 }, cancelled: false }]);
    const handlerCtx = ctx();
    const req = create(InvokeTriggerEventRequestSchema, {
      ...target,
      provider: "github",
      event: "issue_opened",
      rawHttpRequest: new TextEncoder().encode(webhook),
      parameters: { repo: "a/b" },
      subscription,
      payload: { delivery: "d1" },
      credentials: { token: "t" },
      credentialType: CredentialType.OAUTH2,
    });
    const res = await triggerRpcs(dispatch).invokeTriggerEvent(req, handlerCtx);

    expect(calls[0]?.request).toStrictEqual({
      type: "trigger",
      action: "invoke_trigger_event",
      data: {
        provider: "github",
        event: "issue_opened",
        raw_http_request: webhookHex,
        parameters: { repo: "a/b" },
        subscription,
        payload: { delivery: "d1" },
        credentials: { token: "t" },
        credential_type: "oauth2",
      },
    });
    expect(calls[0]?.target).toMatchObject(target);
    expect(calls[0]?.signal).toBe(handlerCtx.signal);
    expect(res).toStrictEqual({ variables: { action: "opened", number: 1 }, cancelled: false });
  });

  it("InvokeTriggerEvent sends {} for unset objects, omits an unspecified credential_type, and defaults cancelled", async () => {
    const { dispatch, calls } = fakeDispatch([{ variables: {} }]);
    const req = create(InvokeTriggerEventRequestSchema, { ...target, provider: "github", event: "issue_opened" });
    expect(await triggerRpcs(dispatch).invokeTriggerEvent(req, ctx())).toStrictEqual({ variables: {}, cancelled: false });
    expect(calls[0]?.request.data).toStrictEqual({
      provider: "github",
      event: "issue_opened",
      raw_http_request: "",
      parameters: {},
      subscription: {},
      payload: {},
      credentials: {},
    });
  });

  it("InvokeTriggerEvent fails on a result without variables", async () => {
    const req = create(InvokeTriggerEventRequestSchema, { ...target, provider: "github", event: "issue_opened" });
    await expect(triggerRpcs(fakeDispatch([{ cancelled: true }]).dispatch).invokeTriggerEvent(req, ctx())).rejects.toThrow(
      "the plugin's trigger/invoke_trigger_event result lacks variables (expected an object)",
    );
  });

  it("ValidateTriggerCredentials sends trigger/validate_trigger_credentials and returns the verdict", async () => {
    const { dispatch, calls } = fakeDispatch([{ result: true }]);
    const req = create(ValidateTriggerCredentialsRequestSchema, { ...target, provider: "github", credentials: { token: "t" }, credentialType: CredentialType.API_KEY });
    expect(await triggerRpcs(dispatch).validateTriggerCredentials(req, ctx())).toStrictEqual({ result: true });
    expect(calls[0]?.request).toStrictEqual({
      type: "trigger",
      action: "validate_trigger_credentials",
      data: { provider: "github", credentials: { token: "t" }, credential_type: "api-key" },
    });
    await expect(triggerRpcs(fakeDispatch([{}]).dispatch).validateTriggerCredentials(req, ctx())).rejects.toThrow("lacks result (expected a boolean)");
  });

  it("DispatchTriggerEvent sends the webhook as hex and decodes the hex response into bytes", async () => {
    const response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    const { dispatch, calls } = fakeDispatch([
      { user_id: "octocat", events: ["issue_opened", "issue_labeled"], payload: { delivery: "d1" }, response: Buffer.from(response).toString("hex") },
    ]);
    const req = create(DispatchTriggerEventRequestSchema, {
      ...target,
      userId: "",
      provider: "github",
      subscription,
      rawHttpRequest: Buffer.from(webhook),
      credentials: { token: "t" },
      credentialType: CredentialType.UNAUTHORIZED,
    });
    const res = await triggerRpcs(dispatch).dispatchTriggerEvent(req, ctx());

    expect(calls[0]?.request).toStrictEqual({
      type: "trigger",
      action: "dispatch_trigger_event",
      data: { provider: "github", subscription, raw_http_request: webhookHex, credentials: { token: "t" }, credential_type: "unauthorized" },
    });
    expect(res).toStrictEqual({
      userId: "octocat",
      events: ["issue_opened", "issue_labeled"],
      payload: { delivery: "d1" },
      response: new Uint8Array(Buffer.from(response)),
    });
  });

  it("DispatchTriggerEvent reads a missing user and payload as unset", async () => {
    const { dispatch } = fakeDispatch([{ events: [], response: "" }]);
    const req = create(DispatchTriggerEventRequestSchema, { ...target, provider: "github", subscription });
    expect(await triggerRpcs(dispatch).dispatchTriggerEvent(req, ctx())).toStrictEqual({ userId: "", events: [], payload: undefined, response: new Uint8Array() });
  });

  it("DispatchTriggerEvent fails on a non-string event, a missing response or a response that is not hex", async () => {
    const req = create(DispatchTriggerEventRequestSchema, { ...target, provider: "github", subscription });
    const run = (chunk: unknown) => triggerRpcs(fakeDispatch([chunk]).dispatch).dispatchTriggerEvent(req, ctx());
    await expect(run({ events: ["a", 2], response: "" })).rejects.toThrow(
      "the plugin's trigger/dispatch_trigger_event result has events[1] as a number, expected a string",
    );
    await expect(run({ events: ["a"] })).rejects.toThrow("lacks response (expected a hex string)");
    await expect(run({ events: ["a"], response: "HTTP/1.1 200 OK" })).rejects.toThrow("has response that is not a hex string");
  });

  it("SubscribeTrigger sends trigger/subscribe_trigger with the endpoint and returns the subscription", async () => {
    const { dispatch, calls } = fakeDispatch([{ subscription }]);
    const req = create(SubscribeTriggerRequestSchema, {
      ...target,
      provider: "github",
      endpoint: "https://dify.local/triggers/s1",
      parameters: { repo: "a/b", events: ["issues"] },
      credentials: { token: "t" },
      credentialType: CredentialType.OAUTH2,
    });
    expect(await triggerRpcs(dispatch).subscribeTrigger(req, ctx())).toStrictEqual({ subscription });
    expect(calls[0]?.request).toStrictEqual({
      type: "trigger",
      action: "subscribe_trigger",
      data: {
        provider: "github",
        endpoint: "https://dify.local/triggers/s1",
        parameters: { repo: "a/b", events: ["issues"] },
        credentials: { token: "t" },
        credential_type: "oauth2",
      },
    });
  });

  it("UnsubscribeTrigger and RefreshTrigger send the subscription and return the plugin's", async () => {
    for (const [name, action] of [
      ["unsubscribeTrigger", "unsubscribe_trigger"],
      ["refreshTrigger", "refresh_trigger"],
    ] as const) {
      const renewed = { ...subscription, expires_at: 1767225600 };
      const { dispatch, calls } = fakeDispatch([{ subscription: renewed }]);
      const init = { ...target, provider: "github", subscription, credentials: { token: "t" }, credentialType: CredentialType.API_KEY };
      const rpcs = triggerRpcs(dispatch);
      const res =
        name === "unsubscribeTrigger"
          ? await rpcs.unsubscribeTrigger(create(UnsubscribeTriggerRequestSchema, init), ctx())
          : await rpcs.refreshTrigger(create(RefreshTriggerRequestSchema, init), ctx());
      expect(res).toStrictEqual({ subscription: renewed });
      expect(calls[0]?.request).toStrictEqual({
        type: "trigger",
        action,
        data: { provider: "github", subscription, credentials: { token: "t" }, credential_type: "api-key" },
      });
    }
  });

  it("SubscribeTrigger, UnsubscribeTrigger and RefreshTrigger fail on a result without a subscription", async () => {
    const rpcs = triggerRpcs(fakeDispatch([{ result: true }]).dispatch);
    await expect(rpcs.subscribeTrigger(create(SubscribeTriggerRequestSchema, { ...target, provider: "github" }), ctx())).rejects.toThrow(
      "the plugin's trigger/subscribe_trigger result lacks subscription (expected an object)",
    );
    await expect(rpcs.unsubscribeTrigger(create(UnsubscribeTriggerRequestSchema, { ...target, provider: "github" }), ctx())).rejects.toThrow(
      "the plugin's trigger/unsubscribe_trigger result lacks subscription",
    );
    await expect(rpcs.refreshTrigger(create(RefreshTriggerRequestSchema, { ...target, provider: "github" }), ctx())).rejects.toThrow(
      "the plugin's trigger/refresh_trigger result lacks subscription",
    );
  });

  it("serves through a Connect router: bytes, Struct and repeated fields survive the binary wire", async () => {
    const response = "HTTP/1.1 202 Accepted\r\n\r\n";
    const { dispatch, calls } = fakeDispatch([{ user_id: "u", events: ["e"], payload: { n: 1, nested: { ok: true } }, response: Buffer.from(response).toString("hex") }]);
    const client = createClient(InvokeService, createRouterTransport(({ service }) => service(InvokeService, triggerRpcs(dispatch))));
    const res = await client.dispatchTriggerEvent({ ...target, provider: "github", subscription, rawHttpRequest: Buffer.from(webhook) });
    expect(calls[0]?.request.data["raw_http_request"]).toBe(webhookHex);
    expect(calls[0]?.request.data["subscription"]).toStrictEqual(subscription);
    expect(res.userId).toBe("u");
    expect(res.events).toStrictEqual(["e"]);
    expect(res.payload).toStrictEqual({ n: 1, nested: { ok: true } });
    expect(Buffer.from(res.response).toString()).toBe(response);
  });
});
