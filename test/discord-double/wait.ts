/** Something that changed in the double; waiters re-check their condition on every change. */
export class ChangeFeed {
  readonly #listeners = new Set<() => void>();
  #closed: Error | undefined;

  get closed(): Error | undefined {
    return this.#closed;
  }

  notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(reason: Error): void {
    this.#closed = reason;
    this.notify();
  }
}

/** A found value; wrapping lets a waiter resolve with `undefined`, `0` or `false`. */
export interface Found<T> {
  value: T;
}

export interface WaitSpec<T> {
  /** Returns the value once the condition holds, `undefined` while it doesn't. May throw to fail the wait. */
  check: () => Found<T> | undefined;
  /** What is awaited, for the error message: "the original response of interaction 123". */
  what: string;
  /** What has been received so far, for the error message. */
  describe: () => string;
  timeoutMs: number;
}

/** Error thrown when a wait times out; `details` is what the double had received by then. */
export class DoubleTimeoutError extends Error {
  constructor(
    message: string,
    readonly details: string,
  ) {
    super(message);
    this.name = 'DoubleTimeoutError';
  }
}

/** Resolves as soon as `check` finds a value (now or after some change), rejects after the timeout. */
export function waitUntil<T>(feed: ChangeFeed, spec: WaitSpec<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const pending: { timer?: NodeJS.Timeout; unsubscribe?: () => void } = {};
    const finish = (): void => {
      if (pending.timer) clearTimeout(pending.timer);
      pending.unsubscribe?.();
    };
    const evaluate = (): boolean => {
      if (feed.closed) {
        finish();
        reject(new Error(`The Discord double was closed while waiting for ${spec.what}.`));
        return true;
      }
      let found: Found<T> | undefined;
      try {
        found = spec.check();
      } catch (error) {
        finish();
        reject(error instanceof Error ? error : new Error(String(error)));
        return true;
      }
      if (found) {
        finish();
        resolve(found.value);
        return true;
      }
      return false;
    };
    if (evaluate()) return;
    pending.unsubscribe = feed.subscribe(() => void evaluate());
    pending.timer = setTimeout(() => {
      finish();
      const details = spec.describe();
      reject(
        new DoubleTimeoutError(
          `Timed out after ${spec.timeoutMs} ms waiting for ${spec.what}.\n${details}`,
          details,
        ),
      );
    }, spec.timeoutMs);
  });
}
