import { afterEach, describe, expect, it } from "vitest";
import { createDaemonClients } from "../../clients/client.js";
import { HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { startTestDaemon, withAdmin, type TestDaemon } from "./harness.js";

// Readiness follows the database: an orchestrator must see NOT_SERVING when the daemon cannot do its job.
let daemon: TestDaemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

async function statusAfterCacheExpiry(d: TestDaemon, service = ""): Promise<Status> {
  // Readiness answers are cached for one second to spare the database from probe storms.
  await new Promise((r) => setTimeout(r, 1_100));
  return (await createDaemonClients({ baseUrl: d.baseUrl }).health.check({ service })).status;
}

describe("grpc.health.v1", () => {
  it("reports SERVING for the daemon and each of its services, NOT_FOUND for others", async () => {
    daemon = await startTestDaemon();
    const { health } = createDaemonClients({ baseUrl: daemon.baseUrl });
    expect((await health.check({})).status).toBe(Status.SERVING);
    expect((await health.check({ service: "dify.plugin.v1.PluginService" })).status).toBe(Status.SERVING);
    await expect(health.check({ service: "no.such.Service" })).rejects.toThrow(/unknown service/);
  });

  it("Watch streams the current status at once", async () => {
    daemon = await startTestDaemon();
    const { health } = createDaemonClients({ baseUrl: daemon.baseUrl, protocol: "grpc" });
    const abort = new AbortController();
    const stream = health.watch({}, { signal: abort.signal });
    const first = await stream[Symbol.asyncIterator]().next();
    abort.abort();
    expect(first.value?.status).toBe(Status.SERVING);
  });

  it.runIf(process.env.DB_URL)("turns NOT_SERVING when its Postgres database goes away", async () => {
    daemon = await startTestDaemon();
    const name = daemon.database.name!;
    await withAdmin(process.env.DB_URL!, (c) => c.query(`drop database ${name} with (force)`));
    expect(await statusAfterCacheExpiry(daemon)).toBe(Status.NOT_SERVING);
  });

  it.runIf(!process.env.DB_URL)("turns NOT_SERVING when its embedded database is closed", async () => {
    daemon = await startTestDaemon();
    await daemon.daemon.database.destroy();
    expect(await statusAfterCacheExpiry(daemon)).toBe(Status.NOT_SERVING);
  });
});
