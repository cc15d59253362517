import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { resetStaging } from '../staging/staging.js';
import { startHarness, type Harness, type HarnessOptions } from './harness.js';

/**
 * The usual suite setup: a reset staging host and a fresh bot before the suite, stopped after it,
 * and after every test a check that the bot broke none of Discord's rules.
 */
export function useBot(opts: HarnessOptions = {}): Harness {
  let h: Harness | undefined;
  beforeAll(async () => {
    await resetStaging();
    h = await startHarness(opts);
  });
  afterAll(async () => {
    await h?.stop();
  });
  afterEach(() => {
    expect(h?.double.violations).toEqual([]);
  });
  // The harness exists only once beforeAll ran; hand out a stand-in that forwards to it.
  return new Proxy({} as Harness, {
    get(_target, key) {
      if (!h) throw new Error('the bot is not started yet (use it inside a test or hook)');
      return Reflect.get(h, key) as unknown;
    },
  });
}
