/**
 * An error whose message is meant for the person who asked: it says what went wrong and what to
 * do. Anything else that escapes a handler is an internal error, shown only by its run id.
 */
export class UserError extends Error {
  constructor(
    /** Stable identifier for tests and logs, e.g. `params.invalid`, `gate.expired`. */
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UserError';
  }
}

export const isUserError = (err: unknown): err is UserError => err instanceof UserError;
