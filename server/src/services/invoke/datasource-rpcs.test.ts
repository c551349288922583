import { create } from "@bufbuild/protobuf";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CredentialType } from "../../../../gen/dify/plugin/v1/common_pb.js";
import {
  BrowseOnlineDriveFilesRequestSchema,
  DownloadOnlineDriveFileRequestSchema,
  DownloadOnlineDriveFileResponseSchema,
  GetOnlineDocumentPageContentRequestSchema,
  GetOnlineDocumentPageContentResponseSchema,
  GetOnlineDocumentPagesRequestSchema,
  GetWebsiteCrawlRequestSchema,
  InvokeService,
  ValidateDatasourceCredentialsRequestSchema,
} from "../../../../gen/dify/plugin/v1/invoke_service_pb.js";
import { datasourceRpcs } from "./datasource-rpcs.js";
import { fakeDispatch, handlerContext } from "./fake-dispatch.js";


const ctx = () => handlerContext("getWebsiteCrawl");

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

const target = { tenantId: "tenant-1", pluginId: "langgenius/notion_datasource", userId: "user-1" };
const base = { ...target, provider: "notion", datasource: "notion_pages", credentials: { token: "t" } };
const baseData = { provider: "notion", datasource: "notion_pages", credentials: { token: "t" } };

