import { describe, expect, it } from "vitest";
import { CredentialType } from "../../../../gen/dify/plugin/v1/common_pb.js";
import { InvalidPackageError } from "../../errors.js";
import { credentialTypeField, hexOf, readChunk } from "./chunk-reader.js";

describe("readChunk", () => {
  it("refuses a chunk that is not an object, naming the action", () => {
    expect(() => readChunk(["x"], "oauth/get_credentials")).toThrow("the plugin answered oauth/get_credentials with an array, expected an object");
    expect(() => readChunk(null, "oauth/get_credentials")).toThrow(InvalidPackageError);
  });

  it("treats null like a missing field and names the nested path", () => {
    const chunk = readChunk({ options: [{ value: "a", label: { en_US: "A" } }, { value: "b", label: { en_US: null } }] }, "x/y");
    expect(() => chunk.readers("options").map((o) => o.reader("label").string("en_US"))).toThrow(
      "the plugin's x/y result lacks options[1].label.en_US (expected a string)",
    );
  });

  it("names the kind found, never the value (chunks carry credentials)", () => {
    const chunk = readChunk({ credentials: "sk-secret-value" }, "oauth/refresh_credentials");
    expect(() => chunk.object("credentials")).toThrow("the plugin's oauth/refresh_credentials result has credentials as a string, expected an object");
    try {
      chunk.object("credentials");
    } catch (err) {
      expect(String(err)).not.toContain("sk-secret-value");
    }
  });

  it("reads optional fields as undefined when absent or null, and refuses them when of the wrong kind", () => {
    const chunk = readChunk({ a: null, n: 1.5 }, "x/y");
    expect(chunk.optionalObject("a")).toBeUndefined();
    expect(chunk.optionalString("missing")).toBeUndefined();
    expect(() => chunk.optionalInteger("n")).toThrow("has n as a number, expected an integer");
  });

  it("decodes hex and refuses text that is not hex", () => {
    expect(readChunk({ r: "48690a" }, "x/y").hex("r")).toStrictEqual(new Uint8Array([0x48, 0x69, 0x0a]));
    expect(readChunk({ r: "" }, "x/y").hex("r")).toStrictEqual(new Uint8Array());
    expect(() => readChunk({ r: "486" }, "x/y").hex("r")).toThrow("has r that is not a hex string");
    expect(() => readChunk({ r: "zz" }, "x/y").hex("r")).toThrow("has r that is not a hex string");
  });
});

describe("request helpers", () => {
  it("credentialTypeField uses Dify's names and leaves unspecified out", () => {
    expect(credentialTypeField(CredentialType.API_KEY)).toStrictEqual({ credential_type: "api-key" });
    expect(credentialTypeField(CredentialType.OAUTH2)).toStrictEqual({ credential_type: "oauth2" });
    expect(credentialTypeField(CredentialType.UNAUTHORIZED)).toStrictEqual({ credential_type: "unauthorized" });
    expect(credentialTypeField(CredentialType.UNSPECIFIED)).toStrictEqual({});
  });

  it("hexOf encodes a view of a larger buffer without its neighbours", () => {
    const whole = new Uint8Array([1, 2, 0xab, 0xcd, 5]);
    expect(hexOf(whole.subarray(2, 4))).toBe("abcd");
  });
});
