import { pathToFileURL } from "node:url";
import { ConfigError, loadConfig, type Config } from "./config.js";
import { openDatabase, type DatabaseHandle } from "./db/database.js";
import { migrateToLatest } from "./db/migrate.js";
import { createLogger, type Logger } from "./logger.js";
import { resolveServerKey } from "./server-key.js";
import { loadTrustedKeys } from "./packaging/trusted-keys.js";
import { loadSigningKey } from "./repackage/signing-key.js";
import { createDifyInnerApi } from "./invocation/backwards/dify-inner-api.js";
import { createDebugPluginServer, type DebugPluginServer } from "./plugins/debug-plugins.js";
import { createDatabaseDebuggingKeyStore } from "./plugins/debug-keys.js";
import { createRedisDebuggingKeyStore } from "./plugins/debug-keys-redis.js";
import { Redis } from "ioredis";
import { createEndpointEncryption } from "./plugins/endpoint-encryption.js";
import { createEndpoints } from "./plugins/endpoints.js";
import { createInstallationCache } from "./plugins/installation-cache.js";
import { createLifecycle } from "./plugins/lifecycle.js";
import { createLocalLauncher } from "./plugins/local-launcher.js";
import { createPackageRegistry } from "./plugins/package-registry.js";
import { createRuntimeRegistry } from "./plugins/runtime-registry.js";
import { createPackageSources } from "./plugins/sources.js";
import { advertisedHost } from "./services/debug-service.js";
import { createDispatch } from "./services/invoke/dispatch.js";
import { bindingsOf, createServices } from "./services/registrations.js";
import { createEndpointHookHandler } from "./transport/endpoint-hook.js";
import { createLocalStorage } from "./storage/local-storage.js";
import { createTransport } from "./transport/server.js";

/** Daemon is a started daemon: where it listens and how to stop it. */
export interface Daemon {
  readonly port: number;
  readonly database: DatabaseHandle;
  /** stop drains in-flight requests (up to the configured grace), then closes the database. */
  stop(): Promise<void>;
}

/** Reported by the Dify dialect's /health/check. */
const DAEMON_VERSION = "0.1.0";

// One message holds a whole uploaded package or bundle (MAX_BUNDLE_PACKAGE_SIZE, 600 MiB, fits); the decoder
// enforces the configured limits themselves.
const MAX_MESSAGE_BYTES = 640 * 1024 * 1024;

/**
 * startDaemon is the composition root: config -> logger -> db -> services -> listen. Every failure
 * before listening stops the start with an error that names what to fix.
 */