describe("datasourceRpcs", () => {
  it("ValidateDatasourceCredentials sends datasource/validate_datasource_credentials and returns the verdict", async () => {
    const { dispatch, calls } = fakeDispatch([{ result: true }]);
    const handlerCtx = ctx();
    const req = create(ValidateDatasourceCredentialsRequestSchema, { ...target, provider: "notion", credentials: { token: "t" }, credentialType: CredentialType.API_KEY });
    expect(await datasourceRpcs(dispatch).validateDatasourceCredentials(req, handlerCtx)).toStrictEqual({ result: true });
    expect(calls[0]?.request).toStrictEqual({
      type: "datasource",
      action: "validate_datasource_credentials",
      data: { provider: "notion", credentials: { token: "t" }, credential_type: "api-key" },
    });
    expect(calls[0]?.target).toMatchObject(target);
    expect(calls[0]?.signal).toBe(handlerCtx.signal);
  });

  it("ValidateDatasourceCredentials fails when the result is not a boolean", async () => {
    const req = create(ValidateDatasourceCredentialsRequestSchema, { ...target, provider: "notion" });
    await expect(datasourceRpcs(fakeDispatch([{ result: "yes" }]).dispatch).validateDatasourceCredentials(req, ctx())).rejects.toThrow(
      "the plugin's datasource/validate_datasource_credentials result has result as a string, expected a boolean",
    );
  });

  it("GetWebsiteCrawl streams one result per chunk", async () => {
    const running = { status: "processing", web_info_list: [], total: 2, completed: 0 };
    const done = {
      status: "completed",
      web_info_list: [{ source_url: "https://a", content: "# A", title: "A", description: "" }],
      total: 2,
      completed: 2,
    };
    const { dispatch, calls } = fakeDispatch([{ result: running }, { result: done }]);
    const req = create(GetWebsiteCrawlRequestSchema, {
      ...base,
      credentialType: CredentialType.UNSPECIFIED,
      datasourceParameters: { url: "https://a", limit: 10 },
    });
    expect(await collect(datasourceRpcs(dispatch).getWebsiteCrawl(req, ctx()))).toStrictEqual([{ result: running }, { result: done }]);
    expect(calls[0]?.request).toStrictEqual({
      type: "datasource",
      action: "invoke_website_datasource_get_crawl",
      data: { ...baseData, datasource_parameters: { url: "https://a", limit: 10 } },
    });
  });

  it("GetWebsiteCrawl fails at a chunk without a result, after passing on the good ones", async () => {
    const { dispatch } = fakeDispatch([{ result: { status: "processing" } }, { status: "completed" }]);
    const req = create(GetWebsiteCrawlRequestSchema, base);
    const seen: unknown[] = [];
    await expect(
      (async () => {
        for await (const res of datasourceRpcs(dispatch).getWebsiteCrawl(req, ctx())) seen.push(res);
      })(),
    ).rejects.toThrow("the plugin's datasource/invoke_website_datasource_get_crawl result lacks result (expected an object)");
    expect(seen).toStrictEqual([{ result: { status: "processing" } }]);
  });

  it("GetOnlineDocumentPages maps `result` to workspaces", async () => {
    const workspace = {
      workspace_id: "w1",
      workspace_name: "Team",
      workspace_icon: "",
      total: 1,
      pages: [{ page_id: "p1", page_name: "Home", page_icon: null, type: "page", last_edited_time: "2026-01-01", parent_id: null }],
    };
    const { dispatch, calls } = fakeDispatch([{ result: [workspace] }]);
    const req = create(GetOnlineDocumentPagesRequestSchema, { ...base, credentialType: CredentialType.OAUTH2, datasourceParameters: {} });
    expect(await collect(datasourceRpcs(dispatch).getOnlineDocumentPages(req, ctx()))).toStrictEqual([{ workspaces: [workspace] }]);
    expect(calls[0]?.request).toStrictEqual({
      type: "datasource",
      action: "invoke_online_document_datasource_get_pages",
      data: { ...baseData, credential_type: "oauth2", datasource_parameters: {} },
    });
  });

  it("GetOnlineDocumentPages fails when result is not a list of objects", async () => {
    const req = create(GetOnlineDocumentPagesRequestSchema, base);
    await expect(collect(datasourceRpcs(fakeDispatch([{ result: ["w1"] }]).dispatch).getOnlineDocumentPages(req, ctx()))).rejects.toThrow(
      "the plugin's datasource/invoke_online_document_datasource_get_pages result has result[0] as a string, expected an object",
    );
  });

  it("GetOnlineDocumentPageContent sends the page and streams tool messages", async () => {
    const { dispatch, calls } = fakeDispatch([
      { type: "text", message: { text: "Hello" }, meta: null },
      { type: "variable", message: { variable_name: "content", variable_value: "Hello", stream: true }, meta: null },
    ]);
    const page = { workspace_id: "w1", page_id: "p1", type: "page" };
    const req = create(GetOnlineDocumentPageContentRequestSchema, { ...base, page });
    const out = (await collect(datasourceRpcs(dispatch).getOnlineDocumentPageContent(req, ctx()))).map((r) =>
      create(GetOnlineDocumentPageContentResponseSchema, r),
    );
    expect(calls[0]?.request).toStrictEqual({ type: "datasource", action: "invoke_online_document_datasource_get_page_content", data: { ...baseData, page } });
    expect(out.map((r) => r.message?.message.case)).toStrictEqual(["text", "variable"]);
    expect(out[0]?.message?.message.value).toMatchObject({ text: "Hello" });
    expect(out[1]?.message?.message.value).toMatchObject({ variableName: "content", stream: true });
  });

  it("GetOnlineDocumentPageContent fails on a chunk of unknown type", async () => {
    const req = create(GetOnlineDocumentPageContentRequestSchema, { ...base, page: { workspace_id: "w1", page_id: "p1", type: "page" } });
    await expect(
      collect(datasourceRpcs(fakeDispatch([{ type: "markdown", message: { text: "x" } }]).dispatch).getOnlineDocumentPageContent(req, ctx())),
    ).rejects.toThrow('unknown type "markdown"');
  });

  it("BrowseOnlineDriveFiles sends the request object (null for unset options) and types the listed buckets", async () => {
    const { dispatch, calls } = fakeDispatch([
      {
        result: [
          {
            bucket: null,
            files: [
              { id: "f1", name: "a.pdf", size: 1024, type: "file" },
              { id: "d1", name: "docs", size: 0, type: "folder" },
            ],
            is_truncated: true,
            next_page_parameters: { cursor: "c2" },
          },
        ],
      },
    ]);
    const req = create(BrowseOnlineDriveFilesRequestSchema, { ...base, request: { prefix: "root", maxKeys: 50 } });
    const out = await collect(datasourceRpcs(dispatch).browseOnlineDriveFiles(req, ctx()));
    expect(calls[0]?.request).toStrictEqual({
      type: "datasource",
      action: "invoke_online_drive_browse_files",
      data: { ...baseData, request: { bucket: null, prefix: "root", max_keys: 50, next_page_parameters: null } },
    });
    expect(out).toStrictEqual([
      {
        buckets: [
          {
            bucket: undefined,
            files: [
              { id: "f1", name: "a.pdf", size: 1024n, type: "file" },
              { id: "d1", name: "docs", size: 0n, type: "folder" },
            ],
            isTruncated: true,
            nextPageParameters: { cursor: "c2" },
          },
        ],
      },
    ]);
  });

  it("BrowseOnlineDriveFiles passes bucket and paging cursor on", async () => {
    const { dispatch, calls } = fakeDispatch([{ result: [{ bucket: "b", files: [], is_truncated: false }] }]);
    const req = create(BrowseOnlineDriveFilesRequestSchema, {
      ...base,
      credentialType: CredentialType.API_KEY,
      request: { bucket: "b", prefix: "", maxKeys: 20, nextPageParameters: { cursor: "c2" } },
    });
    const out = await collect(datasourceRpcs(dispatch).browseOnlineDriveFiles(req, ctx()));
    expect(calls[0]?.request.data).toStrictEqual({
      ...baseData,
      credential_type: "api-key",
      request: { bucket: "b", prefix: "", max_keys: 20, next_page_parameters: { cursor: "c2" } },
    });
    expect(out).toStrictEqual([{ buckets: [{ bucket: "b", files: [], isTruncated: false, nextPageParameters: undefined }] }]);
  });

  it("BrowseOnlineDriveFiles fails on a file with a malformed size or a bucket without is_truncated", async () => {
    const req = create(BrowseOnlineDriveFilesRequestSchema, { ...base, request: { prefix: "", maxKeys: 20 } });
    const badFile = { result: [{ files: [{ id: "f1", name: "a", size: 1, type: "file" }, { id: "f2", name: "b", size: "2", type: "file" }], is_truncated: false }] };
    await expect(collect(datasourceRpcs(fakeDispatch([badFile]).dispatch).browseOnlineDriveFiles(req, ctx()))).rejects.toThrow(
      "the plugin's datasource/invoke_online_drive_browse_files result has result[0].files[1].size as a string, expected an integer",
    );
    await expect(collect(datasourceRpcs(fakeDispatch([{ result: [{ files: [] }] }]).dispatch).browseOnlineDriveFiles(req, ctx()))).rejects.toThrow(
      "lacks result[0].is_truncated (expected a boolean)",
    );
  });

  it("DownloadOnlineDriveFile sends the file id and streams blob chunks as they come", async () => {
    const meta = { mime_type: "application/pdf", filename: "a.pdf" };
    const { dispatch, calls } = fakeDispatch([
      { type: "blob_chunk", message: { id: "ab12", sequence: 0, total_length: 3, blob: Buffer.from("pdf").toString("base64"), end: false }, meta },
      { type: "blob_chunk", message: { id: "ab12", sequence: 1, total_length: 3, blob: "", end: true }, meta },
    ]);
    const req = create(DownloadOnlineDriveFileRequestSchema, { ...base, request: { id: "f1" } });
    const out = (await collect(datasourceRpcs(dispatch).downloadOnlineDriveFile(req, ctx()))).map((r) => create(DownloadOnlineDriveFileResponseSchema, r));
    expect(calls[0]?.request).toStrictEqual({
      type: "datasource",
      action: "invoke_online_drive_download_file",
      data: { ...baseData, request: { bucket: null, id: "f1" } },
    });
    expect(out).toHaveLength(2);
    const first = out[0]?.message;
    expect(first?.message.case).toBe("blobChunk");
    expect(first?.message.value).toMatchObject({ id: "ab12", sequence: 0, totalLength: 3n, end: false });
    if (first?.message.case !== "blobChunk") throw new Error("expected a blob chunk");
    expect(Buffer.from(first.message.value.blob).toString()).toBe("pdf");
    expect(first.meta).toStrictEqual(meta);
    expect(out[1]?.message?.message.value).toMatchObject({ sequence: 1, end: true });
  });

  it("DownloadOnlineDriveFile sends the bucket when set", async () => {
    const { dispatch, calls } = fakeDispatch([]);
    const req = create(DownloadOnlineDriveFileRequestSchema, { ...base, request: { bucket: "b", id: "f1" } });
    expect(await collect(datasourceRpcs(dispatch).downloadOnlineDriveFile(req, ctx()))).toStrictEqual([]);
    expect(calls[0]?.request.data["request"]).toStrictEqual({ bucket: "b", id: "f1" });
  });

  it("serves through a Connect router: a streamed listing arrives typed on the client", async () => {
    const { dispatch } = fakeDispatch([
      { result: [{ bucket: "b", files: [{ id: "f1", name: "a.pdf", size: 5_000_000_000, type: "file" }], is_truncated: true, next_page_parameters: { page: 2 } }] },
      { result: [{ bucket: "b", files: [], is_truncated: false, next_page_parameters: null }] },
    ]);
    const client = createClient(InvokeService, createRouterTransport(({ service }) => service(InvokeService, datasourceRpcs(dispatch))));
    const pages = await collect(client.browseOnlineDriveFiles({ ...base, request: { prefix: "", maxKeys: 1 } }));
    expect(pages).toHaveLength(2);
    expect(pages[0]?.buckets[0]?.files[0]?.size).toBe(5_000_000_000n);
    expect(pages[0]?.buckets[0]?.nextPageParameters).toStrictEqual({ page: 2 });
    expect(pages[1]?.buckets[0]?.isTruncated).toBe(false);
    expect(pages[1]?.buckets[0]?.nextPageParameters).toBeUndefined();
  });
});
