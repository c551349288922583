import { Code } from "@connectrpc/connect";
import type { BundleDependency } from "../../../../gen/dify/plugin/v1/install_pb.js";
import { PluginService } from "../../../../gen/dify/plugin/v1/plugin_service_pb.js";
import { difyError, ErrorType } from "./envelope.js";
import { readBody } from "./http-io.js";
import { boundaryOf, MultipartError, parseMultipart, type FormPart } from "./multipart.js";
import { AnswerError, envelopeRoute, tenantOf, type DifyRoute, type FailureOverride, type RouteContext } from "./route.js";
import { callUnary } from "./rpc.js";
import { declarationJson, verificationJson } from "./wire-shapes.js";

/**
 * The two upload routes (spec/dify-http-api.md §2.2, §3): multipart bodies with the file in `dify_pkg` /
 * `dify_bundle` and the text field `verify_signature`. Every refusal is an HTTP 200 envelope, as in Go.
 */

const M = "/plugin/:tenant_id/management";
const rpc = PluginService.method;
// Multipart framing around the file: part headers and boundaries.
const FORM_OVERHEAD_BYTES = 64 * 1024;

/** readForm buffers a multipart upload of at most `limit` file bytes; a larger one is "file size exceeds the maximum limit". */
async function readForm(ctx: RouteContext, limit: number): Promise<FormPart[]> {
  const boundary = boundaryOf(String(ctx.req.headers["content-type"] ?? ""));
  if (boundary === undefined) {
    await readBody(ctx.req, 0);
    throw AnswerError.badRequest("request Content-Type isn't multipart/form-data");
  }
  const body = await readBody(ctx.req, limit + FORM_OVERHEAD_BYTES);
  if (body.tooLarge) throw AnswerError.badRequest("file size exceeds the maximum limit");
  try {
    return parseMultipart(body.bytes, boundary);
  } catch (err) {
    if (err instanceof MultipartError) throw AnswerError.badRequest(err.message);
    throw err;
  }
}

/** formFile: the uploaded file part of that name, and whether `verify_signature` is "true". */
function formFile(parts: readonly FormPart[], name: string): { file: Buffer; verifySignature: boolean } {
  const file = parts.find((p) => p.name === name && p.filename !== undefined);
  if (!file) throw AnswerError.badRequest("http: no such file");
  const verify = parts.find((p) => p.name === "verify_signature" && p.filename === undefined);
  return { file: file.data, verifySignature: verify?.data.toString("utf8") === "true" };
}

/** bundleDependencyJson: `{type, value}` of one bundle dependency, values as Go maps (keys sorted). */
function bundleDependencyJson(d: BundleDependency): Record<string, unknown> {
  const dep = d.dependency;
  switch (dep.case) {
    case "github":
      return { type: "github", value: { packages: dep.value.packages, release: dep.value.release, repo: dep.value.repo, repo_address: dep.value.repoAddress } };
    case "marketplace":
      return { type: "marketplace", value: { organization: dep.value.organization, plugin: dep.value.plugin, version: dep.value.version } };
    case "uploadedPackage":
      return { type: "package", value: { manifest: declarationJson(dep.value.manifest), unique_identifier: dep.value.uniqueIdentifier } };
    default:
      return { type: "", value: null };
  }
}

// Every upload refusal is a bad request in Go, a refused signature included.
const signatureIsBadRequest: FailureOverride = (failure) =>
  failure.connect.code === Code.PermissionDenied ? difyError(-400, ErrorType.badRequest, failure.connect.rawMessage) : undefined;

export function uploadRoutes(): DifyRoute[] {
  return [
    envelopeRoute(
      "POST",
      `${M}/install/upload/package`,
      async (ctx) => {
        const { file, verifySignature } = formFile(await readForm(ctx, ctx.maxPackageBytes), "dify_pkg");
        if (file.length > ctx.maxPackageBytes) throw AnswerError.badRequest("file size exceeds the maximum limit");
        const res = await callUnary(ctx.services.plugin, rpc.uploadPackage, { tenantId: tenantOf(ctx), package: file, verifySignature }, ctx.scope);
        // A Go map: keys in sorted order.
        return {
          manifest: declarationJson(res.declaration),
          unique_identifier: res.pluginUniqueIdentifier,
          verification: verificationJson(res.verification),
        };
      },
      signatureIsBadRequest,
    ),

    envelopeRoute(
      "POST",
      `${M}/install/upload/bundle`,
      async (ctx) => {
        // A bundle travels in one message, like every upload: the message limit bounds it.
        const { file, verifySignature } = formFile(await readForm(ctx, ctx.maxBodyBytes), "dify_bundle");
        const res = await callUnary(ctx.services.plugin, rpc.uploadBundle, { tenantId: tenantOf(ctx), bundle: file, verifySignature }, ctx.scope);
        return res.dependencies.map(bundleDependencyJson);
      },
      signatureIsBadRequest,
    ),
  ];
}
