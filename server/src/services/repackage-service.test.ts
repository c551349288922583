import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { createHandlerContext } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { RepackageRequestSchema, RepackageService } from "../../../gen/dify/plugin/v1/repackage_service_pb.js";
import { createRepackageService } from "./repackage-service.js";

const TENANT = "11111111-1111-4111-8111-111111111111";

/** A Marketplace that holds every download open until the test lets it go: the run holding the slot stays busy. */
let marketplace: Server;
let held: Array<{ url: string; res: ServerResponse }>;
let scratch: string;

beforeEach(async () => {
  held = [];
  marketplace = createServer((req: IncomingMessage, res: ServerResponse) => held.push({ url: req.url ?? "", res }));
  await new Promise<void>((resolve) => marketplace.listen(0, "127.0.0.1", resolve));
  scratch = await mkdtemp(path.join(os.tmpdir(), "repackage-service-"));
});

afterEach(async () => {
  for (const { res } of held) res.destroy();
  marketplace.closeAllConnections();
  await new Promise((resolve) => marketplace.close(resolve));
  await rm(scratch, { recursive: true, force: true });
});

function service() {
  return createRepackageService({
    settings: {
      marketplaceUrl: `http://127.0.0.1:${(marketplace.address() as AddressInfo).port}`,
      githubUrl: "http://127.0.0.1:9",
      indexUrl: "http://127.0.0.1:9/simple",
      pipExtraArgs: [],
      maxPackageBytes: 50 * 1024 * 1024,
      pythonInterpreter: "python3",
      cacheDir: path.join(scratch, "cache"),
    },
    trustedKeys: [],
    // Neither is reached: the sources below are a Marketplace download and request bytes.
    packages: {} as never,
    storage: {} as never,
    signingKey: null,
    maxConcurrent: 1,
  });
}

function call(request: MessageInitShape<typeof RepackageRequestSchema>) {
  const aborter = new AbortController();
  const method = RepackageService.method.repackage;
  const ctx = createHandlerContext({ service: RepackageService, method, protocolName: "test", requestMethod: "POST", url: "/", requestSignal: aborter.signal });
  return { aborter, ctx, req: create(RepackageRequestSchema, { tenantId: TENANT, skipOfflineProof: true, ...request }) };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe("RepackageService queueing", () => {
  it("a caller who leaves while queued is let go at once, not when the slot frees, and its run never starts", async () => {
    const repackager = service();
    const first = call({ source: { case: "marketplace", value: { author: "acme", name: "slow", version: "1.0.0" } } });
    const firstRun = (async () => {
      for await (const _ of repackager.repackage(first.req, first.ctx)) void _;
    })();
    firstRun.catch(() => undefined);
    await until(() => held.length === 1);

    // 8 MiB of request bytes that, before the fix, stayed referenced until the first run ended.
    const second = call({ source: { case: "packageBytes", value: new Uint8Array(8 * 1024 * 1024) } });
    const secondStream = repackager.repackage(second.req, second.ctx)[Symbol.asyncIterator]();
    const waiting = await secondStream.next();
    expect(waiting.value?.event).toMatchObject({ case: "progress", value: { message: expect.stringContaining("waiting for a free repackaging slot") } });

    second.aborter.abort();
    // The first run still holds the slot (its download is held open) while the second ends.
    await expect(secondStream.next()).rejects.toThrow("cancelled while it waited for a slot");
    expect(held).toHaveLength(1);

    // Let the first run go: it fails on the Marketplace's answer, and the second never fetched anything.
    held[0]!.res.writeHead(404).end("no such plugin");
    await expect(firstRun).rejects.toThrow();
    expect(held.map((h) => h.url)).toEqual(["/api/v1/plugins/acme/slow/1.0.0/download"]);
  }, 30_000);
});
