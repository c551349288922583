import { generateKeyPairSync } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { DEFAULT_MAX_PACKAGE_BYTES, decodeArchive } from "./packaging/decode.js";
import { describeArchive, type DecodedPackage } from "./packaging/decode-package.js";
import { buildPackage } from "./packaging/build-package.js";
import { packageChecksum } from "./packaging/checksum.js";
import { readPrivateKey, readPublicKey, signEntries, type AuthorizedCategory } from "./packaging/signature.js";
import { loadTrustedKeys } from "./packaging/trusted-keys.js";
import { writeArchive } from "./packaging/write-archive.js";

/**
 * The offline package commands of the operator CLI (`package`, `keygen`, `sign`, `verify`): pure file work
 * with the daemon's own packaging code, so what the CLI accepts is exactly what an upload accepts.
 */

const limits = (maxBytes = DEFAULT_MAX_PACKAGE_BYTES) => ({ maxPackageBytes: maxBytes, maxUncompressedBytes: maxBytes });

/** packageDirectory builds `<dir name>.difypkg` (or `output`) from a plugin source tree. */
export async function packageDirectory(directory: string, output?: string, maxBytes = DEFAULT_MAX_PACKAGE_BYTES) {
  const root = path.resolve(directory);
  const built = await buildPackage(root, { maxBytes });
  const file = path.resolve(output ?? `${path.basename(root)}.difypkg`);
  await writeFile(file, built.bytes);
  return {
    output: file,
    bytes: built.bytes.length,
    files: built.files.entries.length,
    ignoreFile: built.files.ignoreFile,
    checksum: packageChecksum(built.files.entries),
    plugin: `${built.declaration.author}/${built.declaration.name}:${built.declaration.version}`,
  };
}

/** generateSigningKeys writes `<name>.private.pem` (mode 0600) and `<name>.public.pem`, RSA-4096 PKCS#1. */
export async function generateSigningKeys(name = "dify_plugin_signing_key") {
  const pair = generateKeyPairSync("rsa", { modulusLength: 4096 });
  const privateFile = path.resolve(`${name}.private.pem`);
  const publicFile = path.resolve(`${name}.public.pem`);
  await writeFile(privateFile, pair.privateKey.export({ type: "pkcs1", format: "pem" }), { mode: 0o600, flag: "wx" });
  await writeFile(publicFile, pair.publicKey.export({ type: "pkcs1", format: "pem" }), { flag: "wx" });
  return { privateKey: privateFile, publicKey: publicFile };
}

/** signPackage writes `<name>.signed.difypkg` beside the input (or `output`), signed with the private key. */
export async function signPackage(packageFile: string, keyFile: string, category: AuthorizedCategory, output?: string) {
  const archive = await decodeArchive(await readFile(packageFile), limits());
  const key = readPrivateKey(await readFile(keyFile), keyFile);
  const signed = signEntries(archive.entries, key, category);
  const bytes = await writeArchive(signed.entries, signed.comment);
  const parsed = path.parse(path.resolve(packageFile));
  const file = path.resolve(output ?? path.join(parsed.dir, `${parsed.name}.signed${parsed.ext || ".difypkg"}`));
  await writeFile(file, bytes);
  return { output: file, category, checksum: packageChecksum(signed.entries) };
}

/** inspectPackage decodes and verifies a package against the official key plus `keyFiles`. */
export async function inspectPackage(packageFile: string, keyFiles: readonly string[] = []) {
  const archive = await decodeArchive(await readFile(packageFile), limits());
  const keys = loadTrustedKeys([]);
  for (const file of keyFiles) keys.push(readPublicKey(await readFile(file), file));
  const decoded = describeArchive(archive, { trustedKeys: keys });
  return { ...summary(decoded), verification: decoded.verification };
}

/** summary is what an operator wants to see of a declaration: its identity and what each provider offers. */
function summary(decoded: DecodedPackage) {
  const d = decoded.declaration;
  const providers: Record<string, unknown> = {};
  if (d.tool) providers.tool = { name: d.tool.identity.name, tools: d.tool.tools.map((t) => t.identity.name) };
  if (d.model) providers.model = { name: d.model.provider, models: d.model.models.length };
  if (d.agent_strategy) {
    providers.agent_strategy = { name: d.agent_strategy.identity.name, strategies: d.agent_strategy.strategies.map((s) => s.identity.name) };
  }
  if (d.datasource) providers.datasource = { name: d.datasource.identity.name };
  if (d.trigger) providers.trigger = { name: d.trigger.identity.name };
  if (d.endpoint) providers.endpoint = { endpoints: d.endpoint.endpoints.length };
  return {
    uniqueIdentifier: decoded.uniqueIdentifier,
    checksum: decoded.checksum,
    category: d.category,
    label: d.label.en_US,
    providers,
    files: decoded.archive.entries.length,
  };
}
