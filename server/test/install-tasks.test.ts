import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDaemonClients, type DaemonClients } from "../../clients/client.js";
import { InstallTaskStatus } from "../../gen/dify/plugin/v1/install_pb.js";
import type { InstallTaskStatus as RowStatus } from "../src/db/tables.js";
import { TEST_SERVER_KEY, startTestDaemon, type TestDaemon } from "./harness.js";

// Dismissing install tasks, as Dify's plugin page does once the user has seen the outcome.
let daemon: TestDaemon;
let clients: DaemonClients;

beforeAll(async () => {
  daemon = await startTestDaemon();
  clients = createDaemonClients({ baseUrl: daemon.baseUrl, apiKey: TEST_SERVER_KEY });
});
afterAll(async () => {
  await daemon?.stop();
});

/** A finished task with one plugin per given state, as the lifecycle writes it. */
async function seedTask(tenantId: string, states: RowStatus[]): Promise<{ taskId: string; identifiers: string[] }> {
  const db = daemon.daemon.database.db;
  const completed = states.filter((s) => s === "success").length;
  const failed = states.filter((s) => s === "failed").length;
  const task = await db
    .insertInto("install_tasks")
    .values({ tenant_id: tenantId, total_plugins: states.length, completed_plugins: completed, failed_plugins: failed, status: failed ? "failed" : "success" })
    .returning("id")
    .executeTakeFirstOrThrow();
  const identifiers = states.map((_, i) => `a/p${i}:0.0.1@${"0".repeat(64)}`);
  await db
    .insertInto("install_task_plugins")
    .values(states.map((status, i) => ({ task_id: task.id, position: i, plugin_unique_identifier: identifiers[i]!, plugin_id: `a/p${i}`, source: "package", status })))
    .execute();
  return { taskId: task.id, identifiers };
}

describe("deleting install tasks", () => {
  it("removing the failed item of a task whose other items succeeded removes the task", async () => {
    const tenantId = randomUUID();
    const { taskId, identifiers } = await seedTask(tenantId, ["success", "failed"]);
    await clients.plugins.deleteInstallTaskItem({ tenantId, taskId, pluginUniqueIdentifier: identifiers[1]! });
    const err = ConnectError.from(await clients.plugins.getInstallTask({ tenantId, taskId }).catch((e: unknown) => e));
    expect(err.code).toBe(Code.NotFound);
  });

  it("removing one item keeps a task that still has a failure, with its counts right", async () => {
    const tenantId = randomUUID();
    const { taskId, identifiers } = await seedTask(tenantId, ["success", "failed", "failed"]);
    await clients.plugins.deleteInstallTaskItem({ tenantId, taskId, pluginUniqueIdentifier: identifiers[0]! });
    const { task } = await clients.plugins.getInstallTask({ tenantId, taskId });
    expect(task).toMatchObject({ status: InstallTaskStatus.FAILED, totalPlugins: 2, completedPlugins: 0 });
    expect(task?.plugins.map((p) => p.pluginUniqueIdentifier)).toEqual(identifiers.slice(1));
  });

  it("deletes one task, or all of a tenant's, and never another tenant's", async () => {
    const tenantId = randomUUID();
    const other = randomUUID();
    const first = await seedTask(tenantId, ["success"]);
    await seedTask(tenantId, ["failed"]);
    const theirs = await seedTask(other, ["success"]);

    await clients.plugins.deleteInstallTask({ tenantId, taskId: first.taskId });
    expect((await clients.plugins.listInstallTasks({ tenantId })).tasks).toHaveLength(1);
    const foreign = ConnectError.from(await clients.plugins.deleteInstallTask({ tenantId, taskId: theirs.taskId }).catch((e: unknown) => e));
    expect(foreign.code).toBe(Code.NotFound);

    await clients.plugins.deleteAllInstallTasks({ tenantId });
    expect((await clients.plugins.listInstallTasks({ tenantId })).tasks).toEqual([]);
    expect((await clients.plugins.listInstallTasks({ tenantId: other })).tasks).toHaveLength(1);
  });
});