export async function startDaemon(config: Config, logger: Logger): Promise<Daemon> {
  const serverKey = await resolveServerKey(config.server.key, config.dataDir, logger);
  const trustedKeys = loadTrustedKeys(config.packages.thirdPartyPublicKeyFiles);
  const repackageSigningKey = config.repackage.signingKeyFile ? loadSigningKey(config.repackage.signingKeyFile) : null;
  const storage = createLocalStorage(config.storage.root);
  const database = await openDatabase(config.database);
  // Declared before `try` so a failed start closes the debug listener too.
  let debugServer: DebugPluginServer | null = null;
  let redis: Redis | null = null;
  try {
    logger.info({ database: database.description, storage: storage.description, trustedKeys: trustedKeys.map((k) => k.name) }, "database connected");
    await migrateToLatest(database.db, logger.child({ component: "migrate" }));

    const launcher = createLocalLauncher({ storage, runtime: config.runtime, maxPackageBytes: config.packages.maxPackageBytes, logger });
    const runtimes = createRuntimeRegistry(launcher.launch, logger);
    const installations = createInstallationCache(database.db);
    const lifecycle = createLifecycle({ db: database.db, runtimes, installations, removeFiles: launcher.removeFiles, logger });
    const dify = config.difyInnerApi ? createDifyInnerApi({ baseUrl: config.difyInnerApi.url, apiKey: config.difyInnerApi.key }) : null;

    const endpoints = createEndpoints({
      db: database.db,
      installations,
      logger,
      dispatch: createDispatch({ db: database.db, dify, logger, runtimes, installations }),
      encryption: createEndpointEncryption(config.difyInnerApi ? { baseUrl: config.difyInnerApi.url, apiKey: config.difyInnerApi.key } : null),
    });
    if (config.redis) {
      const r = config.redis;
      redis = new Redis({ host: r.host, port: r.port, username: r.username ?? undefined, password: r.password ?? undefined, db: r.db, tls: r.tls ? {} : undefined, maxRetriesPerRequest: 2 });
      await redis.ping().catch((err: Error) => {
        throw new Error(`cannot reach Redis at ${r.host}:${r.port} (REDIS_HOST/REDIS_PORT): ${err.message}`, { cause: err });
      });
    }
    const debugKeys = redis
      ? createRedisDebuggingKeyStore(redis, { prefix: config.redis!.keyPrefix })
      : createDatabaseDebuggingKeyStore(database.db);
    debugServer = config.debugging.enabled
      ? createDebugPluginServer({
          db: database.db,
          storage,
          runtimes,
          installations,
          keys: debugKeys,
          logger,
          host: config.debugging.host,
          port: config.debugging.port,
          maxConnections: config.debugging.maxConnections,
          maxExecutionMs: config.runtime.maxExecutionMs,
        })
      : null;
    // Started before recovery: it removes debug installations an earlier process left behind.
    const debugPort = debugServer ? await debugServer.start() : config.debugging.port;

    const services = createServices({
      db: database.db,
      logger,
      packages: createPackageRegistry({ db: database.db, storage, policy: config.packages, trustedKeys, logger }),
      lifecycle,
      runtimes,
      installations,
      dify,
      sources: createPackageSources({ ...config.sources, maxPackageBytes: config.packages.maxPackageBytes }),
      storage,
      maxPackageBytes: config.packages.maxPackageBytes,
      maxBundleBytes: config.packages.maxBundleBytes,
      endpoints,
      debugging: { keys: debugKeys, enabled: config.debugging.enabled, host: advertisedHost(config.debugging.host), port: debugPort },
      repackage: {
        settings: {
          ...config.sources,
          indexUrl: config.runtime.pipMirrorUrl,
          pipExtraArgs: config.runtime.pipExtraArgs,
          maxPackageBytes: config.packages.maxPackageBytes,
          pythonInterpreter: config.runtime.pythonInterpreter ?? "python3",
          cacheDir: config.repackage.cacheDir,
        },
        trustedKeys,
        signingKey: repackageSigningKey,
        maxConcurrent: config.repackage.maxConcurrent,
      },
    });

    const transport = createTransport({
      logger,
      serverKey,
      readiness: () => database.ping(2_000).then(() => true),
      services: bindingsOf(services),
      maxMessageBytes: MAX_MESSAGE_BYTES,
      dify: {
        services,
        maxPackageBytes: config.packages.maxPackageBytes,
        version: DAEMON_VERSION,
        endpointHooks: config.endpoints.enabled
          ? createEndpointHookHandler({
              endpoints,
              runtimes,
              logger,
              maxRequestBytes: config.endpoints.maxRequestBytes,
              maxResponseBytes: config.endpoints.maxResponseBytes,
              maxExecutionMs: config.runtime.maxExecutionMs,
            })
          : undefined,
      },
    });
    const port = await transport.listen(config.server.port, config.server.host).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE") {
        throw new Error(
          `port ${config.server.port} on ${config.server.host} is already in use: stop the other process or set SERVER_PORT`,
          { cause: err },
        );
      }
      throw err;
    });
    logger.info({ host: config.server.host, port }, "listening (Connect, gRPC, gRPC-Web on HTTP/1.1 and h2c)");
    // Installed plugins come back, and tasks a previous process left unfinished are resolved.
    await lifecycle.recover();

    let stopping: Promise<void> | undefined;
    return {
      port,
      database,
      stop: () =>
        (stopping ??= (async () => {
          await transport.close(config.server.shutdownGraceMs);
          await debugServer?.close();
          redis?.disconnect();
          await runtimes.stopAll();
          // An install that was launching a runtime may have finished meanwhile: stop what it started too.
          await lifecycle.drain();
          await runtimes.stopAll();
          await database.destroy();
          logger.info("stopped");
        })()),
    };
  } catch (err) {
    await debugServer?.close().catch(() => undefined);
    redis?.disconnect();
    await database.destroy().catch(() => undefined);
    throw err;
  }
}

/** runFromEnvironment is `npm start`: read the environment, start, and stop cleanly on SIGTERM/SIGINT. */
export async function runFromEnvironment(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`dify-plugin-daemon: cannot start: ${err.message}\n`);
    process.exit(2);
  }
  const logger = createLogger(config);
  let daemon: Daemon;
  try {
    daemon = await startDaemon(config, logger);
  } catch (err) {
    logger.fatal({ err }, "cannot start");
    process.stderr.write(`dify-plugin-daemon: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
    logger.flush();
    process.exit(1);
  }
  const shutdown = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, "shutting down");
    daemon.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}

export type { Config, Logger };

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runFromEnvironment();
}
