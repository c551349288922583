import { ConnectError } from "@connectrpc/connect";
import type { Command } from "commander";
import { HealthCheckResponse_ServingStatus as Status } from "../../../gen/grpc/health/v1/health_pb.js";
import { createDaemonClients } from "../../client.js";
import { CliError, createOutput, fail } from "../output.js";

/** addHealthCommand registers `health`: exit 0 when the daemon reports SERVING, 1 otherwise. */
export function addHealthCommand(program: Command): void {
  program
    .command("health")
    .description("ask a running daemon whether it is ready (grpc.health.v1, database included)")
    .option("--url <url>", "daemon base URL", `http://127.0.0.1:${process.env.SERVER_PORT || 5002}`)
    .option("--service <name>", "one service's health instead of the whole daemon's", "")
    .option("--timeout <ms>", "give up after this many milliseconds", "5000")
    .option("--json", "print one JSON result")
    .action(async (opts: { url: string; service: string; timeout: string; json?: boolean }) => {
      const out = createOutput(Boolean(opts.json));
      try {
        const { health } = createDaemonClients({ baseUrl: opts.url });
        const res = await health
          .check({ service: opts.service }, { timeoutMs: Number(opts.timeout) })
          .catch((err: unknown) => {
            throw new CliError(`cannot ask ${opts.url} for its health: ${ConnectError.from(err).message}`);
          });
        const status = Status[res.status] ?? String(res.status);
        out.result({ url: opts.url, service: opts.service, status }, `${opts.url}: ${status}`);
        if (res.status !== Status.SERVING) process.exitCode = 1;
      } catch (err) {
        fail(out, err);
      }
    });
}
