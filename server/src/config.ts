import path from "node:path";
import { z } from "zod";

/**
 * Config is the daemon's whole configuration, read once from the environment at start and frozen.
 * Variable names follow the Go daemon where one exists (spec/state-and-config.md §6), so an operator's
 * existing `.env` keeps its meaning.
 */
export interface Config {
  readonly server: {
    readonly host: string;
    readonly port: number;
    /** The `x-api-key` every non-health RPC must carry; null means "generate one under dataDir". */
    readonly key: string | null;
    /** How long a graceful shutdown waits for in-flight requests before closing connections. */
    readonly shutdownGraceMs: number;
  };
  readonly dataDir: string;
  readonly database: DatabaseConfig;
  readonly log: { readonly level: LogLevel; readonly format: "json" | "text" };
  readonly packages: PackagePolicy;
  readonly runtime: RuntimeConfig;
  /** The debug runtime's TCP listener (PLUGIN_REMOTE_INSTALLING_*). */
  readonly debugging: { readonly enabled: boolean; readonly host: string; readonly port: number; readonly maxConnections: number };
  /** REDIS_*: when REDIS_HOST is set, debugging keys live in Redis (shared by replicas); otherwise in the database. */
  readonly redis: {
    readonly host: string;
    readonly port: number;
    readonly username: string | null;
    readonly password: string | null;
    readonly db: number;
    readonly keyPrefix: string;
    readonly tls: boolean;
  } | null;
  /** Endpoint hooks (`/e/{hook_id}/...`): on/off and the request and response size limits. */
  readonly endpoints: { readonly enabled: boolean; readonly maxRequestBytes: number; readonly maxResponseBytes: number };
  /** MARKETPLACE_API_URL and GITHUB_API_URL: where Marketplace and GitHub installs download from. */
  readonly sources: { readonly marketplaceUrl: string; readonly githubUrl: string };
  /** DIFY_INNER_API_URL / DIFY_INNER_API_KEY: where backwards invocations go; null when not configured. */
  readonly difyInnerApi: { readonly url: string; readonly key: string } | null;
  /** Where packages and assets are kept: a local directory (PLUGIN_STORAGE_LOCAL_ROOT). */
  readonly storage: { readonly kind: "local"; readonly root: string };
  /**
   * RepackageService: its wheel cache (REPACKAGE_CACHE_DIR), the private key `sign` uses (REPACKAGE_SIGNING_KEY)
   * and how many runs go at once (REPACKAGE_MAX_CONCURRENT; the rest wait their turn).
   */
  readonly repackage: { readonly cacheDir: string; readonly signingKeyFile: string | null; readonly maxConcurrent: number };
}

/** RuntimeConfig is how the local runtime prepares and runs plugins. */
export interface RuntimeConfig {
  /** PLUGIN_WORKING_PATH: unpacked plugins and their venvs. */
  readonly workingPath: string;
  /** PYTHON_INTERPRETER_PATH: the Python that creates plugin venvs; null = the manifest's python3.N if on PATH, else python3. */
  readonly pythonInterpreter: string | null;
  /** PIP_MIRROR_URL: index URL for dependency installs ("" = pip's default). */
  readonly pipMirrorUrl: string;
  /** PIP_EXTRA_ARGS: whitespace-separated extra pip arguments. */
  readonly pipExtraArgs: readonly string[];
  /** PYTHON_ENV_INIT_TIMEOUT: a dependency install with no output for this long is killed. */
  readonly installInactivityMs: number;
  /** PLUGIN_INSTALL_TIMEOUT: hard limit on preparing one plugin. */
  readonly installTimeoutMs: number;
  /** PLUGIN_MAX_EXECUTION_TIMEOUT: the longest one invocation may run. */
  readonly maxExecutionMs: number;
}

/** PackagePolicy is what an upload must satisfy: size, and who must have signed it. */
export interface PackagePolicy {
  /** MAX_PLUGIN_PACKAGE_SIZE: on the compressed bytes and on the declared uncompressed total. */
  readonly maxPackageBytes: number;
  /** MAX_BUNDLE_PACKAGE_SIZE: on a bundle's bytes and its declared uncompressed total. */
  readonly maxBundleBytes: number;
  /** FORCE_VERIFYING_SIGNATURE: refuse packages no trusted key signed. */
  readonly forceVerifyingSignature: boolean;
  /** ENFORCE_LANGGENIUS_PLUGIN_SIGNATURES: author `langgenius` needs the official signature. */
  readonly enforceLanggeniusSignatures: boolean;
  /** THIRD_PARTY_SIGNATURE_VERIFICATION_PUBLIC_KEYS, resolved, when THIRD_PARTY_SIGNATURE_VERIFICATION_ENABLED. */
  readonly thirdPartyPublicKeyFiles: readonly string[];
}

