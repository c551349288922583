/**
 * The debug TCP listener (spec plugin-protocol §3.1-§3.5): developers' plugins connect with a debugging key, register
 * within deadlines, and are then served like local plugins over the connection.
 *
 * Per connection: the first message must be the handshake (within `handshakeTimeoutMs`, 10 s), the whole
 * registration must reach `end` within `registrationTimeoutMs`; any refusal is written as one plain-text line and
 * the connection is closed. At `end` the registration is checked (registration.ts) and handed to `onRegistered`
 * (which installs it into the tenant); from then on lines go to the plugin's DebugPluginRuntime. When a registered
 * plugin's connection goes, its sessions fail at once and `onDisconnected` runs (which uninstalls it).
 */
import net from "node:net";
import type { Logger } from "../../logger.js";
import { seconds } from "../local/options.js";
import { DEFAULT_MAX_LINE_BYTES, LineSplitter, sessionIdOfPrefix } from "../protocol/line-codec.js";
import { DebugPluginRuntime } from "./debug-runtime.js";
import { RegistrationError } from "./errors.js";
import { RegistrationCollector, parseRegisterMessage, type DebugRegistration } from "./registration.js";

export interface DebugServerOptions {
  /** PLUGIN_REMOTE_INSTALLING_HOST (default 0.0.0.0). */
  readonly host?: string;
  /** PLUGIN_REMOTE_INSTALLING_PORT (default 5003; 0 picks a free port). */
  readonly port?: number;
  /** Time from connect to a valid handshake (default 10 s). */
  readonly handshakeTimeoutMs?: number;
  /** Time from connect to `end` (default 60 s). */
  readonly registrationTimeoutMs?: number;
  /** No heartbeat for this long after registration closes the connection (default 60 s). */
  readonly heartbeatTimeoutMs?: number;
  /** One invocation's budget (PLUGIN_MAX_EXECUTION_TIMEOUT, default 600 s). */
  readonly maxExecutionMs?: number;
  /** Registered plugins at once (PLUGIN_REMOTE_INSTALLING_MAX_CONN, default 256). */
  readonly maxConnections?: number;
  /** Longest line accepted from a plugin (default 64 MiB). */
  readonly maxLineBytes?: number;
  /** Total `_assets` bytes one plugin may send (default 50 MiB). */
  readonly maxAssetBytes?: number;
  readonly logger: Logger;
  /** The tenant a debugging key belongs to, or undefined for an unknown or expired key. */
  readonly resolveKey: (key: string) => Promise<string | undefined>;
  /** Installs a registered plugin; throwing refuses the connection with the error's message. */
  readonly onRegistered: (registration: DebugRegistration, runtime: DebugPluginRuntime) => Promise<void>;
  /** Runs once after a registered plugin's connection is gone (its sessions already failed). */
  readonly onDisconnected: (registration: DebugRegistration, runtime: DebugPluginRuntime) => Promise<void>;
}

export interface DebugServer {
  /** listen binds the port and resolves with it (the real one when port is 0). */
  listen(): Promise<number>;
  /** close stops accepting, closes every connection and waits until their plugins are uninstalled. */
  close(): Promise<void>;
  /** The plugins registered and connected now. */
  connected(): DebugPluginRuntime[];
}

const REFUSE_GRACE_MS = 2_000;

