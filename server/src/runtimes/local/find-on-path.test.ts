import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { findPython } from "./find-on-path.js";

let dir: string;
const savedPath = process.env["PATH"];

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "find-python-"));
  process.env["PATH"] = `${dir}${path.delimiter}${savedPath ?? ""}`;
});
afterEach(async () => {
  process.env["PATH"] = savedPath;
  await rm(dir, { recursive: true, force: true });
});

async function executable(name: string, script: string): Promise<void> {
  await writeFile(path.join(dir, name), `#!/bin/sh\n${script}\n`);
  await chmod(path.join(dir, name), 0o755);
}

describe("findPython", () => {
  it("takes a pythonX.Y that runs and is that version", async () => {
    await executable("python3.98", "echo 3.98");
    expect(await findPython("3.98")).toBe(path.join(dir, "python3.98"));
  });

  it("passes over a version manager's shim that exists but fails, and one that is another version", async () => {
    await executable("python3.97", 'echo "pyenv: python3.97: command not found" >&2; exit 127');
    await executable("python3.96", "echo 3.11");
    expect(await findPython("3.97")).toBeUndefined();
    expect(await findPython("3.96")).toBeUndefined();
  });
});
