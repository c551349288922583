import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { assetId } from "../../packaging/assets.js";
import { RegistrationError } from "./errors.js";
import { RegistrationCollector, parseRegisterMessage } from "./registration.js";

const TENANT = "44444444-4444-4444-8444-444444444444";
const ICON = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>');
const i18n = (text: string) => ({ en_US: text, zh_Hans: null, pt_BR: null, ja_JP: null });

/** The manifest as the SDK's PluginConfiguration.model_dump() writes it: nulls included. */
function manifest(overrides: Record<string, unknown> = {}) {
  return {
    version: "0.0.1",
    type: "plugin",
    author: "daemon-tests",
    name: "debug-tool",
    repo: null,
    label: i18n("Debug tool"),
    description: i18n("A tool plugin debugged over TCP"),
    icon: "icon.svg",
    icon_dark: null,
    resource: { memory: 268435456, permission: { tool: { enabled: true }, model: null, node: null, endpoint: null, app: null, storage: null } },
    plugins: { tools: ["provider/debug.yaml"], models: [], endpoints: [], agent_strategies: [], datasources: [], triggers: [] },
    meta: { version: "0.0.1", arch: ["amd64", "arm64"], runner: { language: "python", version: "3.12", entrypoint: "main" }, minimum_dify_version: null },
    created_at: "2026-11-01T00:00:00",
    privacy: null,
    tags: ["utilities"],
    ...overrides,
  };
}

const toolProvider = {
  identity: { author: "daemon-tests", name: "debug", description: i18n("Debug tools"), icon: "icon.svg", icon_dark: null, label: i18n("Debug"), tags: [] },
  credentials_schema: [],
  oauth_schema: null,
  tools: [
    {
      identity: { author: "daemon-tests", name: "echo", label: i18n("echo"), icon: null },
      parameters: [
        { name: "text", label: i18n("text"), human_description: i18n("text"), type: "string", form: "llm", llm_description: "text", required: true, default: null, options: [] },
      ],
      description: { human: i18n("Returns its input"), llm: "Returns its input" },
      extra: { python: { source: "tools/echo.py" } },
      has_runtime_parameters: false,
      output_schema: null,
    },
  ],
};

function collector(): RegistrationCollector {
  const c = new RegistrationCollector();
  c.tenantId = TENANT;
  return c;
}

function assetChunk(filename: string, data: Buffer, end = true) {
  return { type: "asset_chunk", data: { filename, data: data.toString("base64"), end } };
}

describe("RegistrationCollector", () => {
  it("builds the declaration as an upload would: checked, icons remapped to asset ids, the manifest's provider lists kept", () => {
    const c = collector();
    c.add({ type: "manifest_declaration", data: manifest() });
    c.add({ type: "tool_declaration", data: [toolProvider] });
    c.add(assetChunk("icon.svg", ICON.subarray(0, 10), false));
    c.add(assetChunk("icon.svg", ICON.subarray(10)));
    c.add({ type: "some_future_type", data: {} });
    const registration = c.finish();
    const icon = assetId("icon.svg", ICON);
    expect(registration.declaration.icon).toBe(icon);
    expect(registration.declaration.tool?.identity.icon).toBe(icon);
    expect(registration.declaration.category).toBe("tool");
    expect(registration.declaration.created_at).toBe("2026-11-01T00:00:00Z");
    expect(registration.declaration.plugins.tools).toEqual(["provider/debug.yaml"]);
    expect(registration.declaration.plugins.models).toEqual([]);
    expect(registration.declaration.tool?.tools.map((t) => t.identity.name)).toEqual(["echo"]);
    expect(registration.assets).toEqual([{ id: icon, data: ICON }]);
    const checksum = createHash("sha256").update(JSON.stringify(registration.declaration)).update(TENANT).digest("hex");
    expect(registration.checksum).toBe(checksum);
    expect(registration.pluginId).toBe("daemon-tests/debug-tool");
    expect(registration.uniqueIdentifier).toBe(`daemon-tests/debug-tool:0.0.1@${checksum}`);
    expect(registration.tenantId).toBe(TENANT);
  });

  it("refuses an end without any declaration message, as the Go daemon does", () => {
    const c = collector();
    c.add({ type: "manifest_declaration", data: manifest() });
    expect(() => c.finish()).toThrow(new RegistrationError("no registration transferred, cannot initialize"));
  });

  it("refuses a second declaration of the same kind", () => {
    const c = collector();
    c.add({ type: "manifest_declaration", data: manifest() });
    expect(() => c.add({ type: "manifest_declaration", data: manifest() })).toThrow("declaration already registered");
    c.add({ type: "tool_declaration", data: [toolProvider] });
    expect(() => c.add({ type: "tool_declaration", data: [toolProvider] })).toThrow("tools declaration already registered");
  });

  it("refuses a manifest the upload rules refuse, naming the field", () => {
    const c = collector();
    c.add({ type: "manifest_declaration", data: manifest({ author: "Not Valid" }) });
    c.add({ type: "tool_declaration", data: [toolProvider] });
    c.add(assetChunk("icon.svg", ICON));
    expect(() => c.finish()).toThrow(/^register failed, invalid manifest detected: .*author/);
  });

  it("refuses icons that were not sent as assets", () => {
    const c = collector();
    c.add({ type: "manifest_declaration", data: manifest() });
    c.add({ type: "tool_declaration", data: [toolProvider] });
    expect(() => c.finish()).toThrow(/^register failed, invalid manifest detected: .*icon\.svg/);
  });

  it("refuses assets over the limit and asset names that are paths", () => {
    const small = new RegistrationCollector({ maxAssetBytes: 16 });
    expect(() => small.add(assetChunk("big.bin", Buffer.alloc(17)))).toThrow("assets too large");
    expect(() => collector().add(assetChunk("../x.svg", ICON))).toThrow(/is not a file name in _assets/);
    expect(() => collector().add({ type: "asset_chunk", data: { filename: "a.svg", data: "not base64!", end: true } })).toThrow(/not base64/);
  });

  it("reads the handshake key and refuses a second handshake", () => {
    const c = new RegistrationCollector();
    expect(c.handshakeKey({ type: "handshake", data: { key: "k-1" } })).toBe("k-1");
    expect(() => c.handshakeKey({ type: "handshake", data: {} })).toThrow("handshake failed, invalid handshake message");
    c.tenantId = TENANT;
    expect(() => c.handshakeKey({ type: "handshake", data: { key: "k-1" } })).toThrow("handshake already completed");
  });
});

describe("parseRegisterMessage", () => {
  it("needs a JSON object with a string type and a data", () => {
    expect(parseRegisterMessage(Buffer.from('{"type":"end","data":{}}'))).toEqual({ type: "end", data: {} });
    expect(parseRegisterMessage(Buffer.from('{"event":"heartbeat","session_id":null,"data":{}}'))).toBeUndefined();
    expect(parseRegisterMessage(Buffer.from('{"type":"end"}'))).toBeUndefined();
    expect(parseRegisterMessage(Buffer.from("hello"))).toBeUndefined();
  });
});
