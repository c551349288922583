import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createProgressDisplay } from "./repackage-progress.js";

/** A stream that says it is a terminal, collecting what is written to it. */
function fakeStream(tty: boolean) {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  stream.isTTY = tty;
  stream.columns = 120;
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

describe("createProgressDisplay", () => {
  it("draws a bar per platform's downloads on a terminal, and lines for the other steps", async () => {
    const { stream, text } = fakeStream(true);
    const display = createProgressDisplay(false, stream);
    display.update({ stage: "resolve", message: "resolving requirements.txt for manylinux2014_x86_64", platform: "manylinux2014_x86_64" });
    display.update({ stage: "download", message: "a-1.0-py3-none-any.whl (downloaded)", platform: "manylinux2014_x86_64", completed: 1, total: 3 });
    display.update({ stage: "download", message: "b-1.0-py3-none-any.whl (cached)", platform: "manylinux2014_x86_64", completed: 3, total: 3 });
    display.update({ stage: "pack", message: "packing" });
    display.stop();
    await new Promise((r) => setImmediate(r));
    expect(text()).toContain("resolve [manylinux2014_x86_64]: resolving requirements.txt");
    expect(text()).toMatch(/download manylinux2014_x86_64 \|[^|]+\| 3\/3 b-1\.0-py3-none-any\.whl \(cached\)/);
    expect(text()).toContain("pack: packing");
  });

  it("writes plain lines when stderr is not a terminal, and nothing with --json", async () => {
    const plain = fakeStream(false);
    createProgressDisplay(false, plain.stream).update({ stage: "download", message: "a.whl (downloaded)", platform: "p", completed: 1, total: 2 });
    const json = fakeStream(false);
    createProgressDisplay(true, json.stream).update({ stage: "pack", message: "packing" });
    await new Promise((r) => setImmediate(r));
    expect(plain.text()).toBe("download [p] 1/2: a.whl (downloaded)\n");
    expect(json.text()).toBe("");
  });
});
