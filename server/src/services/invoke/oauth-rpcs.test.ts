import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  GetOAuthAuthorizationUrlRequestSchema,
  GetOAuthCredentialsRequestSchema,
  RefreshOAuthCredentialsRequestSchema,
} from "../../../../gen/dify/plugin/v1/invoke_service_pb.js";
import { oauthRpcs } from "./oauth-rpcs.js";
import { fakeDispatch, handlerContext } from "./fake-dispatch.js";

const ctx = () => handlerContext("getOAuthCredentials");

const target = { tenantId: "tenant-1", pluginId: "langgenius/github", userId: "user-1" };
const callback = "GET /oauth/callback?code=abc HTTP/1.1\r\nHost: dify.local\r\n\r\n";

describe("oauthRpcs", () => {
  it("GetOAuthAuthorizationUrl sends oauth/get_authorization_url and returns the URL", async () => {
    const { dispatch, calls } = fakeDispatch([{ authorization_url: "https://github.com/login/oauth/authorize?client_id=c" }]);
    const handlerCtx = ctx();
    const req = create(GetOAuthAuthorizationUrlRequestSchema, {
      ...target,
      provider: "github",
      redirectUri: "https://dify.local/callback",
      systemCredentials: { client_id: "c", client_secret: "s" },
    });
    const res = await oauthRpcs(dispatch).getOAuthAuthorizationUrl(req, handlerCtx);

    expect(calls[0]?.request).toStrictEqual({
      type: "oauth",
      action: "get_authorization_url",
      data: { provider: "github", redirect_uri: "https://dify.local/callback", system_credentials: { client_id: "c", client_secret: "s" } },
    });
    expect(calls[0]?.target).toMatchObject(target);
    expect(calls[0]?.signal).toBe(handlerCtx.signal);
    expect(res).toStrictEqual({ authorizationUrl: "https://github.com/login/oauth/authorize?client_id=c" });
  });

  it("GetOAuthAuthorizationUrl sends empty system credentials when unset and fails without a URL", async () => {
    const { dispatch, calls } = fakeDispatch([{ url: "https://x" }]);
    const req = create(GetOAuthAuthorizationUrlRequestSchema, { ...target, provider: "github", redirectUri: "https://dify.local/callback" });
    await expect(oauthRpcs(dispatch).getOAuthAuthorizationUrl(req, ctx())).rejects.toThrow(
      "the plugin's oauth/get_authorization_url result lacks authorization_url (expected a string)",
    );
    expect(calls[0]?.request.data).toStrictEqual({ provider: "github", redirect_uri: "https://dify.local/callback", system_credentials: {} });
  });

  it("GetOAuthCredentials sends the callback request as hex and maps metadata, credentials and expiry", async () => {
    const { dispatch, calls } = fakeDispatch([{ metadata: { name: "octocat" }, credentials: { access_token: "t" }, expires_at: 1767225600 }]);
    const req = create(GetOAuthCredentialsRequestSchema, {
      ...target,
      provider: "github",
      redirectUri: "https://dify.local/callback",
      systemCredentials: { client_id: "c" },
      rawHttpRequest: new TextEncoder().encode(callback),
    });
    const res = await oauthRpcs(dispatch).getOAuthCredentials(req, ctx());

    expect(calls[0]?.request).toStrictEqual({
      type: "oauth",
      action: "get_credentials",
      data: {
        provider: "github",
        redirect_uri: "https://dify.local/callback",
        system_credentials: { client_id: "c" },
        raw_http_request: Buffer.from(callback, "utf8").toString("hex"),
      },
    });
    expect(calls[0]?.request.data["raw_http_request"]).toMatch(/^474554202f6f61757468/); // "GET /oauth"
    expect(res).toStrictEqual({ metadata: { name: "octocat" }, credentials: { access_token: "t" }, expiresAt: 1767225600n });
  });

  it("GetOAuthCredentials reads a missing expiry as -1 (never) and a null metadata as unset", async () => {
    const { dispatch } = fakeDispatch([{ metadata: null, credentials: { access_token: "t" } }]);
    const req = create(GetOAuthCredentialsRequestSchema, { ...target, provider: "github", redirectUri: "https://dify.local/callback" });
    const res = await oauthRpcs(dispatch).getOAuthCredentials(req, ctx());
    expect(res).toStrictEqual({ metadata: undefined, credentials: { access_token: "t" }, expiresAt: -1n });
  });

  it("GetOAuthCredentials fails on a result without credentials or with a non-integer expiry", async () => {
    const req = create(GetOAuthCredentialsRequestSchema, { ...target, provider: "github", redirectUri: "https://dify.local/callback" });
    await expect(oauthRpcs(fakeDispatch([{ metadata: {}, expires_at: 1 }]).dispatch).getOAuthCredentials(req, ctx())).rejects.toThrow(
      "the plugin's oauth/get_credentials result lacks credentials (expected an object)",
    );
    await expect(
      oauthRpcs(fakeDispatch([{ credentials: {}, expires_at: "1767225600" }]).dispatch).getOAuthCredentials(req, ctx()),
    ).rejects.toThrow("the plugin's oauth/get_credentials result has expires_at as a string, expected an integer");
  });

  it("RefreshOAuthCredentials sends oauth/refresh_credentials with the current credentials and maps the new ones", async () => {
    const { dispatch, calls } = fakeDispatch([{ credentials: { access_token: "new" }, expires_at: -1 }]);
    const req = create(RefreshOAuthCredentialsRequestSchema, {
      ...target,
      provider: "github",
      redirectUri: "https://dify.local/callback",
      systemCredentials: { client_id: "c" },
      credentials: { refresh_token: "r" },
    });
    const res = await oauthRpcs(dispatch).refreshOAuthCredentials(req, ctx());

    expect(calls[0]?.request).toStrictEqual({
      type: "oauth",
      action: "refresh_credentials",
      data: { provider: "github", redirect_uri: "https://dify.local/callback", system_credentials: { client_id: "c" }, credentials: { refresh_token: "r" } },
    });
    expect(res).toStrictEqual({ credentials: { access_token: "new" }, expiresAt: -1n });
  });

  it("RefreshOAuthCredentials fails when the plugin ends without a result", async () => {
    const req = create(RefreshOAuthCredentialsRequestSchema, { ...target, provider: "github", redirectUri: "https://dify.local/callback" });
    await expect(oauthRpcs(fakeDispatch([]).dispatch).refreshOAuthCredentials(req, ctx())).rejects.toThrow(
      "the plugin ended oauth/refresh_credentials without a result",
    );
  });
});
