/**
 * What a debug plugin sends before it is served (spec plugin-protocol §3.3): `{"type", "data"}` lines with the
 * handshake, the manifest, the provider declarations, its `_assets` files in base64 chunks, then `end`. This module
 * collects them and turns them into a declaration checked by the same loader as uploaded packages: the messages are
 * laid out as a virtual package (manifest.yaml naming one provider file per declaration, `_assets/*`) and read with
 * loadDeclaration, so a debug plugin obeys the upload rules (identity patterns, runner, storage size, category
 * rules, icons present in `_assets`), then its icons are remapped to stored asset ids like a package's.
 */
import { createHash } from "node:crypto";
import type { PackageFiles } from "../../packaging/archive.js";
import { remapAssets, type StoredAsset } from "../../packaging/assets.js";
import { PackageError } from "../../packaging/errors.js";
import { loadDeclaration, type PluginDeclarationJson } from "../../packaging/manifest/index.js";
import { RegistrationError } from "./errors.js";

/** One registration message. */
export interface RegisterMessage {
  readonly type: string;
  readonly data: unknown;
}

/** The declaration messages and the manifest list and declaration key each feeds. */
const DECLARATIONS = {
  tool_declaration: { list: "tools", key: "tool", label: "tools" },
  model_declaration: { list: "models", key: "model", label: "models" },
  endpoint_declaration: { list: "endpoints", key: "endpoint", label: "endpoints" },
  agent_strategy_declaration: { list: "agent_strategies", key: "agent_strategy", label: "agent strategy" },
  datasource_declaration: { list: "datasources", key: "datasource", label: "datasources" },
  trigger_declaration: { list: "triggers", key: "trigger", label: "triggers" },
} as const;

type DeclarationType = keyof typeof DECLARATIONS;

/** The largest total of asset bytes a debug plugin may send (the Go daemon's 50 MB). */
export const MAX_DEBUG_ASSET_BYTES = 50 * 1024 * 1024;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * parseRegisterMessage reads one line of the registration phase: a JSON object with a string `type` and a `data`;
 * anything else is undefined ("handshake failed, invalid handshake message").
 */
export function parseRegisterMessage(line: Buffer): RegisterMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line.toString("utf8"));
  } catch {
    return undefined;
  }
  if (!isObject(value) || typeof value["type"] !== "string" || value["data"] === undefined || value["data"] === null) return undefined;
  return { type: value["type"], data: value["data"] };
}

/** A registration that reached `end` and passed the checks: what gets installed into the tenant. */
export interface DebugRegistration {
  readonly tenantId: string;
  /** The declaration as stored: icons name asset ids. */
  readonly declaration: PluginDeclarationJson;
  readonly assets: readonly StoredAsset[];
  /** `author/name` */
  readonly pluginId: string;
  readonly version: string;
  /** sha256(JSON(declaration) ‖ tenant id): the same plugin debugged by two tenants is two packages. */
  readonly checksum: string;
  /** `author/name:version@checksum` */
  readonly uniqueIdentifier: string;
}

/** debugChecksum is the Go daemon's checksum of a remote plugin: sha256 of the declaration's JSON then the tenant id. */
export function debugChecksum(declaration: unknown, tenantId: string): string {
  return createHash("sha256").update(JSON.stringify(declaration), "utf8").update(tenantId, "utf8").digest("hex");
}

/** A naive ISO timestamp (Python's datetime without a zone) is read as UTC, as yaml.v3 reads one. */
function normaliseCreatedAt(manifest: Record<string, unknown>): void {
  const created = manifest["created_at"];
  if (typeof created === "string" && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$/.test(created)) manifest["created_at"] = `${created}Z`;
}

/**
 * RegistrationCollector accumulates one connection's registration messages. Each method throws RegistrationError
 * with the text the plugin is told (the Go daemon's wording where it has one).
 */
export class RegistrationCollector {
  tenantId: string | undefined;
  #manifest: Record<string, unknown> | undefined;
  readonly #received = new Set<DeclarationType>();
  readonly #providers = new Map<DeclarationType, Record<string, unknown>>();
  readonly #assets = new Map<string, Buffer[]>();
  #assetBytes = 0;
  readonly #maxAssetBytes: number;

  constructor(options: { readonly maxAssetBytes?: number } = {}) {
    this.#maxAssetBytes = options.maxAssetBytes ?? MAX_DEBUG_ASSET_BYTES;
  }

  get handshakeDone(): boolean {
    return this.tenantId !== undefined;
  }

  /** handshakeKey reads the key of a handshake message (the caller looks it up). */
  handshakeKey(message: RegisterMessage): string {
    if (this.tenantId !== undefined) throw new RegistrationError("handshake already completed");
    const key = isObject(message.data) ? message.data["key"] : undefined;
    if (typeof key !== "string" || key === "") throw new RegistrationError("handshake failed, invalid handshake message");
    return key;
  }

