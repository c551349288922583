import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { CredentialType } from "../../../../gen/dify/plugin/v1/common_pb.js";
import type { OnlineDriveFileBucketSchema } from "../../../../gen/dify/plugin/v1/datasource_pb.js";
import type { InvokeService } from "../../../../gen/dify/plugin/v1/invoke_service_pb.js";
import { lastChunk, type ActionRequest, type Dispatch, type InvokeTarget } from "./dispatch.js";
import { toolMessageFromChunk } from "./tool-messages.js";
import { credentialTypeField, readChunk, type ChunkReader } from "./chunk-reader.js";

type DatasourceRpcs = Pick<
  ServiceImpl<typeof InvokeService>,
  | "validateDatasourceCredentials"
  | "getWebsiteCrawl"
  | "getOnlineDocumentPages"
  | "getOnlineDocumentPageContent"
  | "browseOnlineDriveFiles"
  | "downloadOnlineDriveFile"
>;

/** The fields every datasource invocation sends: provider, datasource, credentials and, when set, credential_type. */
interface DatasourceRequest extends InvokeTarget {
  readonly provider: string;
  readonly datasource: string;
  readonly credentials?: Record<string, unknown>;
  readonly credentialType: CredentialType;
}

/**
 * datasourceRpcs: the six `datasource` actions. Crawl progress, document pages and drive listings stream one
 * message per plugin chunk; page content and file downloads stream ToolInvokeMessage-shaped chunks, mapped as
 * tool messages (blob chunks pass through). Optional drive fields (`bucket`, `next_page_parameters`) go to the
 * plugin as null when unset, as the reference daemon sends them.
 */
export function datasourceRpcs(dispatch: Dispatch): DatasourceRpcs {
  const run = (req: DatasourceRequest, action: string, fields: Record<string, unknown>, signal: AbortSignal) => {
    const data: ActionRequest["data"] = {
      provider: req.provider,
      datasource: req.datasource,
      credentials: req.credentials ?? {},
      ...credentialTypeField(req.credentialType),
      ...fields,
    };
    return dispatch(req, { type: "datasource", action, data }, signal);
  };

  return {
    async validateDatasourceCredentials(req, ctx) {
      const action = "validate_datasource_credentials";
      const data = { provider: req.provider, credentials: req.credentials ?? {}, ...credentialTypeField(req.credentialType) };
      const result = readChunk(await lastChunk(dispatch(req, { type: "datasource", action, data }, ctx.signal), `datasource/${action}`), `datasource/${action}`);
      return { result: result.boolean("result") };
    },

    async *getWebsiteCrawl(req, ctx) {
      const action = "invoke_website_datasource_get_crawl";
      for await (const chunk of run(req, action, { datasource_parameters: req.datasourceParameters ?? {} }, ctx.signal)) {
        yield { result: readChunk(chunk, `datasource/${action}`).object("result") };
      }
    },

    async *getOnlineDocumentPages(req, ctx) {
      const action = "invoke_online_document_datasource_get_pages";
      for await (const chunk of run(req, action, { datasource_parameters: req.datasourceParameters ?? {} }, ctx.signal)) {
        yield { workspaces: readChunk(chunk, `datasource/${action}`).readers("result").map((workspace) => workspace.raw) };
      }
    },

    async *getOnlineDocumentPageContent(req, ctx) {
      for await (const chunk of run(req, "invoke_online_document_datasource_get_page_content", { page: req.page ?? {} }, ctx.signal)) {
        yield { message: toolMessageFromChunk(chunk) };
      }
    },

    async *browseOnlineDriveFiles(req, ctx) {
      const action = "invoke_online_drive_browse_files";
      const params = req.request;
      const request = {
        bucket: params?.bucket ?? null,
        prefix: params?.prefix ?? "",
        max_keys: params?.maxKeys ?? 0,
        next_page_parameters: params?.nextPageParameters ?? null,
      };
      for await (const chunk of run(req, action, { request }, ctx.signal)) {
        yield { buckets: readChunk(chunk, `datasource/${action}`).readers("result").map(bucketFrom) };
      }
    },

    async *downloadOnlineDriveFile(req, ctx) {
      const request = { bucket: req.request?.bucket ?? null, id: req.request?.id ?? "" };
      for await (const chunk of run(req, "invoke_online_drive_download_file", { request }, ctx.signal)) {
        yield { message: toolMessageFromChunk(chunk) };
      }
    },
  };
}

function bucketFrom(bucket: ChunkReader): MessageInitShape<typeof OnlineDriveFileBucketSchema> {
  return {
    bucket: bucket.optionalString("bucket"),
    files: bucket.readers("files").map((file) => ({
      id: file.string("id"),
      name: file.string("name"),
      size: BigInt(file.integer("size")),
      type: file.string("type"),
    })),
    isTruncated: bucket.boolean("is_truncated"),
    nextPageParameters: bucket.optionalObject("next_page_parameters"),
  };
}
