import type { Duplex } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { hostSchema } from '../../src/config/schema.js';
import { Engine } from '../../src/engine/engine.js';
import { defineRunbook, type AnyRunbook } from '../../src/engine/runbook.js';
import type { Actor } from '../../src/engine/view.js';
import { Host } from '../../src/host/host.js';
import type { ExecOptions, ExecResult, Transport } from '../../src/host/transport.js';
import { gateDecisions, runbookRuns, stepDuration } from '../../src/metrics.js';
import { openDatabase } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';

class OkTransport implements Transport {
  readonly description = 'ok';
  async exec(argv: readonly string[], _o: ExecOptions): Promise<ExecResult> {
    const out = argv[0] === 'docker-compose' && argv.at(-1) === 'config' ? 'services:\n  api: {}\n' : 'fine\n';
    return { argv: [...argv], exitCode: argv[0] === 'fail' ? 1 : 0, signal: null, stdout: out, stderr: '', durationMs: 1, timedOut: false, truncated: false };
  }
  openDockerStream(): Promise<Duplex> {
    return Promise.reject(new Error('unused'));
  }
  onDisconnect(): void {}
  async close(): Promise<void> {}
}

const poke = defineRunbook({
  id: 'poke',
  title: 'Poke',
  summary: 'test runbook',
  docs: { trigger: [], expected: [], escalation: [] },
  params: z.object({ service: z.string(), fail: z.boolean().default(false) }),
  serviceParams: ['service'],
  target: (p) => p.service,
  steps: [
    { title: 'Look', mutates: false, run: async (ctx) => ({ ok: (await ctx.exec([ctx.params.fail ? 'fail' : 'echo'])).exitCode === 0, summary: 'looked' }) },
    { title: 'Poke', mutates: true, plan: async () => [['poke']], run: async (ctx) => ({ ok: (await ctx.exec(['poke'])).exitCode === 0, summary: 'poked' }) },
  ],
}) as AnyRunbook;

const alice: Actor = { id: '1', name: 'alice', roles: ['viewer', 'operator'] };
const vera: Actor = { id: '3', name: 'vera', roles: ['viewer'] };

const valueOf = async (metric: { get(): Promise<{ values: Array<{ labels: Record<string, string | number>; value: number; metricName?: string }> }> }, labels: Record<string, string>, name?: string) =>
  (await metric.get()).values.filter((v) => (name === undefined || v.metricName === name) && Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);

describe('engine metrics', () => {
  it('count runs by outcome, gate decisions by result, and time each step', async () => {
    const host = new Host(hostSchema.parse({ name: 'h', transport: 'local', projectDir: '/p', compose: 'v1' }), new OkTransport());
    const engine = new Engine(new Store(openDatabase(':memory:')), new Map([['h', host]]), { gates: { expiryMinutes: 5, rollbackWindowMinutes: 60, fourEyes: [] }, defaultHost: 'h' }, pino({ level: 'silent' }), [poke]);

    const first = await engine.start({ runbook: 'poke', params: { service: 'api' }, actor: alice, channelId: null });
    expect(() => engine.authorize(first.runId, 1, 'confirm', vera)).toThrow(/operator role/);
    expect((await engine.decide(first.runId, 1, 'confirm', alice)).status).toBe('succeeded');

    const second = await engine.start({ runbook: 'poke', params: { service: 'api' }, actor: alice, channelId: null });
    expect(engine.expireDue(Date.now() + 6 * 60_000)).toHaveLength(1);
    expect(() => engine.authorize(second.runId, 1, 'confirm', alice)).toThrow(/expired/);

    const third = await engine.start({ runbook: 'poke', params: { service: 'api' }, actor: alice, channelId: null });
    await engine.decide(third.runId, 1, 'cancel', alice);

    expect((await engine.start({ runbook: 'poke', params: { service: 'api', fail: true }, actor: alice, channelId: null })).status).toBe('failed');

    expect(await valueOf(runbookRuns, { runbook: 'poke', outcome: 'succeeded' })).toBe(1);
    expect(await valueOf(runbookRuns, { runbook: 'poke', outcome: 'expired' })).toBe(1);
    expect(await valueOf(runbookRuns, { runbook: 'poke', outcome: 'cancelled' })).toBe(1);
    expect(await valueOf(runbookRuns, { runbook: 'poke', outcome: 'failed' })).toBe(1);
    expect(await valueOf(gateDecisions, { runbook: 'poke', decision: 'confirm', result: 'accepted' })).toBe(1);
    expect(await valueOf(gateDecisions, { runbook: 'poke', decision: 'confirm', result: 'gate.forbidden' })).toBe(1);
    expect(await valueOf(gateDecisions, { runbook: 'poke', decision: 'confirm', result: 'gate.expired' })).toBe(1);
    expect(await valueOf(gateDecisions, { runbook: 'poke', decision: 'none', result: 'expired' })).toBe(1);
    expect(await valueOf(gateDecisions, { runbook: 'poke', decision: 'cancel', result: 'accepted' })).toBe(1);
    // Look ×4 (one failed) and Poke ×1.
    expect(await valueOf(stepDuration, { runbook: 'poke', outcome: 'succeeded' }, 'opsbot_runbook_step_duration_seconds_count')).toBe(4);
    expect(await valueOf(stepDuration, { runbook: 'poke', outcome: 'failed' }, 'opsbot_runbook_step_duration_seconds_count')).toBe(1);
  });
});
