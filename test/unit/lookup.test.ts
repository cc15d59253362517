import { describe, expect, it } from 'vitest';
import { Lookup } from '../../src/host/lookup.js';

/** A fetch whose answers the test releases one by one. */
function controlled() {
  const pending: ((v: string) => void)[] = [];
  let calls = 0;
  const fetch = () => {
    calls++;
    return new Promise<string>((resolve) => pending.push(resolve));
  };
  return { fetch, pending, calls: () => calls };
}

describe('a shared host lookup', () => {
  it('gives concurrent callers one fetch and keeps the answer for its ttl', async () => {
    const c = controlled();
    const l = new Lookup(c.fetch, 60_000);
    const all = Promise.all([l.get(), l.get(), l.get()]);
    c.pending[0]!('a');
    expect(await all).toEqual(['a', 'a', 'a']);
    expect(await l.get()).toBe('a');
    expect(c.calls()).toBe(1);
  });

  it('after forget(), neither joins nor keeps a fetch that started before it', async () => {
    const c = controlled();
    const l = new Lookup(c.fetch, 60_000);
    const old = l.get();
    l.forget(); // e.g. the compose file was edited while the old read ran
    const fresh = l.get();
    expect(c.calls()).toBe(2);
    c.pending[1]!('new');
    c.pending[0]!('old');
    expect(await old).toBe('old');
    expect(await fresh).toBe('new');
    expect(await l.get()).toBe('new');
    expect(c.calls()).toBe(2);
  });

  it('does not keep a failure', async () => {
    let n = 0;
    const l = new Lookup(() => (n++ === 0 ? Promise.reject(new Error('down')) : Promise.resolve('up')), 60_000);
    await expect(l.get()).rejects.toThrow('down');
    expect(await l.get()).toBe('up');
  });
});
