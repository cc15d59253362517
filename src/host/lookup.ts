import { nextTurn } from '../turns.js';

/**
 * A host fact fetched on demand and shared: callers that arrive while a fetch is in flight wait for
 * that one fetch (a burst of 50 clicks must not start 50 `docker-compose` processes on the host),
 * and a result is kept for `ttlMs` (0: shared only while in flight). A failure is not kept.
 */
export class Lookup<T> {
  private value: { at: number; v: T } | undefined;
  private inflight: Promise<T> | undefined;
  /** Bumped by forget(): a fetch started before it must neither be joined nor kept after it. */
  private generation = 0;

  constructor(
    private readonly fetch: () => Promise<T>,
    private readonly ttlMs = 0,
  ) {}

  get(): Promise<T> {
    const kept = this.value;
    if (kept && Date.now() - kept.at < this.ttlMs) return Promise.resolve(kept.v);
    // Those who joined resume one per turn of the event loop (see nextTurn), not all at once.
    if (this.inflight) return this.inflight.then(async (v) => {
      await nextTurn();
      return v;
    });
    const generation = this.generation;
    const current = (): boolean => generation === this.generation;
    this.inflight = this.fetch().then(
      (v) => {
        if (current()) {
          this.inflight = undefined;
          if (this.ttlMs > 0) this.value = { at: Date.now(), v };
        }
        return v;
      },
      (err: unknown) => {
        if (current()) this.inflight = undefined;
        throw err;
      },
    );
    return this.inflight;
  }

  /** Known without asking (e.g. configured). */
  set(v: T): void {
    this.value = { at: Date.now(), v };
  }

  /** The fact may have changed (a reconnect, a compose file edited): the next caller asks anew. */
  forget(): void {
    this.value = undefined;
    this.inflight = undefined;
    this.generation++;
  }
}
