import type { Duplex } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { hostSchema } from '../../src/config/schema.js';
import { Engine } from '../../src/engine/engine.js';
import { afterRun, progressText, rolloutIdOf, rolloutOrigin, startFailed, type Rollout } from '../../src/engine/rollout.js';
import { defineRunbook, type AnyRunbook } from '../../src/engine/runbook.js';
import type { Actor, RunView } from '../../src/engine/view.js';
import { Host } from '../../src/host/host.js';
import type { ExecOptions, ExecResult, Transport } from '../../src/host/transport.js';
import { openDatabase } from '../../src/store/db.js';
import { RolloutStore } from '../../src/store/rollouts.js';
import { Store, type RunStatus } from '../../src/store/store.js';

const base: Rollout = { id: 'u1', runbook: 'bounce', target: 'web', hosts: ['a', 'b', 'c'], runs: ['r1'], position: 0, status: 'running', reason: null };

describe('rollout transitions', () => {
  it('a succeeded host starts the next one; the last one ends the rollout', () => {
    const one = afterRun(base, 'r1', 'succeeded', 'r2')!;
    expect(one.start).toEqual({ host: 'b', runId: 'r2' });
    expect(one.rollout).toMatchObject({ position: 1, runs: ['r1', 'r2'], status: 'running' });
    const two = afterRun(one.rollout, 'r2', 'succeeded', 'r3')!;
    const three = afterRun(two.rollout, 'r3', 'succeeded', 'r4')!;
    expect(three.start).toBeUndefined();
    expect(three.rollout).toMatchObject({ position: 2, runs: ['r1', 'r2', 'r3'], status: 'succeeded' });
  });

  it('a failed, cancelled or expired host stops it, naming the hosts not started', () => {
    for (const ended of ['failed', 'cancelled', 'expired'] as const) {
      const t = afterRun(base, 'r1', ended, 'r2')!;
      expect(t.start).toBeUndefined();
      expect(t.rollout).toMatchObject({ status: 'stopped', position: 0, reason: `a ${ended}; not started: b, c` });
    }
    const last = afterRun({ ...base, runs: ['r1', 'r2', 'r3'], position: 2 }, 'r3', 'failed', 'r4')!;
    expect(last.rollout.reason).toBe('c failed');
  });

  it('ignores runs that are not the current one, runs still going, and rollouts that are over', () => {
    expect(afterRun(base, 'rX', 'succeeded', 'r2')).toBeUndefined();
    expect(afterRun(base, 'r1', 'awaiting_confirmation', 'r2')).toBeUndefined();
    expect(afterRun(base, 'r1', 'running', 'r2')).toBeUndefined();
    expect(afterRun({ ...base, status: 'stopped' }, 'r1', 'succeeded', 'r2')).toBeUndefined();
  });

  it('without anyone to show the next gate to, a success stops it instead of starting the next host', () => {
    const t = afterRun(base, 'r1', 'succeeded', 'r2', false)!;
    expect(t.start).toBeUndefined();
    expect(t.rollout).toMatchObject({ status: 'stopped', reason: 'the bot stopped after a succeeded, before starting b; not started: b, c' });
  });

  it('a host that cannot start stops it there', () => {
    const moved = afterRun(base, 'r1', 'succeeded', 'r2')!.rollout;
    expect(startFailed(moved, 'Cannot connect')).toMatchObject({ status: 'stopped', runs: ['r1'], position: 1, reason: 'b could not start: Cannot connect; not started: c' });
  });

  it('the progress line shows each host, the canary, and how it ended', () => {
    const status: Record<string, RunStatus> = { r1: 'succeeded', r2: 'awaiting_confirmation' };
    const r = { ...base, runs: ['r1', 'r2'], position: 1 };
    expect(progressText(r, 'r2', (id) => status[id])).toBe('🚦 **Rollout over group web · host 2 of 3:** ✅ a (canary) → ⏸️ b → ▫️ c');
    expect(progressText(r, 'r1', (id) => status[id])).toBe('🚦 **Rollout over group web · host 1 of 3:** ✅ a (canary) → ⏸️ b → ▫️ c\nNext: b (its own confirmation).');
    const stopped = startFailed(r, 'down');
    expect(progressText(stopped, 'r1', (id) => status[id])).toBe('🚦 **Rollout over group web · host 1 of 3:** ✅ a (canary) → ❌ b → ▫️ c\n**Rollout stopped:** b could not start: down; not started: c.');
  });

  it('a run finds its rollout by its origin', () => {
    expect(rolloutIdOf(rolloutOrigin({ id: 'uAb-_12x', runbook: 'bounce', target: 'web' }))).toBe('uAb-_12x');
    expect(rolloutOrigin({ id: 'u1', runbook: 'bounce', target: 'all' })).toBe('rollout u1 · bounce over all hosts');
    expect(rolloutIdOf('alert HighCpu')).toBeUndefined();
    expect(rolloutIdOf(null)).toBeUndefined();
  });
});

