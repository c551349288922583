import { readFile } from "node:fs/promises";
import { toJson } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { ToolInvokeMessageSchema } from "../../../gen/dify/plugin/v1/tool_pb.js";
import type { Command } from "commander";
import { InstallTaskStatus, type InstallTask } from "../../../gen/dify/plugin/v1/install_pb.js";
import { createDaemonClients, type DaemonClients } from "../../client.js";
import { CliError, createOutput, fail, type Output } from "../output.js";

interface ConnectionOptions {
  readonly url: string;
  readonly key?: string;
  readonly tenant: string;
  readonly json?: boolean;
}

function connect(opts: ConnectionOptions): DaemonClients {
  const apiKey = opts.key ?? process.env.SERVER_KEY;
  if (!apiKey) throw new CliError("no API key: pass --key or set SERVER_KEY (the daemon's x-api-key)", 2);
  return createDaemonClients({ baseUrl: opts.url, apiKey });
}

function withConnection(command: Command): Command {
  return command
    .option("--url <url>", "daemon base URL", `http://127.0.0.1:${process.env.SERVER_PORT || 5002}`)
    .option("--key <key>", "the daemon's SERVER_KEY (default: $SERVER_KEY)")
    .option("--tenant <id>", "tenant (workspace) id", process.env.TENANT_ID ?? "default")
    .option("--json", "print one JSON result");
}

const STATUS = (s: InstallTaskStatus) => InstallTaskStatus[s]?.toLowerCase() ?? String(s);

function describeTask(task: InstallTask) {
  return {
    id: task.id,
    status: STATUS(task.status),
    total: task.totalPlugins,
    completed: task.completedPlugins,
    plugins: task.plugins.map((p) => ({ plugin: p.pluginUniqueIdentifier, status: STATUS(p.status), message: p.message })),
  };
}

/** followTask streams a task's changes, drawing one progress line per change on a terminal, until it ends. */
async function followTask(clients: DaemonClients, tenantId: string, taskId: string, out: Output): Promise<InstallTask> {
  let last: InstallTask | undefined;
  for await (const { task } of clients.plugins.watchInstallTask({ tenantId, taskId })) {
    if (!task) continue;
    last = task;
    if (!out.json) {
      const current = task.plugins.find((p) => p.status === InstallTaskStatus.RUNNING) ?? task.plugins.at(-1);
      const line = `[${task.completedPlugins}/${task.totalPlugins}] ${STATUS(task.status)}${current ? `: ${current.pluginId} ${current.message}` : ""}`;
      process.stderr.write(process.stderr.isTTY ? `\r\x1b[K${line}` : `${line}\n`);
    }
  }
  if (!out.json && process.stderr.isTTY) process.stderr.write("\n");
  if (!last) throw new CliError(`install task ${taskId} sent no state`);
  return last;
}

