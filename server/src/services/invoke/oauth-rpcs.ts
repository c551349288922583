import type { ServiceImpl } from "@connectrpc/connect";
import type { InvokeService } from "../../../../gen/dify/plugin/v1/invoke_service_pb.js";
import { lastChunk, type Dispatch, type InvokeTarget } from "./dispatch.js";
import { hexOf, readChunk, type ChunkReader } from "./chunk-reader.js";

/**
 * oauthRpcs: the three `oauth` actions. Requests carry no credential_type (Dify sends none for OAuth); the
 * callback request travels as hex. A missing `expires_at` reads as -1 ("never expires"), as Dify reads it.
 */
export function oauthRpcs(
  dispatch: Dispatch,
): Pick<ServiceImpl<typeof InvokeService>, "getOAuthAuthorizationUrl" | "getOAuthCredentials" | "refreshOAuthCredentials"> {
  const call = async (req: InvokeTarget, action: string, data: Record<string, unknown>, signal: AbortSignal) =>
    readChunk(await lastChunk(dispatch(req, { type: "oauth", action, data }, signal), `oauth/${action}`), `oauth/${action}`);

  return {
    async getOAuthAuthorizationUrl(req, ctx) {
      const data = { provider: req.provider, redirect_uri: req.redirectUri, system_credentials: req.systemCredentials ?? {} };
      const result = await call(req, "get_authorization_url", data, ctx.signal);
      return { authorizationUrl: result.string("authorization_url") };
    },

    async getOAuthCredentials(req, ctx) {
      const data = {
        provider: req.provider,
        redirect_uri: req.redirectUri,
        system_credentials: req.systemCredentials ?? {},
        raw_http_request: hexOf(req.rawHttpRequest),
      };
      const result = await call(req, "get_credentials", data, ctx.signal);
      return { metadata: result.optionalObject("metadata"), credentials: result.object("credentials"), expiresAt: expiresAt(result) };
    },

    async refreshOAuthCredentials(req, ctx) {
      const data = {
        provider: req.provider,
        redirect_uri: req.redirectUri,
        system_credentials: req.systemCredentials ?? {},
        credentials: req.credentials ?? {},
      };
      const result = await call(req, "refresh_credentials", data, ctx.signal);
      return { credentials: result.object("credentials"), expiresAt: expiresAt(result) };
    },
  };
}

const expiresAt = (result: ChunkReader): bigint => BigInt(result.optionalInteger("expires_at") ?? -1);