export type LogLevel = "debug" | "info" | "warn" | "error";

/** DatabaseConfig says where state lives: a Postgres server, or an embedded PGlite directory. */
export type DatabaseConfig =
  | {
      readonly kind: "postgres";
      readonly url: string;
      /** The URL without its password, for logs and error messages. */
      readonly displayUrl: string;
      readonly maxConnections: number;
      readonly connectTimeoutMs: number;
    }
  | { readonly kind: "pglite"; readonly directory: string };

/** ConfigError lists every bad variable at once, so an operator fixes them in one go. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

const port = (what: string) =>
  z.coerce
    .number({ error: `must be a port number (1-65535) for ${what}` })
    .int({ error: `must be a whole port number (1-65535) for ${what}` })
    .min(0, { error: `must be a port number (1-65535) for ${what}` })
    .max(65535, { error: `must be a port number (1-65535) for ${what}` });

const positiveInt = (what: string) =>
  z.coerce
    .number({ error: `must be a positive whole number (${what})` })
    .int({ error: `must be a positive whole number (${what})` })
    .positive({ error: `must be a positive whole number (${what})` });

const bool = (def: boolean) =>
  z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.enum(["true", "false", "1", "0"], { error: "must be true or false" }))
    .transform((s) => s === "true" || s === "1")
    .default(def);

const logLevel = z
  .string()
  .transform((s) => s.toLowerCase())
  .pipe(z.enum(["debug", "info", "warn", "error"], { error: "must be one of DEBUG, INFO, WARN, ERROR" }));

/** The schema of the environment; every field is a variable name so errors can name it. */
const envSchema = z.object({
  SERVER_HOST: z.string().min(1).default("0.0.0.0"),
  SERVER_PORT: port("the daemon's listening port").default(5002),
  SERVER_KEY: z.string().min(1).optional(),
  SERVER_SHUTDOWN_GRACE_MS: positiveInt("milliseconds").default(10_000),
  DATA_DIR: z.string().min(1).default("data"),
  DB_URL: z
    .string()
    .refine((u) => /^postgres(ql)?:\/\//.test(u), { error: "must be a postgres:// or postgresql:// URL" })
    .optional(),
  DB_HOST: z.string().min(1).optional(),
  DB_PORT: port("Postgres").default(5432),
  DB_USERNAME: z.string().default("postgres"),
  DB_PASSWORD: z.string().default(""),
  DB_DATABASE: z.string().min(1).default("dify_plugin"),
  DB_SSL_MODE: z.enum(["disable", "require"], { error: "must be one of disable, require" }).default("disable"),
  DB_MAX_OPEN_CONNS: positiveInt("connections").default(30),
  DB_CONNECT_TIMEOUT: positiveInt("seconds").default(5),
  LOG_LEVEL: logLevel.default("info"),
  LOG_OUTPUT_FORMAT: z.enum(["json", "text"], { error: "must be one of json, text" }).default("json"),
  MAX_PLUGIN_PACKAGE_SIZE: positiveInt("bytes").default(52_428_800),
  MAX_BUNDLE_PACKAGE_SIZE: positiveInt("bytes").default(629_145_600),
  FORCE_VERIFYING_SIGNATURE: bool(true),
  ENFORCE_LANGGENIUS_PLUGIN_SIGNATURES: bool(true),
  THIRD_PARTY_SIGNATURE_VERIFICATION_ENABLED: bool(false),
  THIRD_PARTY_SIGNATURE_VERIFICATION_PUBLIC_KEYS: z.string().default(""),
  PLUGIN_STORAGE_TYPE: z.enum(["local"], { error: "must be local (other backends are not supported yet)" }).default("local"),
  PLUGIN_STORAGE_LOCAL_ROOT: z.string().min(1).optional(),
  PLUGIN_WORKING_PATH: z.string().min(1).optional(),
  PYTHON_INTERPRETER_PATH: z.string().min(1).optional(),
  PIP_MIRROR_URL: z.string().refine((u) => /^https?:\/\//.test(u), { error: "must be an http(s) URL of a PEP 503 index" }).optional(),
  PIP_EXTRA_ARGS: z.string().default(""),
  PYTHON_ENV_INIT_TIMEOUT: positiveInt("seconds").default(120),
  PLUGIN_INSTALL_TIMEOUT: positiveInt("seconds").default(900),
  PLUGIN_MAX_EXECUTION_TIMEOUT: positiveInt("seconds").default(600),
  DIFY_INNER_API_URL: z.string().refine((u) => /^https?:\/\//.test(u), { error: "must be an http(s) URL" }).optional(),
  DIFY_INNER_API_KEY: z.string().optional(),
  PLUGIN_REMOTE_INSTALLING_ENABLED: bool(true),
  // The Go daemon has no default (its .env example says 127.0.0.1); 0.0.0.0 matches SERVER_HOST and Dify's compose file.
  PLUGIN_REMOTE_INSTALLING_HOST: z.string().min(1).default("0.0.0.0"),
  PLUGIN_REMOTE_INSTALLING_PORT: port("the debug plugin TCP listener").default(5003),
  PLUGIN_REMOTE_INSTALLING_MAX_CONN: positiveInt("connections").default(256),
  REDIS_HOST: z.string().min(1).optional(),
  REDIS_PORT: port("Redis").default(6379),
  REDIS_USERNAME: z.string().optional(),
  REDIS_PASSWORD: z.string().optional(),
  REDIS_DB: z.coerce.number({ error: "must be a Redis database number (0-15)" }).int().min(0).max(15).default(0),
  REDIS_KEY_PREFIX: z.string().min(1).default("plugin_daemon"),
  REDIS_USE_SSL: bool(false),
  PLUGIN_ENDPOINT_ENABLED: bool(true),
  PLUGIN_ENDPOINT_MAX_REQUEST_SIZE: positiveInt("bytes").default(10_485_760),
  PLUGIN_ENDPOINT_MAX_RESPONSE_SIZE: positiveInt("bytes").default(67_108_864),
  MARKETPLACE_API_URL: z.string().refine((u) => /^https?:\/\//.test(u), { error: "must be an http(s) URL" }).default("https://marketplace.dify.ai"),
  GITHUB_API_URL: z.string().refine((u) => /^https?:\/\//.test(u), { error: "must be an http(s) URL" }).default("https://github.com"),
  REPACKAGE_CACHE_DIR: z.string().min(1).optional(),
  REPACKAGE_SIGNING_KEY: z.string().min(1).optional(),
  REPACKAGE_MAX_CONCURRENT: positiveInt("runs").default(2),
});

type Env = Record<string, string | undefined>;

/** loadConfig validates the environment and returns a frozen Config, or throws ConfigError. */
export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  // Empty strings mean "unset", as they do for the Go daemon's envconfig + SetDefault.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? "environment");
        return `${name}=${JSON.stringify(present[name] ?? "")}: ${issue.message}`;
      }),
    );
  }
  const e = parsed.data;
  const dataDir = path.resolve(cwd, e.DATA_DIR);
  return deepFreeze({
    server: { host: e.SERVER_HOST, port: e.SERVER_PORT, key: e.SERVER_KEY ?? null, shutdownGraceMs: e.SERVER_SHUTDOWN_GRACE_MS },
    dataDir,
    database: databaseConfig(e, dataDir),
    log: { level: e.LOG_LEVEL, format: e.LOG_OUTPUT_FORMAT },
    packages: {
      maxPackageBytes: e.MAX_PLUGIN_PACKAGE_SIZE,
      maxBundleBytes: e.MAX_BUNDLE_PACKAGE_SIZE,
      forceVerifyingSignature: e.FORCE_VERIFYING_SIGNATURE,
      enforceLanggeniusSignatures: e.ENFORCE_LANGGENIUS_PLUGIN_SIGNATURES,
      // As the Go daemon: the key list only counts when third-party verification is enabled.
      thirdPartyPublicKeyFiles: e.THIRD_PARTY_SIGNATURE_VERIFICATION_ENABLED
        ? e.THIRD_PARTY_SIGNATURE_VERIFICATION_PUBLIC_KEYS.split(",")
            .map((f) => f.trim())
            .filter((f) => f !== "")
            .map((f) => path.resolve(cwd, f))
        : [],
    },
    runtime: {
      workingPath: e.PLUGIN_WORKING_PATH ? path.resolve(cwd, e.PLUGIN_WORKING_PATH) : path.join(dataDir, "cwd"),
      pythonInterpreter: e.PYTHON_INTERPRETER_PATH ?? null,
      pipMirrorUrl: e.PIP_MIRROR_URL ?? "",
      pipExtraArgs: e.PIP_EXTRA_ARGS.split(/\s+/).filter((a) => a !== ""),
      installInactivityMs: e.PYTHON_ENV_INIT_TIMEOUT * 1000,
      installTimeoutMs: e.PLUGIN_INSTALL_TIMEOUT * 1000,
      maxExecutionMs: e.PLUGIN_MAX_EXECUTION_TIMEOUT * 1000,
    },
    debugging: {
      enabled: e.PLUGIN_REMOTE_INSTALLING_ENABLED,
      host: e.PLUGIN_REMOTE_INSTALLING_HOST,
      port: e.PLUGIN_REMOTE_INSTALLING_PORT,
      maxConnections: e.PLUGIN_REMOTE_INSTALLING_MAX_CONN,
    },
    redis: e.REDIS_HOST
      ? {
          host: e.REDIS_HOST,
          port: e.REDIS_PORT,
          username: e.REDIS_USERNAME || null,
          password: e.REDIS_PASSWORD || null,
          db: e.REDIS_DB,
          keyPrefix: e.REDIS_KEY_PREFIX,
          tls: e.REDIS_USE_SSL,
        }
      : null,
    endpoints: {
      enabled: e.PLUGIN_ENDPOINT_ENABLED,
      maxRequestBytes: e.PLUGIN_ENDPOINT_MAX_REQUEST_SIZE,
      maxResponseBytes: e.PLUGIN_ENDPOINT_MAX_RESPONSE_SIZE,
    },
    sources: { marketplaceUrl: e.MARKETPLACE_API_URL, githubUrl: e.GITHUB_API_URL },
    difyInnerApi: e.DIFY_INNER_API_URL ? { url: e.DIFY_INNER_API_URL, key: e.DIFY_INNER_API_KEY ?? "" } : null,
    // An explicit root is relative to the working directory, as in the Go daemon; the default lives in DATA_DIR.
    storage: {
      kind: e.PLUGIN_STORAGE_TYPE,
      root: e.PLUGIN_STORAGE_LOCAL_ROOT ? path.resolve(cwd, e.PLUGIN_STORAGE_LOCAL_ROOT) : path.join(dataDir, "storage"),
    },
    repackage: {
      cacheDir: e.REPACKAGE_CACHE_DIR ? path.resolve(cwd, e.REPACKAGE_CACHE_DIR) : path.join(dataDir, "repackage-cache"),
      signingKeyFile: e.REPACKAGE_SIGNING_KEY ? path.resolve(cwd, e.REPACKAGE_SIGNING_KEY) : null,
      maxConcurrent: e.REPACKAGE_MAX_CONCURRENT,
    },
  });
}

function databaseConfig(e: z.infer<typeof envSchema>, dataDir: string): DatabaseConfig {
  const common = { maxConnections: e.DB_MAX_OPEN_CONNS, connectTimeoutMs: e.DB_CONNECT_TIMEOUT * 1000 };
  if (e.DB_URL) {
    return { kind: "postgres", url: e.DB_URL, displayUrl: redactPassword(e.DB_URL), ...common };
  }
  if (e.DB_HOST) {
    const url = new URL("postgres://placeholder");
    url.hostname = e.DB_HOST;
    url.port = String(e.DB_PORT);
    url.username = e.DB_USERNAME;
    url.password = e.DB_PASSWORD;
    url.pathname = `/${e.DB_DATABASE}`;
    if (e.DB_SSL_MODE === "require") url.searchParams.set("sslmode", "require");
    return { kind: "postgres", url: url.toString(), displayUrl: redactPassword(url.toString()), ...common };
  }
  return { kind: "pglite", directory: path.join(dataDir, "pglite") };
}

function redactPassword(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.toString();
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
