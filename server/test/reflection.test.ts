import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServerReflection } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { REPO_ROOT, TEST_SERVER_KEY, startTestDaemon, type TestDaemon } from "./harness.js";
import { seedInstallation } from "./seed.js";

// Reflection is checked with the operator's own tool (`buf curl`, grpcurl's stand-in here) and at the message level.
const run = promisify(execFile);
const BUF = path.join(REPO_ROOT, "node_modules", ".bin", "buf");

let daemon: TestDaemon;
const tenantId = randomUUID();

beforeAll(async () => {
  daemon = await startTestDaemon();
  await seedInstallation(daemon.daemon.database.db, tenantId, "weather");
});
afterAll(async () => {
  await daemon?.stop();
});

async function bufCurl(...args: string[]): Promise<string> {
  const { stdout } = await run(BUF, ["curl", ...args], { timeout: 30_000 });
  return stdout;
}

describe("buf curl through server reflection", () => {
  it("lists every service without a key (v1)", async () => {
    const services = (await bufCurl("--list-services", "--http2-prior-knowledge", daemon.baseUrl)).trim().split("\n");
    expect(services).toEqual([
      "dify.plugin.v1.DebugService",
      "dify.plugin.v1.EndpointService",
      "dify.plugin.v1.InvokeService",
      "dify.plugin.v1.PluginService",
      "dify.plugin.v1.RepackageService",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ]);
  });

  it("lists methods over the older v1alpha protocol", async () => {
    const methods = await bufCurl("--list-methods", "--reflect-protocol", "grpc-v1alpha", "--http2-prior-knowledge", daemon.baseUrl);
    expect(methods).toContain("dify.plugin.v1.InvokeService/InvokeTool\n");
    expect(methods).toContain("dify.plugin.v1.PluginService/WatchInstallTask\n");
  });

  it("calls an RPC whose schema came from reflection, over gRPC and over Connect on HTTP/1.1", async () => {
    const body = JSON.stringify({ tenantId });
    const overGrpc = JSON.parse(
      await bufCurl("--http2-prior-knowledge", "-H", `x-api-key: ${TEST_SERVER_KEY}`, "-d", body,
        `${daemon.baseUrl}/dify.plugin.v1.PluginService/ListInstallations`),
    );
    expect(overGrpc.installations[0].pluginId).toBe("langgenius/weather");
    const overConnect = JSON.parse(
      await bufCurl("--protocol", "connect", "-H", `x-api-key: ${TEST_SERVER_KEY}`, "-d", body,
        `${daemon.baseUrl}/dify.plugin.v1.PluginService/ListInstallations`),
    );
    expect(overConnect).toEqual(overGrpc);
  });

  it("still needs the key for the RPC itself", async () => {
    const failed = await bufCurl("--http2-prior-knowledge", "-d", JSON.stringify({ tenantId }),
      `${daemon.baseUrl}/dify.plugin.v1.PluginService/ListInstallations`).catch((e: { stderr: string }) => e);
    expect((failed as { stderr: string }).stderr).toContain("unauthenticated");
  });
});

describe("reflection messages", () => {
  it("returns a service's file with every file it imports, and NOT_FOUND for an unknown symbol", async () => {
    const client = createClient(ServerReflection, createGrpcTransport({ baseUrl: daemon.baseUrl }));
    async function* requests() {
      yield { host: "", messageRequest: { case: "fileContainingSymbol" as const, value: "dify.plugin.v1.PluginService" } };
      yield { host: "", messageRequest: { case: "fileContainingSymbol" as const, value: "dify.plugin.v1.NoSuchThing" } };
    }
    const answers = [];
    for await (const answer of client.serverReflectionInfo(requests())) answers.push(answer);
    expect(answers).toHaveLength(2);

    const found = answers[0]!.messageResponse;
    expect(found.case).toBe("fileDescriptorResponse");
    const files = (found.value as { fileDescriptorProto: Uint8Array[] }).fileDescriptorProto.map((bytes) =>
      fromBinary(FileDescriptorProtoSchema, bytes),
    );
    // As grpc-go does: the requested file first, then its imports transitively, so one answer is a whole schema.
    expect(files[0]?.name).toBe("dify/plugin/v1/plugin_service.proto");
    const names = new Set(files.map((f) => f.name));
    for (const f of files) for (const dep of f.dependency) expect(names, `${f.name} imports ${dep}`).toContain(dep);
    expect(names).toContain("google/protobuf/struct.proto");

    const missing = answers[1]!.messageResponse;
    expect(missing.case).toBe("errorResponse");
    expect((missing.value as { errorCode: number }).errorCode).toBe(5);
  });
});
