import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import {
  Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";
import { startTestDaemon } from "../test/harness.js";
import { latencyStats, printFigure, ratio, timeSequential } from "./stats.js";

const CALLS = 3_000;

/**
 * Unary round trip through the daemon (grpc.health.v1 Check: auth-free, readiness cached, so this is
 * the transport's own cost) against bare node servers answering the same bytes, with the same client
 * on both sides: fetch over HTTP/1.1 for Connect JSON, connect-node's gRPC transport over h2c for gRPC.
 */
export async function benchUnaryRoundTrip(): Promise<void> {
  const daemon = await startTestDaemon();
  const jsonBody = JSON.stringify({ status: "SERVING" });
  const bareH1 = http.createServer((req, res) => {
    req.resume().on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(jsonBody);
    });
  });
  const grpcMessage = toBinary(
    HealthCheckResponseSchema,
    create(HealthCheckResponseSchema, { status: HealthCheckResponse_ServingStatus.SERVING }),
  );
  const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, grpcMessage.length]), grpcMessage]);
  const bareH2 = http2.createServer();
  bareH2.on("stream", (stream) => {
    stream.resume().on("end", () => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(framed);
    });
  });
  const h1Port = await listen(bareH1);
  const h2Port = await listen(bareH2);
  try {
    const connectJson = (base: string) => () =>
      fetch(`${base}/grpc.health.v1.Health/Check`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      }).then((r) => r.text());
    figure("unary_round_trip_connect_json_http1", await timeSequential(connectJson(daemon.baseUrl), CALLS), await timeSequential(connectJson(`http://127.0.0.1:${h1Port}`), CALLS));

    const grpcClient = (base: string) => createClient(Health, createGrpcTransport({ baseUrl: base }));
    const viaDaemon = grpcClient(daemon.baseUrl);
    const viaBare = grpcClient(`http://127.0.0.1:${h2Port}`);
    figure("unary_round_trip_grpc_h2c", await timeSequential(() => viaDaemon.check({}), CALLS), await timeSequential(() => viaBare.check({}), CALLS));
  } finally {
    bareH1.closeAllConnections();
    bareH1.close();
    bareH2.close();
    await daemon.stop();
  }
}

function figure(name: string, daemonSamples: number[], baselineSamples: number[]): void {
  const daemon = latencyStats(daemonSamples);
  const baseline = latencyStats(baselineSamples);
  printFigure({
    figure: name,
    unit: "us",
    daemon,
    baseline: { what: "bare node server, same bytes, same client", ...baseline },
    p50Ratio: ratio(daemon.p50Us, Math.max(1, baseline.p50Us)),
    p50AddedUs: daemon.p50Us - baseline.p50Us,
  });
}

function listen(server: http.Server | http2.Http2Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}