/** Answers compose config with one service and `bounce` with exit 0, or 1 on a host told to fail. */
class FakeTransport implements Transport {
  readonly description = 'fake';
  readonly ran: string[] = [];
  constructor(private readonly failBounce = false) {}
  async exec(argv: readonly string[], _o: ExecOptions): Promise<ExecResult> {
    this.ran.push(argv.join(' '));
    const config = argv[0] === 'docker-compose' && argv.at(-1) === 'config';
    const exitCode = argv[0] === 'bounce' && this.failBounce ? 1 : 0;
    return { argv: [...argv], exitCode, signal: null, stdout: config ? 'services:\n  api: {}\n' : 'ok\n', stderr: '', durationMs: 1, timedOut: false, truncated: false };
  }
  openDockerStream(): Promise<Duplex> {
    return Promise.reject(new Error('unused'));
  }
  onDisconnect(): void {}
  async close(): Promise<void> {}
}

const bounce = defineRunbook({
  id: 'bounce',
  title: (p: { service: string }) => `Bounce ${p.service}`,
  summary: 'test runbook',
  docs: { trigger: [], expected: [], escalation: [] },
  params: z.object({ service: z.string() }),
  serviceParams: ['service'],
  target: (p) => p.service,
  steps: [
    { title: 'Look', mutates: false, run: async () => ({ ok: true, summary: 'looked' }) },
    { title: 'Bounce', mutates: true, plan: async ({ params }) => [['bounce', params.service]], run: async (ctx) => ({ ok: (await ctx.exec(['bounce', ctx.params.service])).exitCode === 0, summary: 'bounced' }) },
  ],
  rollback: [{ title: 'Undo', mutates: true, run: async () => ({ ok: true, summary: 'undone' }) }],
}) as AnyRunbook;

const alice: Actor = { id: '1', name: 'alice', roles: ['viewer', 'operator'] };
const bob: Actor = { id: '2', name: 'bob', roles: ['viewer', 'operator', 'approver'] };

function fleet(opts: { db?: ReturnType<typeof openDatabase>; failing?: string[]; fourEyes?: string[] } = {}) {
  const db = opts.db ?? openDatabase(':memory:');
  const transports = new Map<string, FakeTransport>();
  const hosts = new Map(
    ['a', 'b', 'c'].map((name) => {
      const t = new FakeTransport(opts.failing?.includes(name));
      transports.set(name, t);
      return [name, new Host(hostSchema.parse({ name, transport: 'local', projectDir: '/p', compose: 'v1', groups: ['web'] }), t)] as const;
    }),
  );
  const engine = new Engine(new Store(db), hosts, { gates: { expiryMinutes: 5, rollbackWindowMinutes: 60, fourEyes: opts.fourEyes ?? [] }, defaultHost: 'a' }, pino({ level: 'silent' }), [bounce]);
  const bounced = () => [...transports].filter(([, t]) => t.ran.some((c) => c.startsWith('bounce'))).map(([n]) => n);
  return { engine, db, bounced, store: new Store(db), rollouts: new RolloutStore(db) };
}

const confirm = (engine: Engine, v: RunView, actor: Actor = alice) => engine.decide(v.runId, v.gate!.stepIdx, 'confirm', actor);

