import { describe, expect, it } from 'vitest';
import { Semaphore, SlotTimeoutError } from '../../src/host/transport.js';

describe('SSH channel slots', () => {
  it('keeps the reserved slot for mutating steps: read-only callers queue behind it', async () => {
    const s = new Semaphore(3, 1);
    const r1 = await s.acquire();
    await s.acquire();
    let third = false;
    void s.acquire().then(() => (third = true));
    const high = await s.acquire({ high: true }); // the reserved one is free for it at once
    await new Promise((r) => setTimeout(r, 10));
    expect(third).toBe(false);
    high();
    await new Promise((r) => setTimeout(r, 0));
    expect(third).toBe(false); // the freed slot is the reserved one again
    r1();
    await new Promise((r) => setTimeout(r, 0));
    expect(third).toBe(true);
  });

  it('lets a mutating step pass a queue of read-only callers', async () => {
    const s = new Semaphore(2, 1);
    const r1 = await s.acquire();
    const order: string[] = [];
    const h1 = await s.acquire({ high: true });
    void s.acquire().then((rel) => {
      order.push('viewer');
      rel();
    });
    void s.acquire({ high: true }).then((rel) => {
      order.push('mutating');
      rel();
    });
    h1();
    await new Promise((r) => setTimeout(r, 0));
    expect(order).toEqual(['mutating']);
    r1();
    await new Promise((r) => setTimeout(r, 0));
    expect(order).toEqual(['mutating', 'viewer']);
  });

  it('counts time spent waiting against the deadline and leaves the queue when it passes', async () => {
    const s = new Semaphore(1);
    const held = await s.acquire();
    const err = await s.acquire({ deadline: Date.now() + 30 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlotTimeoutError);
    held();
    // The timed-out waiter took no slot: the next caller gets it at once.
    const next = await s.acquire({ deadline: Date.now() + 30 });
    next();
  });

  it('hands a freed slot to exactly one waiter', async () => {
    const s = new Semaphore(1);
    const held = await s.acquire();
    let got = 0;
    for (let i = 0; i < 5; i++) void s.acquire().then(() => got++);
    held();
    await new Promise((r) => setTimeout(r, 5));
    expect(got).toBe(1);
  });
});
