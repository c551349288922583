import { createHash, timingSafeEqual } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { DebugService } from "../../../../gen/dify/plugin/v1/debug_service_pb.js";
import { PluginService } from "../../../../gen/dify/plugin/v1/plugin_service_pb.js";
import type { Logger } from "../../logger.js";
import type { Services } from "../../services/registrations.js";
import { dispatchRoutes } from "./dispatch-routes.js";
import { BindError, requireIdentifier, requireString } from "./binding.js";
import { difyError, errorEnvelope, ErrorType, UNAUTHORIZED, UNKNOWN_ROUTE_BODY } from "./envelope.js";
import { difyErrorOf, failureOf } from "./error-table.js";
import { header, headersOf, writeBytes, writeJson, type NodeRequest, type NodeResponse } from "./http-io.js";
import { endpointRoutes } from "./endpoint-routes.js";
import { managementRoutes } from "./management-routes.js";
import { envelopeRoute, tenantOf, type DifyRoute, type RouteContext } from "./route.js";
import { callUnary } from "./rpc.js";
import { goJson } from "./wire-json.js";

/** What the Dify dialect needs: the shared service implementations, the server key, and the limits. */
export interface DifyDialectDeps {
  readonly services: Services;
  readonly serverKey: string;
  readonly logger: Logger;
  /** MAX_PLUGIN_PACKAGE_SIZE: the largest `dify_pkg` upload. */
  readonly maxPackageBytes: number;
  /** The largest JSON request body (dispatch bodies carry audio and files as hex). */
  readonly maxBodyBytes: number;
  /** Reported by /health/check. */
  readonly version: string;
  readonly platform?: string;
  /** Serves the public endpoint hooks, `/e/{hook_id}/...` (no key), when given. */
  readonly endpointHooks?: (req: NodeRequest, res: NodeResponse) => void | Promise<void>;
}

export type DifyDialect = (req: NodeRequest, res: NodeResponse) => Promise<void>;

/**
 * createDifyDialect serves Dify's HTTP API (spec/dify-http-api.md) on the shared port: `/health/check` and
 * `/plugin/{tenant_id}/...` (management, endpoints, assets, debugging key, dispatch), each route a thin adapter over the same
 * service implementations the Connect API uses. Anything else is the Go daemon's unknown-route 404.
 */
export function createDifyDialect(deps: DifyDialectDeps): DifyDialect {
  const logger = deps.logger.child({ component: "dify" });
  const expectedKey = digest(deps.serverKey);
  const routes = compile([...managementRoutes(), ...endpointRoutes(), assetRoute(), extractAssetRoute(), debuggingKeyRoute(), ...dispatchRoutes()]);
  let active = 0;
  let activeDispatch = 0;

  return async (req, res) => {
    const url = new URL(req.url ?? "/", "http://dify.invalid");
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      path = url.pathname;
    }
    if (deps.endpointHooks && path.startsWith("/e/")) {
      await deps.endpointHooks(req, res);
      return;
    }
    if (req.method === "GET" && path === "/health/check") {
      writeJson(res, 200, goJson(health(deps, active, activeDispatch)));
      return;
    }
    const found = match(routes, req.method ?? "", path);
    if (!found) {
      writeJson(res, 404, UNKNOWN_ROUTE_BODY);
      return;
    }
    const { route, params } = found;
    if (route.auth && !keyMatches(header(req, "x-api-key"), expectedKey)) {
      writeJson(res, 401, errorEnvelope(UNAUTHORIZED));
      return;
    }
    const controller = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) controller.abort();
    });
    const routeName = `${route.method} ${route.path}`;
    const ctx: RouteContext = {
      services: deps.services,
      logger,
      req,
      res,
      params,
      query: url.searchParams,
      scope: { requestMethod: req.method ?? "", url: req.url ?? "", headers: headersOf(req), signal: controller.signal },
      maxBodyBytes: deps.maxBodyBytes,
      maxPackageBytes: deps.maxPackageBytes,
      routeName,
    };
    const dispatching = route.path.includes("/dispatch/");
    const started = performance.now();
    active++;
    if (dispatching) activeDispatch++;
    try {
      await route.handle(ctx);
    } catch (err) {
      // A route that failed before answering: the error table decides, with a 500.
      const failure = failureOf(err, logger, routeName);
      if (!res.headersSent) writeJson(res, 500, errorEnvelope(difyErrorOf(failure)));
      else res.end();
    } finally {
      active--;
      if (dispatching) activeDispatch--;
      logger.info({ route: routeName, tenant: params["tenant_id"], status: res.statusCode, durationMs: Math.round(performance.now() - started) }, "dify request");
    }
  };
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/** keyMatches compares X-Api-Key with SERVER_KEY in constant time (both hashed, so the length does not leak). */
function keyMatches(given: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(given), expected);
}

