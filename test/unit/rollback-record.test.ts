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
import { openDatabase } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';

/** Answers `compose config` with two services and records everything else it is asked to run. */
class RecordingTransport implements Transport {
  readonly description = 'recording';
  readonly ran: string[] = [];
  async exec(argv: readonly string[], _o: ExecOptions): Promise<ExecResult> {
    this.ran.push(argv.join(' '));
    const out = argv[0] === 'docker-compose' && argv.at(-1) === 'config' ? 'services:\n  api: {}\n  web: {}\n' : '';
    return { argv: [...argv], exitCode: 0, signal: null, stdout: out, stderr: '', durationMs: 1, timedOut: false, truncated: false };
  }
  openDockerStream(): Promise<Duplex> {
    return Promise.reject(new Error('unused'));
  }
  onDisconnect(): void {}
  async close(): Promise<void> {}
}

const params = z.object({ service: z.string(), to: z.number().int(), before: z.coerce.number().int().optional() });
type P = z.infer<typeof params>;

/** A scale-like runbook: records the count it found, changes it, and its rollback goes back to the record. */
const make = (undoable: boolean) =>
  defineRunbook({
    id: 'resize',
    title: 'Resize',
    summary: 'test runbook',
    docs: { trigger: [], expected: [], escalation: [] },
    params,
    serviceParams: ['service'],
    internalParams: ['before'],
    target: (p: P) => p.service,
    ...(undoable ? { rollbackAfterSuccess: true } : {}),
    steps: [
      { title: 'Count', mutates: false, run: async () => ({ ok: true, summary: 'found 3', fields: [{ name: 'Before', value: '3', record: 'before' }] }) },
      { title: 'Resize', mutates: true, plan: async ({ params: p }) => [['resize', p.service, String(p.to)]], run: async (ctx) => ({ ok: (await ctx.exec(['resize', ctx.params.service, String(ctx.params.to)])).exitCode === 0, summary: 'resized' }) },
    ],
    rollback: [
      { title: 'Resize back', mutates: true, plan: async ({ params: p }) => [['resize', p.service, String(p.before ?? 'unknown')]], run: async (ctx) => ({ ok: (await ctx.exec(['resize', ctx.params.service, String(ctx.params.before)])).exitCode === 0, summary: 'back' }) },
    ],
  }) as AnyRunbook;

const alice: Actor = { id: '1', name: 'alice', roles: ['viewer', 'operator'] };

function setup(rb: AnyRunbook) {
  const transport = new RecordingTransport();
  const host = new Host(hostSchema.parse({ name: 'h', transport: 'local', projectDir: '/p', compose: 'v1' }), transport);
  const engine = new Engine(new Store(openDatabase(':memory:')), new Map([['h', host]]), { gates: { expiryMinutes: 5, rollbackWindowMinutes: 60, fourEyes: [] }, defaultHost: 'h' }, pino({ level: 'silent' }), [rb]);
  return { engine, resizes: () => transport.ran.filter((c) => c.startsWith('resize')) };
}

async function succeeded(engine: Engine) {
  const gate = await engine.start({ runbook: 'resize', params: { service: 'api', to: 5 }, actor: alice, channelId: null });
  const done = await engine.decide(gate.runId, gate.gate!.stepIdx, 'confirm', alice);
  expect(done.status).toBe('succeeded');
  return done;
}

describe('a rollback that undoes a successful mitigation', () => {
  it('is offered after success and goes back to the value the run recorded, shown in its gate', async () => {
    const { engine, resizes } = setup(make(true));
    const done = await succeeded(engine);
    expect(done.actions.map((a) => a.label)).toContain('Roll back');
    const gate = await engine.rollback(done.runId, alice, null);
    expect(gate.description).toContain('resize api 3');
    expect(resizes()).toEqual(['resize api 5']);
    const back = await engine.decide(gate.runId, gate.gate!.stepIdx, 'confirm', alice);
    expect(back.status).toBe('succeeded');
    expect(resizes()).toEqual(['resize api 5', 'resize api 3']);
    // The rollback's own result offers no rollback of the rollback.
    expect(back.actions.map((a) => a.label)).not.toContain('Roll back');
  });

  it('is neither offered nor accepted after success for an ordinary runbook', async () => {
    const { engine, resizes } = setup(make(false));
    const done = await succeeded(engine);
    expect(done.actions.map((a) => a.label)).not.toContain('Roll back');
    await expect(engine.rollback(done.runId, alice, null)).rejects.toMatchObject({ code: 'rollback.not-failed' });
    expect(resizes()).toEqual(['resize api 5']);
  });
});
