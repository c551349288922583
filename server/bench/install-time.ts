import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { createDaemonClients } from "../../clients/client.js";
import { InstallTaskStatus } from "../../gen/dify/plugin/v1/install_pb.js";
import { buildPackage } from "../src/packaging/build-package.js";
import { fixtureTree } from "../test/fixture-packages.js";
import { TEST_SERVER_KEY, startTestDaemon } from "../test/harness.js";
import { median, printFigure, ratio } from "./stats.js";

const run = promisify(execFile);
const TINYDEP = path.resolve(import.meta.dirname, "../test/fixtures/runtime/tinydep");
const RUNS = 3;


/**
 * benchInstallTime: a plugin with one bundled wheel installed through the daemon (upload, task, extract, venv,
 * offline pip, first heartbeat) against bare `python -m venv` + `pip install --no-index` of the same wheel.
 */
export async function benchInstallTime(): Promise<void> {
  const hermetic = { ...process.env, PIP_CONFIG_FILE: "/dev/null" };
  process.env.PIP_CONFIG_FILE = "/dev/null";
  const scratch = await mkdtemp(path.join(os.tmpdir(), "bench-install-"));
  const daemon = await startTestDaemon({ FORCE_VERIFYING_SIGNATURE: "false" });
  try {
    const wheelhouse = path.join(scratch, "wheelhouse");
    await run("python3", ["-m", "pip", "wheel", "--disable-pip-version-check", "--no-index", "--no-deps", "-w", wheelhouse, TINYDEP], { env: hermetic });
    const [wheel] = await readdir(wheelhouse);
    const clients = createDaemonClients({ baseUrl: daemon.baseUrl, apiKey: TEST_SERVER_KEY, protocol: "connect-binary", httpVersion: "2" });
    const daemonMs: number[] = [];
    const bareMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // A distinct plugin each run, so nothing is reused from the run before.
      const tree = await fixtureTree("echo-tool");
      const manifest = path.join(tree.dir, "manifest.yaml");
      await writeFile(manifest, (await readFile(manifest, "utf8")).replace("name: echo-tool", `name: bench-install-${i}`));
      await writeFile(path.join(tree.dir, "requirements.txt"), "tinydep==0.1.0\n");
      await mkdir(path.join(tree.dir, "wheels"));
      await writeFile(path.join(tree.dir, "wheels", wheel!), await readFile(path.join(wheelhouse, wheel!)));
      const bytes = (await buildPackage(tree.dir, { maxBytes: 50 * 1024 * 1024 })).bytes;
      await tree.cleanup();

      const t0 = performance.now();
      const { pluginUniqueIdentifier } = await clients.plugins.uploadPackage({ tenantId: "bench", package: bytes });
      const started = await clients.plugins.installFromIdentifiers({ tenantId: "bench", pluginUniqueIdentifiers: [pluginUniqueIdentifier] });
      for await (const { task } of clients.plugins.watchInstallTask({ tenantId: "bench", taskId: started.taskId })) {
        if (task?.status === InstallTaskStatus.FAILED) throw new Error(`bench install failed: ${task.plugins[0]?.message}`);
      }
      daemonMs.push(performance.now() - t0);

      const venv = path.join(scratch, `venv-${i}`);
      const t1 = performance.now();
      await run("python3", ["-m", "venv", venv], { env: hermetic });
      await run(path.join(venv, "bin/python"), ["-m", "pip", "install", "--disable-pip-version-check", "--no-index", "--find-links", wheelhouse, "tinydep==0.1.0"], { env: hermetic });
      bareMs.push(performance.now() - t1);
    }
    printFigure({
      figure: "install_time_one_wheel",
      unit: "ms",
      daemon: { what: "upload + install task until success (extract, venv, offline pip, first heartbeat)", medianMs: Math.round(median(daemonMs)), runs: RUNS },
      baseline: { what: "python -m venv + pip install --no-index of the same wheel", medianMs: Math.round(median(bareMs)), runs: RUNS },
      ratio: ratio(median(daemonMs), median(bareMs)),
    });
  } finally {
    await daemon.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}