export function createDebugServer(options: DebugServerOptions): DebugServer {
  const host = options.host ?? "0.0.0.0";
  const port = options.port ?? 5003;
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
  const registrationTimeoutMs = options.registrationTimeoutMs ?? 60_000;
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 60_000;
  const maxExecutionMs = options.maxExecutionMs ?? 600_000;
  const maxConnections = options.maxConnections ?? 256;
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const logger = options.logger.child({ component: "debug-server" });

  /** Open connections, each with a promise of its 'close' event. */
  const sockets = new Map<net.Socket, Promise<void>>();
  const live = new Set<DebugPluginRuntime>();
  /** Registrations past `end` (installing or connected), for the connection limit. */
  let admitted = 0;
  /** Installs and uninstalls under way, so close() can wait for them. */
  const work = new Set<Promise<unknown>>();
  const track = <T>(job: Promise<T>): Promise<T> => {
    work.add(job);
    void job.finally(() => work.delete(job)).catch(() => undefined);
    return job;
  };

  function handle(socket: net.Socket): void {
    sockets.set(socket, new Promise<void>((resolve) => socket.once("close", () => resolve())));
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    const remote = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
    const log = logger.child({ remote });
    const collector = new RegistrationCollector({ maxAssetBytes: options.maxAssetBytes });
    type Phase = "registering" | "installing" | "running" | "closed";
    let phase: Phase = "registering";
    let runtime: DebugPluginRuntime | undefined;
    let registration: DebugRegistration | undefined;
    let closeReason: string | undefined;
    let closedDuringInstall = false;
    const queue: Buffer[] = [];
    let pumping = false;

    const clearTimers = (): void => {
      clearTimeout(handshakeTimer);
      clearTimeout(registrationTimer);
    };
    /** refuse tells the plugin why in one plain-text line, then closes (letting the line reach it first). */
    const refuse = (text: string): void => {
      if (phase === "closed" || socket.destroyed) return;
      log.info({ reason: text }, "debug plugin refused");
      phase = "closed";
      queue.length = 0;
      clearTimers();
      socket.end(`${text}\n`);
      setTimeout(() => socket.destroy(), REFUSE_GRACE_MS).unref();
    };
    const handshakeTimer = setTimeout(() => {
      if (!collector.handshakeDone) refuse(`handshake failed, no handshake within ${seconds(handshakeTimeoutMs)}`);
    }, handshakeTimeoutMs);
    const registrationTimer = setTimeout(() => {
      if (phase === "registering") refuse(`registration failed, it did not reach end within ${seconds(registrationTimeoutMs)}`);
    }, registrationTimeoutMs);
    handshakeTimer.unref();
    registrationTimer.unref();

    const toRuntime = (line: Buffer): void => runtime?.onLine(line);

    async function install(finished: DebugRegistration): Promise<void> {
      registration = finished;
      phase = "installing";
      admitted++;
      const plugin = new DebugPluginRuntime({
        uniqueIdentifier: finished.uniqueIdentifier,
        tenantId: finished.tenantId,
        logger: options.logger,
        maxExecutionMs,
        heartbeatTimeoutMs,
        send: (line) => {
          if (socket.destroyed || !socket.writable) return false;
          socket.write(line);
          return true;
        },
        close: (reason) => {
          closeReason ??= reason;
          socket.destroy();
        },
      });
      runtime = plugin;
      try {
        await options.onRegistered(finished, plugin);
      } catch (err) {
        admitted--;
        const message = err instanceof Error ? err.message : String(err);
        log.warn({ plugin: finished.uniqueIdentifier, err }, "debug plugin could not be installed");
        plugin.closed(`it could not be installed: ${message}`);
        runtime = undefined;
        if (closedDuringInstall) return;
        refuse(err instanceof RegistrationError ? message : `register failed, ${message}`);
        return;
      }
      if (closedDuringInstall) {
        // The plugin left while it was being installed: take it out again.
        admitted--;
        plugin.closed(closeReason ?? "the plugin closed the connection during registration");
        await options.onDisconnected(finished, plugin).catch((err: unknown) => log.error({ err }, "uninstalling a debug plugin failed"));
        return;
      }
      phase = "running";
      clearTimers();
      live.add(plugin);
      log.info({ plugin: finished.uniqueIdentifier, tenantId: finished.tenantId }, "debug plugin registered");
      for (const line of queue.splice(0)) toRuntime(line);
    }

    async function registrationLine(line: Buffer): Promise<void> {
      const message = parseRegisterMessage(line);
      if (!message) return refuse("handshake failed, invalid handshake message");
      try {
        if (!collector.handshakeDone) {
          if (message.type !== "handshake") return refuse("handshake failed, invalid handshake message: the first message must be the handshake");
          const key = collector.handshakeKey(message);
          let tenantId: string | undefined;
          try {
            tenantId = await options.resolveKey(key);
          } catch (err) {
            return refuse(`failed to get connection info: ${(err as Error).message}`);
          }
          if (phase !== "registering") return;
          if (tenantId === undefined) return refuse("handshake failed, invalid key");
          collector.tenantId = tenantId;
          clearTimeout(handshakeTimer);
          log.debug({ tenantId }, "debug plugin handshake done");
          return;
        }
        if (message.type === "handshake") {
          collector.handshakeKey(message);
          return;
        }
        if (message.type === "end") {
          if (admitted >= maxConnections) return refuse("server is busy now, please try again later");
          return install(collector.finish());
        }
        collector.add(message);
      } catch (err) {
        if (err instanceof RegistrationError) return refuse(err.message);
        log.error({ err }, "debug registration failed unexpectedly");
        return refuse(`register failed, ${(err as Error).message}`);
      }
    }

    async function pump(): Promise<void> {
      if (pumping) return;
      pumping = true;
      try {
        while (phase === "registering" && queue.length > 0) {
          await registrationLine(queue.shift() as Buffer);
        }
      } finally {
        pumping = false;
      }
    }

    const splitter = new LineSplitter({
      maxLineBytes,
      onLine: (line) => {
        if (phase === "running") return toRuntime(line);
        if (phase === "closed") return;
        queue.push(line);
        if (phase === "registering") void track(pump());
      },
      onOversizedLine: ({ bytes, prefix }) => {
        if (phase === "running") return runtime?.onOversizedLine(bytes, maxLineBytes, sessionIdOfPrefix(prefix));
        refuse(`registration message of ${bytes} bytes exceeds the ${maxLineBytes}-byte limit`);
      },
    });
    socket.on("data", (chunk: Buffer) => splitter.push(chunk));
    socket.on("end", () => splitter.end());
    socket.on("error", (err) => log.debug({ err: err.message }, "debug connection error"));
    socket.on("close", () => {
      sockets.delete(socket);
      clearTimers();
      const was = phase;
      phase = "closed";
      if (was === "installing") {
        closedDuringInstall = true;
        return;
      }
      if (was !== "running" || !runtime || !registration) return;
      const plugin = runtime;
      const finished = registration;
      live.delete(plugin);
      admitted--;
      plugin.closed(closeReason ?? "the plugin closed the connection");
      void track(options.onDisconnected(finished, plugin)).catch((err: unknown) => log.error({ err, plugin: plugin.uniqueIdentifier }, "uninstalling a debug plugin failed"));
    });
  }

  const server = net.createServer(handle);
  server.on("error", (err) => logger.error({ err }, "debug server error"));

  return {
    listen: () =>
      new Promise<number>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException): void => {
          reject(
            err.code === "EADDRINUSE"
              ? new Error(`the debug port ${port} on ${host} is already in use: stop the other process or set PLUGIN_REMOTE_INSTALLING_PORT`, { cause: err })
              : err,
          );
        };
        server.once("error", onError);
        server.listen(port, host, () => {
          server.off("error", onError);
          const address = server.address();
          const bound = typeof address === "object" && address ? address.port : port;
          logger.info({ host, port: bound }, "debug plugin server listening");
          resolve(bound);
        });
      }),
    async close() {
      const closed = new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
      });
      const connections = [...sockets.values()];
      for (const socket of sockets.keys()) socket.destroy();
      await Promise.all([closed, ...connections]);
      // Installs finish (and see their connection gone), then every uninstall runs to its end.
      while (work.size > 0) await Promise.allSettled([...work]);
    },
    connected: () => [...live],
  };
}
