import { InvalidArgumentError } from "../errors.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** MAX_PAGE_SIZE bounds every list RPC, so no request can ask for an unbounded result. */
export const MAX_PAGE_SIZE = 256;

/** pageWindow turns a 1-based page and a size (0 = default) into an offset and limit, or says what is wrong. */
export function pageWindow(page: number, pageSize: number, defaultSize = 20): { offset: number; limit: number } {
  const size = pageSize === 0 ? defaultSize : pageSize;
  if (size < 1 || size > MAX_PAGE_SIZE) {
    throw new InvalidArgumentError(`page_size ${pageSize} is out of range: use 1 to ${MAX_PAGE_SIZE} (0 means ${defaultSize})`);
  }
  const number = page === 0 ? 1 : page;
  if (number < 1) throw new InvalidArgumentError(`page ${page} is out of range: pages start at 1`);
  return { offset: (number - 1) * size, limit: size };
}

/** requireTenant checks the tenant id every tenant-scoped request carries. */
export function requireTenant(tenantId: string): string {
  if (tenantId === "") throw new InvalidArgumentError("tenant_id is required");
  if (tenantId.length > 64) throw new InvalidArgumentError(`tenant_id is ${tenantId.length} characters: at most 64`);
  return tenantId;
}

/** requireUuid checks an id field that names a row (task, installation), before it reaches SQL. */
export function requireUuid(field: string, value: string): string {
  if (!UUID.test(value)) throw new InvalidArgumentError(`${field} "${value}" is not a UUID`);
  return value;
}
