import { RuntimeUnavailableError } from "../../errors.js";

/**
 * ConnectionClosedError: a debug plugin's TCP connection went away (closed by the plugin, killed, timed out on
 * heartbeats, or stopped by the daemon) while a session was in flight. Every such session fails with it at once,
 * as the Go daemon's synthetic `ConnectionClosedError` session error. It is a RuntimeUnavailableError, so callers
 * see Unavailable.
 */
export class ConnectionClosedError extends RuntimeUnavailableError {
  /** The error_type the Dify dialect reports for it, as the Go daemon's session error does. */
  readonly errorType = "ConnectionClosedError";
}

/**
 * RegistrationError: a debug plugin's connection is refused before it is registered. Its message is written to the
 * plugin as one plain-text line before the connection is closed (spec plugin-protocol §3.1).
 */
export class RegistrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RegistrationError";
  }
}
