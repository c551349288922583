import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { Code, createHandlerContext } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
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

function service(packages: { find: (id: string) => Promise<unknown> }) {
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
    packages: packages as never,
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

const fromMarketplace = (name: string) => ({ source: { case: "marketplace" as const, value: { author: "acme", name, version: "1.0.0" } } });

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** within fails the test with `what` instead of letting a hang run into the test timeout. */
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still waiting: ${what}`)), 5_000)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe("RepackageService queueing", () => {
  it("a caller who leaves while queued is let go at once, and its run never starts; one who leaves mid-download frees the slot", async () => {
    const find = vi.fn(async () => ({}));
    const repackager = service({ find });
    const drain = async (c: ReturnType<typeof call>) => {
      for await (const _ of repackager.repackage(c.req, c.ctx)) void _;
    };

    const first = call(fromMarketplace("slow"));
    const firstRun = drain(first);
    firstRun.catch(() => undefined);
    await within(until(() => held.length === 1), "the first run to reach the Marketplace");

    // Queued behind it: a stored package as the source, so that a run that starts leaves a trace (find).
    const second = call({ source: { case: "pluginUniqueIdentifier", value: "acme/stored:1.0.0@abc" } });
    const secondStream = repackager.repackage(second.req, second.ctx)[Symbol.asyncIterator]();
    const waiting = await secondStream.next();
    expect(waiting.value?.event).toMatchObject({ case: "progress", value: { message: expect.stringContaining("waiting for a free repackaging slot") } });

    second.aborter.abort();
    // The first run still holds the slot (its download is held open) while the second ends.
    await expect(within(secondStream.next(), "the queued caller to be let go")).rejects.toMatchObject({ code: Code.Canceled });
    expect(held).toHaveLength(1);

    // The next caller to queue is told of the run ahead only, not of the one whose caller left.
    const another = call(fromMarketplace("another"));
    const anotherStream = repackager.repackage(another.req, another.ctx)[Symbol.asyncIterator]();
    expect((await anotherStream.next()).value?.event).toMatchObject({ value: { message: expect.stringContaining("(1 runs ahead, REPACKAGE_MAX_CONCURRENT=1)") } });
    another.aborter.abort();
    await expect(within(anotherStream.next(), "the other queued caller to be let go")).rejects.toMatchObject({ code: Code.Canceled });

    // The first caller leaves mid-download: the download is dropped and the slot frees without an answer.
    first.aborter.abort();
    await expect(within(firstRun, "the first run to end with its caller")).rejects.toThrow(/^cannot download acme\/slow:1.0.0 from .*: This operation was aborted$/);

    // A third request gets the slot next: the queued runs of the callers who left went by without fetching anything.
    const third = call(fromMarketplace("next"));
    drain(third).catch(() => undefined);
    await within(until(() => held.length === 2), "the third run to reach the Marketplace");
    expect(held.map((h) => h.url)).toEqual(["/api/v1/plugins/acme/slow/1.0.0/download", "/api/v1/plugins/acme/next/1.0.0/download"]);
    expect(find).not.toHaveBeenCalled();
    third.aborter.abort();
  }, 30_000);
});