describe('a runbook that changes hosts, on a group: a rollout of ordinary runs', () => {
  it('starts at the canary behind its gate, then each next host behind its own gate, each run audited and linked', async () => {
    const { engine, bounced, store, rollouts } = fleet();
    const canary = await engine.startTarget({ runbook: 'bounce', host: 'web', params: { service: 'api' }, actor: alice, channelId: 'c1' });
    expect(canary.status).toBe('awaiting_confirmation');
    expect(canary.footer).toContain(' · a · ');
    expect(canary.description).toContain('🚦 **Rollout over group web · host 1 of 3:** ⏸️ a (canary) → ▫️ b → ▫️ c');
    expect(bounced()).toEqual([]);

    const afterA = await confirm(engine, canary);
    expect(afterA.status).toBe('succeeded');
    expect(afterA.description).toContain('✅ a (canary) → ⏸️ b → ▫️ c');
    expect(bounced()).toEqual(['a']);
    const b = afterA.next!;
    expect(b.status).toBe('awaiting_confirmation');
    expect(b.footer).toContain(' · b · requested by alice');
    expect(b.description).toContain('host 2 of 3');
    expect(b.actions.map((x) => x.label)).toEqual(['Confirm', 'Cancel']);

    const afterB = await confirm(engine, b);
    const c = afterB.next!;
    const done = await confirm(engine, c);
    expect(done.next).toBeUndefined();
    expect(done.description).toContain('✅ a (canary) → ✅ b → ✅ c\nRollout done: all 3 hosts succeeded.');
    expect(bounced()).toEqual(['a', 'b', 'c']);

    const runs = store.recentRuns(10);
    expect(runs.map((r) => [r.host, r.status]).sort()).toEqual([['a', 'succeeded'], ['b', 'succeeded'], ['c', 'succeeded']]);
    const id = /^rollout (u\S+) · bounce over group web$/.exec(runs[0]!.origin ?? '')![1]!;
    expect(runs.every((r) => r.origin === runs[0]!.origin)).toBe(true);
    expect(rollouts.get(id)).toMatchObject({ status: 'succeeded', position: 2, runs: JSON.stringify([canary.runId, b.runId, c.runId]) });
  });

  it('a failing host stops the rollout with the rest not started, and offers its Roll back', async () => {
    const { engine, bounced } = fleet({ failing: ['a'] });
    const canary = await engine.startTarget({ runbook: 'bounce', host: 'web', params: { service: 'api' }, actor: alice, channelId: null });
    const failed = await confirm(engine, canary);
    expect(failed.status).toBe('failed');
    expect(failed.next).toBeUndefined();
    expect(failed.description).toContain('❌ a (canary) → ▫️ b → ▫️ c\n**Rollout stopped:** a failed; not started: b, c.');
    expect(failed.actions.map((x) => x.label)).toContain('Roll back');
    expect(bounced()).toEqual(['a']);
  });

  it('a cancelled gate stops it; nothing more starts', async () => {
    const { engine, bounced, store } = fleet();
    const canary = await engine.startTarget({ runbook: 'bounce', host: 'web', params: { service: 'api' }, actor: alice, channelId: null });
    const b = (await confirm(engine, canary)).next!;
    const cancelled = await engine.decide(b.runId, b.gate!.stepIdx, 'cancel', alice);
    expect(cancelled.description).toContain('**Rollout stopped:** b cancelled; not started: c.');
    expect(bounced()).toEqual(['a']);
    expect(store.recentRuns(10).map((r) => r.host).sort()).toEqual(['a', 'b']);
  });

  it('a gate confirmed after a restart (a new engine on the same database) still starts the next host', async () => {
    const first = fleet();
    const canary = await first.engine.startTarget({ runbook: 'bounce', host: 'web', params: { service: 'api' }, actor: alice, channelId: 'c1' });
    const again = fleet({ db: first.db });
    const afterA = await confirm(again.engine, canary);
    expect(afterA.next?.footer).toContain(' · b · requested by alice');
    expect(again.store.getRun(afterA.next!.runId)?.channel_id).toBe('c1');
  });

  it('an expired gate stops it at the next sweep', async () => {
    const { engine, rollouts, store } = fleet();
    const canary = await engine.startTarget({ runbook: 'bounce', host: 'web', params: { service: 'api' }, actor: alice, channelId: null });
    engine.expireDue(Date.now() + 10 * 60_000);
    const id = /^rollout (u\S+) /.exec(store.getRun(canary.runId)!.origin!)![1]!;
    expect(rollouts.get(id)).toMatchObject({ status: 'stopped', reason: 'a expired; not started: b, c' });
  });

  it('four-eyes: each host gate needs a second person with the approver role', async () => {
    const { engine, bounced } = fleet({ fourEyes: ['bounce'] });
    const canary = await engine.startTarget({ runbook: 'bounce', host: 'web', params: { service: 'api' }, actor: alice, channelId: null });
    expect(() => engine.authorize(canary.runId, canary.gate!.stepIdx, 'confirm', alice)).toThrow(/second person/);
    const b = (await confirm(engine, canary, bob)).next!;
    expect(b.gate?.fourEyes).toBe(true);
    expect(() => engine.authorize(b.runId, b.gate!.stepIdx, 'confirm', alice)).toThrow(/second person/);
    await confirm(engine, b, bob);
    expect(bounced()).toEqual(['a', 'b']);
  });
});
