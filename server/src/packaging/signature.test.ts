import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { PackageArchive } from "./archive.js";
import { packageChecksum } from "./checksum.js";
import { decodeArchive } from "./decode.js";
import { readPrivateKey, readPublicKey, signEntries, verifyArchive, VERIFICATION_FILE } from "./signature.js";
import { checkSignaturePolicy } from "./signature-policy.js";
import { loadTrustedKeys, OFFICIAL_KEY_NAME } from "./trusted-keys.js";
import { writeArchive } from "./write-archive.js";

const FIXTURES = path.resolve(import.meta.dirname, "../../../../shared/fixtures/packages");
const AGENT = path.join(FIXTURES, "langgenius-agent_0.0.14.difypkg");
const DUMMY = path.join(FIXTURES, "dummy_plugin.difypkg");
const LIMITS = { maxPackageBytes: 50 * 1024 * 1024, maxUncompressedBytes: 50 * 1024 * 1024 };

let agent: PackageArchive;
beforeAll(async () => {
  agent = await decodeArchive(readFileSync(AGENT), LIMITS);
});

describe("checksum", () => {
  it("is the Go daemon's value for the official agent package, and what Python computes independently", () => {
    const expected = "26958a0e80a10655ce73812bdb7c35a66ce7b16f5ac346d298bda17ff85efd1e";
    // The same algorithm written again in Python with zipfile + hashlib, over the same file.
    const python = execFileSync("python3", [
      "-c",
      `import hashlib, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = sorted((i.filename for i in z.infolist() if not i.is_dir()), key=lambda n: n.encode())
h = hashlib.sha256()
for n in names:
    h.update(hashlib.sha256(n.encode()).digest()); h.update(hashlib.sha256(z.read(n)).digest())
print(h.hexdigest())`,
      AGENT,
    ]).toString().trim();
    expect(python).toBe(expected);
    expect(packageChecksum(agent.entries)).toBe(expected);
  });

  it("orders paths by UTF-8 bytes, not by JS string order", () => {
    // U+FF5E sorts after U+1F600 as UTF-16 code units but before it as UTF-8 bytes.
    const entries = [
      { name: "\u{1F600}.txt", data: Buffer.from("a") },
      { name: "\uFF5E.txt", data: Buffer.from("b") },
    ];
    expect(packageChecksum(entries)).toBe(packageChecksum([...entries].reverse()));
    const jsOrder = [...entries].sort((a, b) => (a.name < b.name ? -1 : 1)).map((e) => e.name);
    const byteOrder = [...entries].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name))).map((e) => e.name);
    expect(jsOrder).not.toEqual(byteOrder);
  });
});

describe("verification against the official key", () => {
  const official = loadTrustedKeys([]);

  it("verifies the official agent package as langgenius", () => {
    const result = verifyArchive(agent, official);
    expect(result).toMatchObject({ verified: true, category: "langgenius", keyName: OFFICIAL_KEY_NAME });
  });

  it("fails when one byte of any file inside changes", () => {
    expect(agent.entries.length).toBeGreaterThan(5);
    agent.entries.forEach((entry, index) => {
      const tampered = Buffer.from(entry.data);
      const at = Math.floor(tampered.length / 2);
      tampered[at] = (tampered[at] ?? 0) ^ 0x01;
      const entries = agent.entries.map((e, i) => (i === index ? { name: e.name, data: tampered } : e));
      const result = verifyArchive({ entries, comment: agent.comment }, official);
      expect(result.verified, entry.name).toBe(false);
    });
  });

  it("says why an unsigned package is not verified", async () => {
    const dummy = await decodeArchive(readFileSync(DUMMY), LIMITS);
    expect(verifyArchive(dummy, official)).toEqual({ verified: false, reason: "the package is not signed (its zip comment is empty)" });
    expect(verifyArchive({ ...dummy, comment: "not json" }, official)).toMatchObject({ verified: false });
    expect(verifyArchive({ ...dummy, comment: '{"signature":"!!","time":1}' }, official)).toMatchObject({ verified: false });
  });
});

describe("signing with a third-party key", () => {
  const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const privatePem = pair.privateKey.export({ type: "pkcs1", format: "pem" });
  const publicPem = pair.publicKey.export({ type: "pkcs1", format: "pem" });

  it("produces a package that verifies only when its key is trusted, with the category it names", async () => {
    const dummy = await decodeArchive(readFileSync(DUMMY), LIMITS);
    const signed = signEntries(dummy.entries, readPrivateKey(privatePem, "test key"), "partner");
    const bytes = await writeArchive(signed.entries, signed.comment);
    const decoded = await decodeArchive(bytes, LIMITS);

    expect(decoded.entries.at(-1)?.name).toBe(VERIFICATION_FILE);
    expect(verifyArchive(decoded, loadTrustedKeys([]))).toMatchObject({ verified: false });
    const thirdParty = [...loadTrustedKeys([]), readPublicKey(publicPem, "third party")];
    expect(verifyArchive(decoded, thirdParty)).toMatchObject({ verified: true, category: "partner", keyName: "third party" });

    // Re-signing replaces the verification file instead of adding a second one.
    const again = signEntries(decoded.entries, readPrivateKey(privatePem, "test key"), "community");
    expect(again.entries.filter((e) => e.name === VERIFICATION_FILE)).toHaveLength(1);
  });

  it("cannot claim langgenius past ENFORCE_LANGGENIUS_PLUGIN_SIGNATURES", async () => {
    const dummy = await decodeArchive(readFileSync(DUMMY), LIMITS);
    const signed = signEntries(dummy.entries, readPrivateKey(privatePem, "test key"), "langgenius");
    const result = verifyArchive({ entries: signed.entries, comment: signed.comment }, [readPublicKey(publicPem, "third party")]);
    expect(result).toMatchObject({ verified: true, category: "langgenius" });
    const policy = { forceVerifyingSignature: false, enforceLanggeniusSignatures: true };
    expect(() => checkSignaturePolicy(result, "langgenius", policy)).toThrow(/claims to be from Langgenius/);
    expect(() => checkSignaturePolicy(result, "someone", policy)).not.toThrow();
  });
});

describe("signature policy", () => {
  const unsigned = { verified: false as const, reason: "the package is not signed (its zip comment is empty)" };
  it("refuses unsigned packages under FORCE_VERIFYING_SIGNATURE and says how to allow them", () => {
    expect(() => checkSignaturePolicy(unsigned, "someone", { forceVerifyingSignature: true, enforceLanggeniusSignatures: false })).toThrow(
      /bad signature: the package is not signed .*set FORCE_VERIFYING_SIGNATURE=false/,
    );
    expect(() => checkSignaturePolicy(unsigned, "someone", { forceVerifyingSignature: false, enforceLanggeniusSignatures: false })).not.toThrow();
    expect(() =>
      checkSignaturePolicy(unsigned, "someone", { forceVerifyingSignature: false, enforceLanggeniusSignatures: false }, true),
    ).toThrow(/without verify_signature/);
  });
});
