import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { DebugService } from "../../../gen/dify/plugin/v1/debug_service_pb.js";
import { FailedPreconditionError } from "../errors.js";
import type { DebuggingKeyStore } from "../plugins/debug-keys.js";
import { requireTenant } from "./paging.js";

export interface DebugServiceOptions {
  readonly keys: DebuggingKeyStore;
  /** PLUGIN_REMOTE_INSTALLING_ENABLED: when false, asking for a key fails saying so. */
  readonly enabled: boolean;
  /** The host plugins should connect to ("" when only the bind address is known, e.g. 0.0.0.0). */
  readonly host: string;
  /** The debugging TCP port (PLUGIN_REMOTE_INSTALLING_PORT). */
  readonly port: number;
}

/**
 * createDebugService implements DebugService: the tenant's debugging key (created when absent, its 2 h lifetime
 * renewed on every request), with where to connect. The Dify dialect's `POST /plugin/{tenant}/debugging/key`
 * answers `{key}` from the same call.
 */
export function createDebugService(options: DebugServiceOptions): Partial<ServiceImpl<typeof DebugService>> {
  return {
    async getDebuggingKey(req) {
      const tenantId = requireTenant(req.tenantId);
      if (!options.enabled) {
        throw new FailedPreconditionError("remote debugging is disabled on this daemon (PLUGIN_REMOTE_INSTALLING_ENABLED=false)");
      }
      const issued = await options.keys.issue(tenantId);
      return { key: issued.key, host: options.host, port: options.port, expiresAt: timestampFromDate(issued.expiresAt) };
    },
  };
}

/** advertisedHost is the host to tell plugins: the bind host unless it is a wildcard address. */
export function advertisedHost(bindHost: string): string {
  return ["0.0.0.0", "::", "[::]", ""].includes(bindHost) ? "" : bindHost;
}
