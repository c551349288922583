import { pino, type Logger } from "pino";
import type { Config } from "./config.js";

export type { Logger };

/**
 * createLogger builds the one root logger; components take `logger.child({ component })`.
 * JSON is the production format; "text" pretty-prints for a developer's terminal.
 */
export function createLogger(config: Pick<Config, "log">, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: config.log.level,
    base: { service: "dify-plugin-daemon" },
    // Never let a secret that reaches a log line through an object leave the process.
    redact: { paths: ["*.password", "*.apiKey", "*.serverKey", "headers['x-api-key']"], censor: "***" },
  };
  if (destination) return pino(options, destination);
  if (config.log.format === "text") {
    return pino({ ...options, transport: { target: "pino-pretty", options: { colorize: false } } });
  }
  return pino(options);
}
