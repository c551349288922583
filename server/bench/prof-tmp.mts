import { createDaemonClients } from "../../clients/client.js";
import { buildFixturePackage } from "../test/fixture-packages.js";
import { TEST_SERVER_KEY, startTestDaemon } from "../test/harness.js";
process.env.PIP_CONFIG_FILE = "/dev/null";
const daemon = await startTestDaemon({ FORCE_VERIFYING_SIGNATURE: "false" });
const clients = createDaemonClients({ baseUrl: daemon.baseUrl, apiKey: TEST_SERVER_KEY, protocol: "connect-binary", httpVersion: "2" });
const T = "33333333-3333-4333-8333-333333333333";
const { pluginUniqueIdentifier } = await clients.plugins.uploadPackage({ tenantId: T, package: await buildFixturePackage("echo-tool") });
const s = await clients.plugins.installFromIdentifiers({ tenantId: T, pluginUniqueIdentifiers: [pluginUniqueIdentifier] });
for await (const _ of clients.plugins.watchInstallTask({ tenantId: T, taskId: s.taskId })) {}
const call = async () => { for await (const _ of clients.invoke.invokeTool({ tenantId: T, pluginId: "daemon-tests/echo-tool", userId: "b", provider: "echo", tool: "echo", toolParameters: { text: "x" } })) {} };
for (let i = 0; i < 300; i++) await call();
const { findInstallation } = await import("../src/db/repositories/installations.js");
let t = performance.now();
for (let i = 0; i < 300; i++) await findInstallation(daemon.daemon.database.db, T, { pluginId: "daemon-tests/echo-tool" });
console.log("findInstallation ms", ((performance.now() - t) / 300).toFixed(3));
t = performance.now();
for (let i = 0; i < 300; i++) await call();
console.log("call ms", ((performance.now() - t) / 300).toFixed(3));
for (const [proto, hv] of [["grpc", "2"], ["connect-binary", "1.1"], ["connect", "1.1"]] as const) {
  const c2 = createDaemonClients({ baseUrl: daemon.baseUrl, apiKey: TEST_SERVER_KEY, protocol: proto, httpVersion: hv });
  const call2 = async () => { for await (const _ of c2.invoke.invokeTool({ tenantId: T, pluginId: "daemon-tests/echo-tool", userId: "b", provider: "echo", tool: "echo", toolParameters: { text: "x" } })) {} };
  for (let i = 0; i < 100; i++) await call2();
  t = performance.now();
  for (let i = 0; i < 300; i++) await call2();
  console.log(proto, hv, "call ms", ((performance.now() - t) / 300).toFixed(3));
}
t = performance.now();
for (let i = 0; i < 300; i++) await clients.health.check({});
console.log("health ms", ((performance.now() - t) / 300).toFixed(3));
const { workingDirectoryOf } = await import("../src/runtimes/local/index.js");
// direct runtime invoke
const { createLocalRuntime } = await import("../src/runtimes/local/index.js");
const { decodeArchive } = await import("../src/packaging/decode.js");
const { pino } = await import("pino");
const bytes = await buildFixturePackage("echo-tool");
const arc = await decodeArchive(bytes, { maxPackageBytes: 1 << 26, maxUncompressedBytes: 1 << 26 });
const rt = await createLocalRuntime({ uniqueIdentifier: pluginUniqueIdentifier.replace("echo-tool", "echo-tool2"), entries: arc.entries, workingPath: "/tmp/proftmp", logger: pino({ level: "silent" }) });
const direct = async () => { for await (const _ of rt.invoke({ sessionId: crypto.randomUUID(), type: "tool", action: "invoke_tool", userId: "b", data: { provider: "echo", tool: "echo", tool_parameters: { text: "x" }, credentials: {} } })) {} };
for (let i = 0; i < 300; i++) await direct();
t = performance.now();
for (let i = 0; i < 300; i++) await direct();
console.log("runtime.invoke ms", ((performance.now() - t) / 300).toFixed(3));
await rt.stop();
await daemon.stop();
process.exit(0);
