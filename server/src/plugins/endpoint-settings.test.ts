import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../errors.js";
import { allowsEndpoints, endpointGroupOf, keepMaskedSecrets, maskSecret, maskSettings, validateEndpointSettings } from "./endpoint-settings.js";

const configs = [
  { name: "api_key", type: "secret-input", required: true },
  { name: "greeting", type: "text-input" },
  { name: "mode", type: "select", options: [{ value: "fast" }, { value: "slow" }] },
  { name: "on", type: "boolean" },
  { name: "model", type: "model-selector", scope: "rerank" },
  { name: "app", type: "app-selector" },
];

describe("validateEndpointSettings", () => {
  it("accepts what the Go daemon accepts, undeclared fields included", () => {
    expect(() =>
      validateEndpointSettings(
        { api_key: "k", greeting: "hi", mode: "fast", on: true, model: { provider: "p", model: "m", model_type: "rerank", score_threshold: 0.5, top_n: 3 }, app: { app_id: "a" }, extra: 1 },
        configs,
      ),
    ).not.toThrow();
  });

  it.each([
    [{}, "failed to validate settings: missing required setting: api_key"],
    [{ api_key: null }, "failed to validate settings: missing required setting: api_key"],
    [{ api_key: 3 }, "failed to validate settings: setting api_key is not a string"],
    [{ api_key: "k", mode: "medium" }, "failed to validate settings: setting mode is not a valid option"],
    [{ api_key: "k", on: "yes" }, "failed to validate settings: setting on is not a boolean"],
    [{ api_key: "k", app: {} }, "failed to validate settings: setting app is missing app_id"],
    [{ api_key: "k", model: { provider: "p", model: "m", model_type: "rerank" } }, "failed to validate settings: setting model is missing score_threshold"],
    [Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"])), "failed to validate settings: too many setting fields"],
  ])("refuses %j", (settings, message) => {
    expect(() => validateEndpointSettings(settings, configs)).toThrow(new InvalidArgumentError(message));
  });
});

describe("masking", () => {
  it("masks secrets as Go does: first and last two of long ones, all stars for short ones", () => {
    expect(maskSecret("sk-1234567")).toBe("sk******67");
    expect(maskSecret("123456")).toBe("******");
    expect(maskSettings({ api_key: "sk-1234567", greeting: "hello", other: 1 }, configs)).toEqual({ api_key: "sk******67", greeting: "hello", other: 1 });
  });

  it("keeps a stored secret when an update sends its masked form back, takes a new one otherwise", () => {
    const stored = { api_key: "sk-1234567", greeting: "hello" };
    expect(keepMaskedSecrets({ api_key: "sk******67", greeting: "bye" }, stored, configs)).toEqual({ api_key: "sk-1234567", greeting: "bye" });
    expect(keepMaskedSecrets({ api_key: "sk-new-secret" }, stored, configs)).toEqual({ api_key: "sk-new-secret" });
  });
});

describe("declaration helpers", () => {
  it("reads the endpoint group and the endpoint permission", () => {
    const declaration = {
      resource: { permission: { endpoint: { enabled: true } } },
      endpoint: { settings: [{ name: "a", type: "text-input" }], endpoints: [{ path: "/x", method: "GET", hidden: false }] },
    };
    expect(allowsEndpoints(declaration)).toBe(true);
    expect(allowsEndpoints({ resource: { permission: { tool: { enabled: true } } } })).toBe(false);
    expect(endpointGroupOf(declaration)).toEqual(declaration.endpoint);
    expect(endpointGroupOf({})).toBeUndefined();
  });
});
