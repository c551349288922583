import { FailedPreconditionError } from "../errors.js";

/**
 * RepackageError: the package cannot be made offline as asked (a dependency has no wheel for a platform, the
 * result is over the size limit, pip failed). The message says what and what to do; `detail` holds the tail
 * of the tool output behind it, for operators who need pip's own words.
 */
export class RepackageError extends FailedPreconditionError {
  constructor(
    message: string,
    readonly detail: string = "",
  ) {
    super(message);
  }
}