  /** add takes a manifest, declaration or asset message; unknown types are ignored, as the Go daemon does. */
  add(message: RegisterMessage): void {
    if (message.type === "manifest_declaration") {
      if (this.#manifest !== undefined) throw new RegistrationError("declaration already registered");
      if (!isObject(message.data)) throw new RegistrationError("handshake failed, invalid plugin declaration: expected an object");
      this.#manifest = message.data;
      return;
    }
    if (message.type === "asset_chunk") return this.#addAsset(message.data);
    if (message.type in DECLARATIONS) {
      const type = message.type as DeclarationType;
      const { label } = DECLARATIONS[type];
      if (this.#received.has(type)) throw new RegistrationError(`${label} declaration already registered`);
      if (!Array.isArray(message.data) || message.data.some((item) => !isObject(item))) {
        throw new RegistrationError(`${label} register failed, invalid ${label} declaration: expected a list of objects`);
      }
      this.#received.add(type);
      const first = message.data[0] as Record<string, unknown> | undefined;
      if (first) this.#providers.set(type, first);
    }
  }

  #addAsset(data: unknown): void {
    const filename = isObject(data) ? data["filename"] : undefined;
    const content = isObject(data) ? data["data"] : undefined;
    if (typeof filename !== "string" || typeof content !== "string") {
      throw new RegistrationError("transfer assets failed, error: an asset chunk needs a filename and base64 data");
    }
    if (filename === "" || filename.length > 255 || filename.includes("/") || filename.includes("\\") || filename === "." || filename === "..") {
      throw new RegistrationError(`transfer assets failed, error: ${JSON.stringify(filename.slice(0, 300))} is not a file name in _assets/`);
    }
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(content) || content.length % 4 !== 0) {
      throw new RegistrationError(`assets decode failed, error: the data of ${JSON.stringify(filename)} is not base64`);
    }
    const bytes = Buffer.from(content, "base64");
    if (this.#assetBytes + bytes.length > this.#maxAssetBytes) {
      throw new RegistrationError(`assets too large, at most ${Math.floor(this.#maxAssetBytes / (1024 * 1024))}MB`);
    }
    this.#assetBytes += bytes.length;
    const parts = this.#assets.get(filename) ?? [];
    parts.push(bytes);
    this.#assets.set(filename, parts);
  }

  /**
   * finish checks and builds the registration at `end`: at least one declaration message, a manifest that passes
   * the upload rules with the providers sent, icons among the assets.
   */
  finish(): DebugRegistration {
    const tenantId = this.tenantId;
    if (tenantId === undefined) throw new RegistrationError("handshake failed, no handshake before end");
    if (this.#received.size === 0) throw new RegistrationError("no registration transferred, cannot initialize");
    if (this.#manifest === undefined) throw new RegistrationError("register failed, invalid manifest detected: no manifest_declaration was sent");

    const files = new Map<string, Buffer>();
    const manifest = structuredClone(this.#manifest);
    normaliseCreatedAt(manifest);
    const originalPlugins = isObject(manifest["plugins"]) ? manifest["plugins"] : {};
    const lists: Record<string, string[]> = {};
    for (const [type, provider] of this.#providers) {
      const { list, key } = DECLARATIONS[type];
      const file = `_debug/${key}.yaml`;
      lists[list] = [file];
      // JSON is YAML: the loader reads the provider as if it were a file of the package.
      files.set(file, Buffer.from(JSON.stringify(provider)));
    }
    manifest["plugins"] = lists;
    files.set("manifest.yaml", Buffer.from(JSON.stringify(manifest)));
    for (const [name, parts] of this.#assets) files.set(`_assets/${name}`, Buffer.concat(parts));
    const packageFiles: PackageFiles = { paths: [...files.keys()], read: (path) => files.get(path) };

    let declaration: PluginDeclarationJson;
    let assets: StoredAsset[];
    try {
      ({ declaration, assets } = remapAssets(loadDeclaration(packageFiles), packageFiles));
    } catch (err) {
      if (err instanceof PackageError) throw new RegistrationError(`register failed, invalid manifest detected: ${err.message}`);
      throw err;
    }
    // The provider lists as the plugin's manifest wrote them (the loader saw the virtual files).
    declaration.plugins = {
      ...declaration.plugins,
      ...Object.fromEntries(
        (["tools", "models", "endpoints", "agent_strategies", "datasources", "triggers"] as const).map((list) => {
          const value = originalPlugins[list];
          return [list, Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : null];
        }),
      ),
    };
    const checksum = debugChecksum(declaration, tenantId);
    const pluginId = `${declaration.author}/${declaration.name}`;
    return {
      tenantId,
      declaration,
      assets,
      pluginId,
      version: declaration.version,
      checksum,
      uniqueIdentifier: `${pluginId}:${declaration.version}@${checksum}`,
    };
  }
}