/** health is Go's /health/check body; the pool figures describe our dispatch load (we have no goroutine pool). */
function health(deps: DifyDialectDeps, active: number, activeDispatch: number) {
  return {
    status: "ok",
    pool_status: { free: 0, busy: activeDispatch, total: 0 },
    version: deps.version,
    build_time: "",
    platform: deps.platform ?? "local",
    active_requests: active,
    active_dispatch_requests: activeDispatch,
  };
}

/** GET /plugin/{tenant_id}/asset/{id}: raw bytes; a missing asset is 200 with an empty body, as in Go (§1.2, §4). */
function assetRoute(): DifyRoute {
  return {
    method: "GET",
    path: "/plugin/:tenant_id/asset/:id",
    auth: true,
    async handle(ctx) {
      try {
        const res = await callUnary(ctx.services.plugin, PluginService.method.getAsset, { tenantId: tenantOf(ctx), assetId: ctx.params["id"] ?? "" }, ctx.scope);
        writeBytes(ctx.res, 200, "application/octet-stream", res.data);
      } catch (err) {
        const failure = failureOf(err, ctx.logger, ctx.routeName);
        const code = failure.connect.code;
        if (code === Code.NotFound || code === Code.InvalidArgument) {
          ctx.res.writeHead(200, { "content-length": 0 });
          ctx.res.end();
          return;
        }
        writeJson(ctx.res, 500, errorEnvelope(difyErrorOf(failure)));
      }
    },
  };
}

/** GET /plugin/{tenant_id}/extract-asset/: one file from inside a stored package, raw; a failure is a 500 envelope. */
function extractAssetRoute(): DifyRoute {
  return {
    method: "GET",
    path: "/plugin/:tenant_id/extract-asset/",
    auth: true,
    async handle(ctx) {
      let identifier: string;
      let filePath: string;
      try {
        identifier = requireIdentifier(ctx.query.get("plugin_unique_identifier"), "PluginUniqueIdentifier");
        filePath = requireString(ctx.query.get("file_path"), "FilePath");
      } catch (err) {
        if (!(err instanceof BindError)) throw err;
        writeJson(ctx.res, 400, errorEnvelope(difyError(-400, ErrorType.badRequest, err.message)));
        return;
      }
      try {
        const res = await callUnary(
          ctx.services.plugin,
          PluginService.method.getPackageFile,
          { tenantId: tenantOf(ctx), pluginUniqueIdentifier: identifier, filePath },
          ctx.scope,
        );
        writeBytes(ctx.res, 200, "application/octet-stream", res.data);
      } catch (err) {
        const failure = failureOf(err, ctx.logger, ctx.routeName);
        writeJson(ctx.res, 500, errorEnvelope(difyError(-500, ErrorType.internal, failure.connect.rawMessage)));
      }
    },
  };
}

/** POST /plugin/{tenant_id}/debugging/key: the tenant's debugging key `{key}` (§2.4). */
function debuggingKeyRoute(): DifyRoute {
  return envelopeRoute("POST", "/plugin/:tenant_id/debugging/key", async (ctx) => {
    const res = await callUnary(ctx.services.debug, DebugService.method.getDebuggingKey, { tenantId: tenantOf(ctx) }, ctx.scope);
    return { key: res.key };
  });
}

interface Compiled {
  readonly route: DifyRoute;
  readonly segments: readonly string[];
}

function compile(routes: readonly DifyRoute[]): Compiled[] {
  return routes.map((route) => ({ route, segments: route.path.split("/").slice(1) }));
}

/** match finds the first route whose method and pattern fit: `:name` is one segment, `*name` the rest (with its `/`). */
function match(routes: readonly Compiled[], method: string, path: string): { route: DifyRoute; params: Record<string, string> } | undefined {
  const parts = path.split("/").slice(1);
  for (const { route, segments } of routes) {
    if (route.method !== method) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < segments.length && ok; i++) {
      const segment = segments[i]!;
      const part = parts[i];
      if (segment.startsWith("*")) {
        if (part === undefined) ok = false;
        else params[segment.slice(1)] = `/${parts.slice(i).join("/")}`;
        if (ok) return { route, params };
      } else if (segment.startsWith(":")) {
        if (part === undefined || part === "") ok = false;
        else params[segment.slice(1)] = part;
      } else if (segment !== part) ok = false;
    }
    if (ok && parts.length === segments.length) return { route, params };
  }
  return undefined;
}
