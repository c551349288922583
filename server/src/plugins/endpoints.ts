/**
 * Endpoints: the webhooks a tenant sets up on an installed plugin (spec dify-http-api §2.3, §8). This module is the
 * behaviour; services/endpoint-service.ts maps it onto the Connect contract and the Dify dialect onto its routes,
 * and transport/endpoint-hook.ts serves `/e/{hook_id}/...` with it.
 *
 * Settings live encrypted (Dify's inner API encrypts them; see endpoint-encryption.ts), are decrypted for the plugin
 * on every hook call and for lists, and are shown masked.
 */
import { randomInt, randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { InvokeContextSchema } from "../../../gen/dify/plugin/v1/common_pb.js";
import type { Db } from "../db/database.js";
import {
  deleteEndpoint,
  findEndpoint,
  findEndpointByHook,
  insertEndpoint,
  listEndpoints,
  setEndpointEnabled,
  updateEndpoint,
  type EndpointRecord,
} from "../db/repositories/endpoints.js";
import type { InstallationRecord } from "../db/repositories/installations.js";
import type { JsonObject } from "../db/tables.js";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../errors.js";
import type { Logger } from "../logger.js";
import { parseUniqueIdentifier, pluginIdOf } from "../packaging/identifier.js";
import { PluginInvokeError } from "../runtimes/runtime.js";
import type { Dispatch } from "../services/invoke/dispatch.js";
import { requireTenant } from "../services/paging.js";
import type { EndpointEncryption } from "./endpoint-encryption.js";
import {
  allowsEndpoints,
  endpointGroupOf,
  keepMaskedSecrets,
  maskSettings,
  validateEndpointSettings,
  type EndpointGroup,
} from "./endpoint-settings.js";
import type { InstallationCache } from "./installation-cache.js";

/** PluginNotInstalledError: the tenant has not installed the plugin (Dify: -404 PluginNotFoundError). */
export class PluginNotInstalledError extends NotFoundError {}

/** EndpointPermissionError: the manifest does not enable endpoints (Dify: -403 PluginPermissionDeniedError). */
export class EndpointPermissionError extends FailedPreconditionError {}

/**
 * EndpointRecordNotFoundError: removing an endpoint that does not exist. Its message contains "record not found",
 * which Dify looks for to treat a repeated delete as done (Dify: -500 PluginDaemonInternalServerError).
 */
export class EndpointRecordNotFoundError extends NotFoundError {}

/** An endpoint as lists show it: settings decrypted then masked, with the plugin's endpoint declaration. */
export interface EndpointView {
  readonly id: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly pluginId: string;
  readonly name: string;
  readonly hookId: string;
  readonly enabled: boolean;
  /** `{}` when the plugin is no longer installed. */
  readonly settings: JsonObject;
  /** Empty lists when the plugin is no longer installed. */
  readonly declaration: EndpointGroup;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly expiredAt: Date;
}

/** One piece of an endpoint's HTTP answer, decoded from a plugin chunk. */
export interface EndpointResponsePart {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer;
}

/** What a hook id leads to; anything but "ok" is a 404 for the caller (spec §8 step 2). */
export type HookResolution =
  | { readonly kind: "unknown" }
  | { readonly kind: "no-installation"; readonly endpoint: EndpointRecord }
  | { readonly kind: "disabled"; readonly endpoint: EndpointRecord }
  | { readonly kind: "no-endpoint-declaration"; readonly endpoint: EndpointRecord }
  | { readonly kind: "ok"; readonly endpoint: EndpointRecord; readonly installation: InstallationRecord; readonly group: EndpointGroup };

export interface EndpointsDeps {
  readonly db: Db;
  readonly installations: InstallationCache;
  readonly encryption: EndpointEncryption;
  /** Runs invoke_endpoint on the tenant's installed plugin (services/invoke/dispatch.ts). */
  readonly dispatch: Dispatch;
  readonly logger: Logger;
}

export interface SetupInput {
  readonly tenantId: string;
  readonly userId: string;
  readonly pluginUniqueIdentifier: string;
  readonly name: string;
  readonly settings: Readonly<Record<string, unknown>>;
}

export interface UpdateInput {
  readonly tenantId: string;
  readonly endpointId: string;
  readonly userId: string;
  readonly name: string;
  readonly settings: Readonly<Record<string, unknown>>;
}

const HOOK_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
export const HOOK_ID_LENGTH = 16;
/** Endpoint lists are paged by at most 100 (Dify's validation of these routes). */
export const MAX_ENDPOINT_PAGE_SIZE = 100;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** newHookId is 16 random lowercase letters and digits, as the Go daemon's, from a cryptographic source. */
export function newHookId(): string {
  let id = "";
  for (let i = 0; i < HOOK_ID_LENGTH; i++) id += HOOK_ALPHABET[randomInt(HOOK_ALPHABET.length)];
  return id;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function isUniqueViolation(err: unknown): boolean {
  return isObject(err) && err["code"] === "23505";
}

function requireName(name: string): string {
  if (name === "") throw new InvalidArgumentError("name is required: give the endpoint a display name");
  if ([...name].length > 127) throw new InvalidArgumentError(`name is ${[...name].length} characters: at most 127`);
  return name;
}

function requireUser(userId: string): string {
  if (userId === "") throw new InvalidArgumentError("user_id is required");
  if (userId.length > 64) throw new InvalidArgumentError(`user_id is ${userId.length} characters: at most 64`);
  return userId;
}

/** endpointPage turns Dify's page (from 1) and page_size (1..100; 0 means 20) into an offset and limit. */
export function endpointPage(page: number, pageSize: number): { offset: number; limit: number } {
  const size = pageSize === 0 ? 20 : pageSize;
  if (!Number.isInteger(size) || size < 1 || size > MAX_ENDPOINT_PAGE_SIZE) {
    throw new InvalidArgumentError(`page_size ${pageSize} is out of range: use 1 to ${MAX_ENDPOINT_PAGE_SIZE}`);
  }
  const number = page === 0 ? 1 : page;
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError(`page ${page} is out of range: pages start at 1`);
  return { offset: (number - 1) * size, limit: size };
}

/** parseEndpointChunk reads one invoke_endpoint chunk `{status?, headers?, result?: hex}`; a bad one fails the call. */
export function parseEndpointChunk(chunk: unknown): EndpointResponsePart {
  const bad = (what: string): never => {
    throw new PluginInvokeError("unmarshal_error", `the plugin's endpoint response chunk is invalid: ${what}`);
  };
  if (!isObject(chunk)) return bad("it is not an object");
  const out: { status?: number; headers?: Record<string, string>; body?: Buffer } = {};
  const status = chunk["status"];
  if (status !== undefined && status !== null) {
    if (typeof status !== "number" || !Number.isInteger(status) || status < 200 || status > 599) return bad(`status ${JSON.stringify(status)} is not a final HTTP status (200-599)`);
    out.status = status;
  }
  const headers = chunk["headers"];
  if (headers !== undefined && headers !== null) {
    if (!isObject(headers)) return bad("headers is not an object");
    const map: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (typeof value !== "string") return bad(`header ${JSON.stringify(name)} is not a string`);
      map[name] = value;
    }
    out.headers = map;
  }
  const result = chunk["result"];
  if (result !== undefined && result !== null) {
    if (typeof result !== "string" || result.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(result)) return bad("result is not hex-encoded bytes");
    out.body = Buffer.from(result, "hex");
  }
  return out;
}

/** createEndpoints builds the endpoint behaviour over the database, the installations and Dify's encryption. */
export function createEndpoints(deps: EndpointsDeps) {
  const { db, installations, encryption } = deps;
  const logger = deps.logger.child({ component: "endpoints" });

  async function groupFor(tenantId: string, pluginId: string): Promise<{ installation: InstallationRecord; group: EndpointGroup } | undefined> {
    const installation = await installations.find(tenantId, pluginId);
    if (!installation) return undefined;
    const group = endpointGroupOf(installation.declaration);
    return group && { installation, group };
  }

  async function view(record: EndpointRecord): Promise<EndpointView> {
    const found = await groupFor(record.tenantId, record.pluginId);
    const base = {
      id: record.id,
      tenantId: record.tenantId,
      userId: record.userId,
      pluginId: record.pluginId,
      name: record.name,
      hookId: record.hookId,
      enabled: record.enabled,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
      expiredAt: record.expiredAt,
    };
    if (!found) return { ...base, settings: {}, declaration: { settings: [], endpoints: [] } };
    const decrypted = await encryption.decrypt({
      tenantId: record.tenantId,
      userId: "",
      endpointId: record.id,
      settings: record.settings,
      config: found.group.settings,
    });
    return { ...base, settings: maskSettings(decrypted, found.group.settings), declaration: found.group };
  }

  return {
    /** setup creates an enabled endpoint on an installed plugin that enables and declares endpoints. */
    async setup(input: SetupInput): Promise<{ endpointId: string; hookId: string }> {
      const tenantId = requireTenant(input.tenantId);
      const userId = requireUser(input.userId);
      const name = requireName(input.name);
      let pluginId: string;
      try {
        pluginId = pluginIdOf(parseUniqueIdentifier(input.pluginUniqueIdentifier));
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
      const installation = await installations.find(tenantId, pluginId);
      if (!installation || installation.pluginUniqueIdentifier !== input.pluginUniqueIdentifier) {
        throw new PluginNotInstalledError(`plugin ${input.pluginUniqueIdentifier} is not installed in tenant ${tenantId}`);
      }
      if (!allowsEndpoints(installation.declaration)) {
        throw new EndpointPermissionError("permission denied, you need to enable endpoint access in plugin manifest");
      }
      const group = endpointGroupOf(installation.declaration);
      if (!group) throw new InvalidArgumentError("plugin does not have an endpoint");
      validateEndpointSettings(input.settings, group.settings);
      // The id is known before the row exists, so Dify encrypts under the final identity and no row ever holds
      // plain settings (the Go daemon inserts first and encrypts after).
      const endpointId = randomUUID();
      const settings = await encryption.encrypt({ tenantId, userId, endpointId, settings: input.settings, config: group.settings });
      for (let attempt = 1; ; attempt++) {
        const hookId = newHookId();
        try {
          await insertEndpoint(db, { id: endpointId, hookId, tenantId, userId, pluginId, name, settings });
          logger.info({ tenantId, pluginId, endpointId, hookId }, "endpoint set up");
          return { endpointId, hookId };
        } catch (err) {
          if (!isUniqueViolation(err) || attempt >= 5) throw err;
        }
      }
    },

    /** list pages through a tenant's endpoints, oldest first. */
    async list(tenantId: string, page: number, pageSize: number): Promise<EndpointView[]> {
      const records = await listEndpoints(db, requireTenant(tenantId), {}, endpointPage(page, pageSize));
      return Promise.all(records.map(view));
    },

    /** listByPlugin pages through a tenant's endpoints of one plugin (`author/name`). */
    async listByPlugin(tenantId: string, pluginId: string, page: number, pageSize: number): Promise<EndpointView[]> {
      if (pluginId === "") throw new InvalidArgumentError("plugin_id is required");
      const records = await listEndpoints(db, requireTenant(tenantId), { pluginId }, endpointPage(page, pageSize));
      return Promise.all(records.map(view));
    },

    /** update renames an endpoint and replaces its settings; a secret sent back in its masked form keeps its value. */
    async update(input: UpdateInput): Promise<void> {
      const tenantId = requireTenant(input.tenantId);
      const userId = requireUser(input.userId);
      const name = requireName(input.name);
      const record = UUID.test(input.endpointId) ? await findEndpoint(db, tenantId, input.endpointId) : undefined;
      if (!record) throw new NotFoundError(`failed to find endpoint: record not found (endpoint ${input.endpointId} in tenant ${tenantId})`);
      const found = await groupFor(tenantId, record.pluginId);
      if (!found) {
        const installation = await installations.find(tenantId, record.pluginId);
        if (!installation) throw new PluginNotInstalledError(`plugin ${record.pluginId} is not installed in tenant ${tenantId}`);
        throw new InvalidArgumentError("plugin does not have an endpoint");
      }
      const request = { tenantId, userId, endpointId: record.id, config: found.group.settings };
      const original = await encryption.decrypt({ ...request, settings: record.settings });
      const settings = keepMaskedSecrets(input.settings, original, found.group.settings);
      validateEndpointSettings(settings, found.group.settings);
      const encrypted = await encryption.encrypt({ ...request, settings });
      if (!(await updateEndpoint(db, tenantId, record.id, { name, settings: encrypted }))) {
        throw new NotFoundError(`failed to find endpoint: record not found (endpoint ${input.endpointId} in tenant ${tenantId})`);
      }
      // Dify caches decrypted credentials per endpoint; the new ones must be read.
      await encryption.clear({ ...request, settings });
    },

    /** remove deletes an endpoint; an unknown one fails with "record not found". */
    async remove(tenantId: string, endpointId: string): Promise<void> {
      const tenant = requireTenant(tenantId);
      const removed = UUID.test(endpointId) ? await deleteEndpoint(db, tenant, endpointId) : undefined;
      if (!removed) throw new EndpointRecordNotFoundError(`failed to remove endpoint: record not found (endpoint ${endpointId} in tenant ${tenant})`);
      logger.info({ tenantId: tenant, endpointId, hookId: removed.hookId }, "endpoint removed");
    },

    async enable(tenantId: string, endpointId: string): Promise<void> {
      const tenant = requireTenant(tenantId);
      if (!(UUID.test(endpointId) && (await setEndpointEnabled(db, tenant, endpointId, true)))) throw new NotFoundError("endpoint not found");
    },

    async disable(tenantId: string, endpointId: string): Promise<void> {
      const tenant = requireTenant(tenantId);
      if (!(UUID.test(endpointId) && (await setEndpointEnabled(db, tenant, endpointId, false)))) throw new NotFoundError("endpoint not found");
    },

    /** resolveHook finds what `/e/{hookId}` serves, in the Go daemon's order of checks. */
    async resolveHook(hookId: string): Promise<HookResolution> {
      if (hookId === "" || hookId.length > 64) return { kind: "unknown" };
      const endpoint = await findEndpointByHook(db, hookId);
      if (!endpoint) return { kind: "unknown" };
      const installation = await installations.find(endpoint.tenantId, endpoint.pluginId);
      if (!installation) return { kind: "no-installation", endpoint };
      if (!endpoint.enabled) return { kind: "disabled", endpoint };
      const group = endpointGroupOf(installation.declaration);
      if (!group) return { kind: "no-endpoint-declaration", endpoint };
      return { kind: "ok", endpoint, installation, group };
    },

    /** findForTenant returns a tenant's endpoint by id, or throws NotFoundError. */
    async findForTenant(tenantId: string, endpointId: string): Promise<EndpointRecord> {
      const tenant = requireTenant(tenantId);
      const record = UUID.test(endpointId) ? await findEndpoint(db, tenant, endpointId) : undefined;
      if (!record) throw new NotFoundError(`endpoint ${endpointId} not found in tenant ${tenant}`);
      return record;
    },

    /**
     * invoke runs invoke_endpoint for one raw HTTP request with the endpoint's decrypted settings and yields the
     * answer's pieces as the plugin sends them (status and headers first, then body bytes).
     */
    async *invoke(
      target: { readonly endpoint: EndpointRecord; readonly installation: InstallationRecord; readonly group: EndpointGroup },
      rawRequest: Buffer,
      signal: AbortSignal,
    ): AsyncIterable<EndpointResponsePart> {
      const { endpoint, installation, group } = target;
      const settings = await encryption.decrypt({
        tenantId: endpoint.tenantId,
        userId: "",
        endpointId: endpoint.id,
        settings: endpoint.settings,
        config: group.settings,
      });
      const chunks = deps.dispatch(
        {
          tenantId: endpoint.tenantId,
          pluginId: endpoint.pluginId,
          userId: "",
          pluginUniqueIdentifier: installation.pluginUniqueIdentifier,
          context: create(InvokeContextSchema, { endpointId: endpoint.id }),
        },
        { type: "endpoint", action: "invoke_endpoint", data: { raw_http_request: rawRequest.toString("hex"), settings } },
        signal,
      );
      for await (const chunk of chunks) yield parseEndpointChunk(chunk);
    },
  };
}

export type Endpoints = ReturnType<typeof createEndpoints>;
