import { randomUUID } from "node:crypto";
import type { Db } from "../src/db/database.js";

/** A declaration in the shape the manifest decoder stores (Dify's JSON), small but complete enough to read back. */
export function sampleDeclaration(name: string): Record<string, unknown> {
  return {
    version: "0.0.1",
    author: "langgenius",
    name,
    label: { en_US: `${name} label`, zh_Hans: `${name} 标签` },
    description: { en_US: `${name} description` },
    icon: "icon.svg",
    category: "tool",
    tags: ["search", "utilities"],
    resource: { memory: 268435456, permission: { tool: { enabled: true }, storage: { enabled: true, size: 1048576 } } },
    plugins: { tools: ["provider/search.yaml"] },
    meta: { version: "0.0.1", arch: ["amd64", "arm64"], runner: { language: "python", version: "3.12", entrypoint: "main" } },
    created_at: "2025-01-02T03:04:05Z",
    tool: { identity: { name, author: "langgenius" } },
    // A field the contract does not have: reading must ignore it, not fail.
    future_field: { anything: true },
  };
}

/** seedInstallation inserts a package row and a tenant's installation of it, as an install would. */
export async function seedInstallation(db: Db, tenantId: string, name: string): Promise<{ id: string; identifier: string }> {
  const checksum = randomUUID().replaceAll("-", "").padEnd(64, "0");
  const identifier = `langgenius/${name}:0.0.1@${checksum}`;
  await db
    .insertInto("plugins")
    .values({
      plugin_unique_identifier: identifier,
      plugin_id: `langgenius/${name}`,
      version: "0.0.1",
      checksum,
      declaration: JSON.stringify(sampleDeclaration(name)),
      verification: "langgenius",
      runtime_type: "local",
      debug_tenant_id: null,
    })
    .onConflict((oc) => oc.doNothing())
    .execute();
  const row = await db
    .insertInto("plugin_installations")
    .values({
      tenant_id: tenantId,
      plugin_id: `langgenius/${name}`,
      plugin_unique_identifier: identifier,
      runtime_type: "local",
      source: "marketplace",
      meta: JSON.stringify({ repo: `langgenius/${name}` }),
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return { id: row.id, identifier };
}

/** seedInstallTask inserts a running task with one plugin, as the lifecycle code would. */
export async function seedInstallTask(db: Db, tenantId: string, identifier: string): Promise<string> {
  const task = await db
    .insertInto("install_tasks")
    .values({ tenant_id: tenantId, total_plugins: 1, status: "running" })
    .returning("id")
    .executeTakeFirstOrThrow();
  await db
    .insertInto("install_task_plugins")
    .values({
      task_id: task.id,
      position: 0,
      plugin_unique_identifier: identifier,
      plugin_id: identifier.split(":")[0]!,
      status: "running",
      message: "installing dependencies",
      labels: JSON.stringify({ en_US: "Search" }),
      source: "marketplace",
    })
    .execute();
  return task.id;
}
