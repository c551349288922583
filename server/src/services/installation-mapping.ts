import { create, type JsonObject as ProtoJsonObject } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { RuntimeType } from "../../../gen/dify/plugin/v1/common_pb.js";
import { InstallationSchema, type Installation } from "../../../gen/dify/plugin/v1/install_pb.js";
import type { InstallationRecord } from "../db/repositories/installations.js";
import { declarationFromJson } from "./declaration-json.js";

/** The runtime type column's words as the contract's enum; `remote` is the debug runtime. */
export const RUNTIME_TYPES: Record<string, RuntimeType> = {
  local: RuntimeType.LOCAL,
  remote: RuntimeType.DEBUG,
  serverless: RuntimeType.SERVERLESS,
};

/** toInstallation maps an installation joined with its package to the proto message. */
export function toInstallation(record: InstallationRecord): Installation {
  const declaration = declarationFromJson(record.declaration);
  return create(InstallationSchema, {
    id: record.id,
    tenantId: record.tenantId,
    pluginId: record.pluginId,
    pluginUniqueIdentifier: record.pluginUniqueIdentifier,
    version: record.version,
    runtimeType: RUNTIME_TYPES[record.runtimeType] ?? RuntimeType.UNSPECIFIED,
    endpointsSetups: record.endpointsSetups,
    endpointsActive: record.endpointsActive,
    createdAt: timestampFromDate(record.createdAt),
    updatedAt: timestampFromDate(record.updatedAt),
    declaration,
    source: record.source,
    meta: record.meta as ProtoJsonObject,
    name: declaration.name,
    checksum: record.checksum,
  });
}