/** addPluginCommands registers `plugin install|list|invoke-tool|uninstall` and `tasks`. */
export function addPluginCommands(program: Command): void {
  const plugin = program.command("plugin").description("install, list, invoke and uninstall plugins on a running daemon");

  withConnection(plugin.command("install <package-or-identifier>"))
    .description("install a .difypkg file (uploaded first) or an identifier already stored in the daemon; waits for the task")
    .action(async (target: string, opts: ConnectionOptions) => {
      const out = createOutput(Boolean(opts.json));
      try {
        const clients = connect(opts);
        let identifier = target;
        if (target.endsWith(".difypkg")) {
          const uploaded = await clients.plugins.uploadPackage({ tenantId: opts.tenant, package: await readFile(target) });
          identifier = uploaded.pluginUniqueIdentifier;
        }
        const started = await clients.plugins.installFromIdentifiers({ tenantId: opts.tenant, pluginUniqueIdentifiers: [identifier], source: "package" });
        if (started.allInstalled) {
          out.result({ plugin: identifier, status: "already installed" }, `${identifier}: already installed`);
          return;
        }
        const task = await followTask(clients, opts.tenant, started.taskId, out);
        out.result(describeTask(task), task.plugins.map((p) => `${p.pluginUniqueIdentifier}: ${p.message}`).join("\n"));
        if (task.status !== InstallTaskStatus.SUCCESS) process.exitCode = 1;
      } catch (err) {
        fail(out, err instanceof ConnectError ? new CliError(err.rawMessage) : err);
      }
    });

  withConnection(plugin.command("list"))
    .description("list the tenant's installed plugins")
    .action(async (opts: ConnectionOptions) => {
      const out = createOutput(Boolean(opts.json));
      try {
        const { installations } = await connect(opts).plugins.listInstallations({ tenantId: opts.tenant, pageSize: 256 });
        const rows = installations.map((i) => ({ id: i.id, plugin: i.pluginUniqueIdentifier, version: i.version, source: i.source }));
        out.result(rows, rows.length ? rows.map((r) => `${r.id}  ${r.plugin}`).join("\n") : "no plugins installed");
      } catch (err) {
        fail(out, err instanceof ConnectError ? new CliError(err.rawMessage) : err);
      }
    });

  withConnection(plugin.command("invoke-tool <plugin-id> <provider> <tool>"))
    .description("invoke a tool and print each message it streams")
    .option("-p, --params <json>", "tool parameters as a JSON object", "{}")
    .option("-c, --credentials <json>", "provider credentials as a JSON object", "{}")
    .action(async (pluginId: string, provider: string, tool: string, opts: ConnectionOptions & { params: string; credentials: string }) => {
      const out = createOutput(Boolean(opts.json));
      try {
        const parse = (flag: string, text: string) => {
          try {
            return JSON.parse(text) as Record<string, unknown>;
          } catch {
            throw new CliError(`${flag} is not JSON: ${text}`, 2);
          }
        };
        const messages: unknown[] = [];
        const stream = connect(opts).invoke.invokeTool({
          tenantId: opts.tenant,
          pluginId,
          userId: "cli",
          provider,
          tool,
          toolParameters: parse("--params", opts.params) as never,
          credentials: parse("--credentials", opts.credentials) as never,
        });
        // Each message as proto JSON: one key naming its kind ({"text": {...}}, {"blobChunk": {...}}, ...).
        for await (const { message } of stream) {
          if (!message) continue;
          const json = toJson(ToolInvokeMessageSchema, message);
          messages.push(json);
          if (!out.json) process.stdout.write(`${JSON.stringify(json)}\n`);
        }
        if (out.json) out.result(messages, "");
      } catch (err) {
        fail(out, err instanceof ConnectError ? new CliError(err.rawMessage) : err);
      }
    });

  withConnection(plugin.command("uninstall <installation-id>"))
    .description("uninstall a plugin from the tenant (see `plugin list` for ids)")
    .action(async (installationId: string, opts: ConnectionOptions) => {
      const out = createOutput(Boolean(opts.json));
      try {
        await connect(opts).plugins.uninstallPlugin({ tenantId: opts.tenant, pluginInstallationId: installationId });
        out.result({ uninstalled: installationId }, `uninstalled ${installationId}`);
      } catch (err) {
        fail(out, err instanceof ConnectError ? new CliError(err.rawMessage) : err);
      }
    });

  withConnection(program.command("tasks [task-id]"))
    .description("list the tenant's install tasks, or follow one with a progress display until it ends")
    .action(async (taskId: string | undefined, opts: ConnectionOptions) => {
      const out = createOutput(Boolean(opts.json));
      try {
        const clients = connect(opts);
        if (taskId) {
          const task = await followTask(clients, opts.tenant, taskId, out);
          out.result(describeTask(task), `${task.id}: ${STATUS(task.status)}`);
          return;
        }
        const { tasks } = await clients.plugins.listInstallTasks({ tenantId: opts.tenant });
        const rows = tasks.map(describeTask);
        out.result(rows, rows.length ? rows.map((t) => `${t.id}  ${t.status}  ${t.completed}/${t.total}`).join("\n") : "no install tasks");
      } catch (err) {
        fail(out, err instanceof ConnectError ? new CliError(err.rawMessage) : err);
      }
    });
}
