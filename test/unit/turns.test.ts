import { describe, expect, it } from 'vitest';
import { Lookup } from '../../src/host/lookup.js';
import { nextTurn } from '../../src/turns.js';

/** Something else the event loop has to do (as a socket read would be): queued by the first to resume. */
const queueOther = (order: string[]) => setImmediate(() => order.push('other'));

describe('nextTurn', () => {
  it('resumes waiters one per turn of the event loop: what the first queues runs before the second resumes', async () => {
    const order: string[] = [];
    await Promise.all([
      nextTurn().then(() => {
        order.push('a');
        queueOther(order);
      }),
      nextTurn().then(() => void order.push('b')),
      nextTurn().then(() => void order.push('c')),
    ]);
    expect(order).toEqual(['a', 'other', 'b', 'c']);
  });

  it('plain waiters on one promise, for contrast, all resume before anything else runs', async () => {
    const order: string[] = [];
    const shared = Promise.resolve();
    await Promise.all([
      shared.then(() => {
        order.push('a');
        queueOther(order);
      }),
      shared.then(() => void order.push('b')),
    ]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['a', 'b', 'other']);
  });
});

describe('Lookup joiners', () => {
  it('the caller that started the fetch resumes first; those who joined it take a turn each', async () => {
    let settle: (v: string) => void = () => undefined;
    const l = new Lookup(() => new Promise<string>((resolve) => (settle = resolve)));
    const order: string[] = [];
    const all = Promise.all([
      l.get().then((v) => {
        order.push(`first ${v}`);
        queueOther(order);
      }),
      l.get().then((v) => void order.push(`joined ${v}`)),
    ]);
    settle('x');
    await all;
    expect(order).toEqual(['first x', 'other', 'joined x']);
  });
});
