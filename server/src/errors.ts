/**
 * Domain errors. Services and drivers throw these, never transport errors; transport/error-map.ts turns
 * each into one Connect code (and, later, the Dify dialect's envelope). Every message says what was
 * wrong and, where the caller can act, what to do.
 */

/** DomainError is the base of every error a caller can cause or observe on purpose. */
export abstract class DomainError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** NotFoundError: the thing asked for does not exist (for this tenant). */
export class NotFoundError extends DomainError {}

/** AlreadyExistsError: creating something that is already there. */
export class AlreadyExistsError extends DomainError {}

/** InvalidArgumentError: a request field is malformed or out of range. */
export class InvalidArgumentError extends DomainError {}

/** InvalidPackageError: a plugin package is malformed (zip, manifest, declaration, limits). */
export class InvalidPackageError extends DomainError {}

/** SignatureError: a package's signature is missing, bad, or from an untrusted key when one is required. */
export class SignatureError extends DomainError {}

/** FailedPreconditionError: the request is valid but the state does not allow it now. */
export class FailedPreconditionError extends DomainError {}

/** RuntimeUnavailableError: the plugin's runtime is not running or could not be started. */
export class RuntimeUnavailableError extends DomainError {}

/** DeadlineExceededError: the operation ran out of its time budget. */
export class DeadlineExceededError extends DomainError {}

/** DatabaseUnavailableError: the database cannot be reached; says which and why. */
export class DatabaseUnavailableError extends DomainError {}
