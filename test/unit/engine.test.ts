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

class RecordingTransport implements Transport {
  readonly description = 'recording';
  readonly ran: string[] = [];
  async exec(argv: readonly string[], _o: ExecOptions): Promise<ExecResult> {
    this.ran.push(argv.join(' '));
    const out = argv[0] === 'docker-compose' && argv.at(-1) === 'config' ? 'services:\n  api: {}\n  web: {}\n' : `ran ${argv.join(' ')}\nAPI_TOKEN=supersecret123\n`;
    return { argv: [...argv], exitCode: 0, signal: null, stdout: out, stderr: '', durationMs: 1, timedOut: false, truncated: false };
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
  params: z.object({ service: z.string().regex(/^[a-z]+$/) }),
  serviceParams: ['service'],
  target: (p) => p.service,
  steps: [
    { title: 'Look', mutates: false, run: async (ctx) => ({ ok: true, summary: 'looked', output: (await ctx.exec(['echo', 'look'])).stdout }) },
    { title: 'Bounce', mutates: true, plan: async ({ params }) => [['bounce', params.service]], run: async (ctx) => ({ ok: (await ctx.exec(['bounce', ctx.params.service])).exitCode === 0, summary: 'bounced' }) },
  ],
}) as AnyRunbook;

/** Changes every service of the project: it and any run with a target exclude each other on a host. */
const sweep = defineRunbook({
  id: 'sweep',
  title: 'Sweep',
  summary: 'test runbook',
  docs: { trigger: [], expected: [], escalation: [] },
  params: z.object({}),
  target: () => 'everything',
  wholeProject: true,
  steps: [{ title: 'Sweep', mutates: true, plan: async () => [['sweep']], run: async (ctx) => ({ ok: (await ctx.exec(['sweep'])).exitCode === 0, summary: 'swept' }) }],
}) as AnyRunbook;

const alice: Actor = { id: '1', name: 'alice', roles: ['viewer', 'operator'] };
const bob: Actor = { id: '2', name: 'bob', roles: ['viewer', 'operator', 'approver'] };
const vera: Actor = { id: '3', name: 'vera', roles: ['viewer'] };

function setup(db = openDatabase(':memory:'), fourEyes: string[] = []) {
  const transport = new RecordingTransport();
  const host = new Host(hostSchema.parse({ name: 'h', transport: 'local', projectDir: '/p', compose: 'v1' }), transport);
  const engine = new Engine(new Store(db), new Map([['h', host]]), { gates: { expiryMinutes: 5, rollbackWindowMinutes: 60, fourEyes }, defaultHost: 'h' }, pino({ level: 'silent' }), [bounce]);
  return { engine, transport, db };
}

const bounces = (t: RecordingTransport) => t.ran.filter((c) => c.startsWith('bounce'));

describe('runbook engine', () => {
  it('runs read-only steps at once and stops at a gate before the mutating one', async () => {
    const { engine, transport } = setup();
    const view = await engine.start({ runbook: 'bounce', params: { service: 'api' }, actor: alice, channelId: null });
    expect(view.status).toBe('awaiting_confirmation');
    expect(view.description).toContain('bounce api');
    expect(bounces(transport)).toEqual([]);
    const done = await engine.decide(view.runId, view.gate!.stepIdx, 'confirm', alice);
    expect(done.status).toBe('succeeded');
    expect(bounces(transport)).toEqual(['bounce api']);
  });

  it('stores output redacted', async () => {
    const { engine } = setup();
    const view = await engine.start({ runbook: 'bounce', params: { service: 'api' }, actor: alice, channelId: null });
    expect(view.blocks[0]?.text).toContain('API_TOKEN=[redacted]');
    expect(JSON.stringify(view)).not.toContain('supersecret123');
  });

  it('lets exactly one of racing confirmations through', async () => {
    const { engine, transport } = setup();
    const view = await engine.start({ runbook: 'bounce', params: { service: 'api' }, actor: alice, channelId: null });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => engine.decide(view.runId, 1, 'confirm', bob)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(bounces(transport)).toHaveLength(1);
  });

  it('refuses viewers, self-approval under four eyes, and unknown services', async () => {
    const { engine } = setup(undefined, ['bounce']);
    const view = await engine.start({ runbook: 'bounce', params: { service: 'api' }, actor: alice, channelId: null });
    expect(() => engine.authorize(view.runId, 1, 'confirm', vera)).toThrow(/approver role/);
    expect(() => engine.authorize(view.runId, 1, 'confirm', alice)).toThrow(/needs a second person/);
    expect((await engine.decide(view.runId, 1, 'confirm', bob)).status).toBe('succeeded');
    await expect(engine.start({ runbook: 'bounce', params: { service: 'db' }, actor: alice, channelId: null })).rejects.toThrow(/has no compose service "db".*api, web/);
    await expect(engine.start({ runbook: 'bounce', params: { service: 'a;b' }, actor: alice, channelId: null })).rejects.toThrow(/Invalid input/);
  });

  it('holds one run per target and names who holds it', async () => {
    const { engine } = setup();
    await engine.start({ runbook: 'bounce', params: { service: 'api' }, actor: alice, channelId: null });
    await expect(engine.start({ runbook: 'bounce', params: { service: 'api' }, actor: bob, channelId: null })).rejects.toThrow(/alice is already running bounce on h:api/);
    await expect(engine.start({ runbook: 'bounce', params: { service: 'web' }, actor: bob, channelId: null })).resolves.toMatchObject({ status: 'awaiting_confirmation' });
  });

  it('a whole-project run and any run with a target on the same host exclude each other, either way round', async () => {
    const transport = new RecordingTransport();
    const hosts = new Map(['h', 'g'].map((name) => [name, new Host(hostSchema.parse({ name, transport: 'local', projectDir: '/p', compose: 'v1' }), transport)] as const));
    const db = openDatabase(':memory:');
    const engine = new Engine(new Store(db), hosts, { gates: { expiryMinutes: 5, rollbackWindowMinutes: 60, fourEyes: [] }, defaultHost: 'h' }, pino({ level: 'silent' }), [bounce, sweep]);
    const start = (runbook: string, actor: Actor, host: string, params: Record<string, string> = {}) => engine.start({ runbook, params, actor, channelId: null, host });

    const api = await start('bounce', alice, 'h', { service: 'api' });
    await expect(start('sweep', bob, 'h')).rejects.toThrow(/alice is already running bounce on h:api \(run \S+, awaiting confirmation, .*\), and sweep changes every service on h\. Wait for it to finish or cancel it; nothing was run\./);
    // Another host's project is another lock.
    const other = await start('sweep', bob, 'g');
    expect(other.status).toBe('awaiting_confirmation');

    expect((await engine.decide(api.runId, api.gate!.stepIdx, 'cancel', alice)).status).toBe('cancelled');
    const swept = await start('sweep', bob, 'h');
    expect(swept.status).toBe('awaiting_confirmation');
    await expect(start('bounce', alice, 'h', { service: 'web' })).rejects.toThrow(/bob is already running sweep on h:everything \(run \S+, awaiting confirmation, .*\), which changes every service on h\. Wait/);
    await expect(start('sweep', alice, 'h')).rejects.toThrow(/bob is already running sweep on h:everything \(run \S+, awaiting confirmation, [^)]*\)\. Wait/);
    // A run that locks nothing (read-only) is not held back.
    new Store(db).createRun({ id: 'r-look', runbook: 'look', host: 'h', params: '{}', requested_by: '1', requested_by_name: 'alice', channel_id: null, status: 'running', target_key: null, created_at: Date.now() });
    expect(transport.ran.filter((c) => c.startsWith('sweep') || c.startsWith('bounce'))).toEqual([]);

    expect((await engine.decide(swept.runId, swept.gate!.stepIdx, 'confirm', bob)).status).toBe('succeeded');
    expect((await start('bounce', alice, 'h', { service: 'web' })).status).toBe('awaiting_confirmation');
    expect(transport.ran.filter((c) => c.startsWith('sweep') || c.startsWith('bounce'))).toEqual(['sweep']);
  });

  it('expires gates, releases the lock, and refuses a late click', async () => {
    const { engine, transport } = setup();
    const view = await engine.start({ runbook: 'bounce', params: { service: 'api' }, actor: alice, channelId: null });
    const expired = engine.expireDue(Date.now() + 6 * 60_000);
    expect(expired.map((e) => e.view.status)).toEqual(['expired']);
    expect(expired[0]?.view.actions.every((a) => a.disabled)).toBe(true);
    expect(() => engine.authorize(view.runId, 1, 'confirm', alice)).toThrow(/This confirmation expired at \d\d:\d\d UTC \(after 5 min\); nothing was run\. Start again with \/bounce api\./);
    expect(bounces(transport)).toEqual([]);
    await expect(engine.start({ runbook: 'bounce', params: { service: 'api' }, actor: bob, channelId: null })).resolves.toMatchObject({ status: 'awaiting_confirmation' });
  });

  it('a run whose gate cannot be prepared ends failed and frees its target', async () => {
    const broken = defineRunbook({ ...bounce, id: 'broken', steps: [{ title: 'Change', mutates: true, plan: () => Promise.reject(new Error('host gone')), run: async () => ({ ok: true, summary: '' }) }] }) as AnyRunbook;
    const transport = new RecordingTransport();
    const host = new Host(hostSchema.parse({ name: 'h', transport: 'local', projectDir: '/p', compose: 'v1' }), transport);
    const store = new Store(openDatabase(':memory:'));
    const engine = new Engine(store, new Map([['h', host]]), { gates: { expiryMinutes: 5, rollbackWindowMinutes: 60, fourEyes: [] }, defaultHost: 'h' }, pino({ level: 'silent' }), [broken]);
    await expect(engine.start({ runbook: 'broken', params: { service: 'api' }, actor: alice, channelId: null })).rejects.toThrow(/Could not prepare the command for "Change": host gone/);
    expect(store.recentRuns(1)[0]?.status).toBe('failed');
    const leaky = defineRunbook({ ...broken, id: 'leaky', steps: [{ title: 'Change', mutates: true, plan: () => Promise.reject(new Error('DB_PASSWORD=hunter2secret')), run: async () => ({ ok: true, summary: '' }) }] }) as AnyRunbook;
    const engine2 = new Engine(store, new Map([['h', host]]), { gates: { expiryMinutes: 5, rollbackWindowMinutes: 60, fourEyes: [] }, defaultHost: 'h' }, pino({ level: 'silent' }), [leaky]);
    await expect(engine2.start({ runbook: 'leaky', params: { service: 'api' }, actor: alice, channelId: null })).rejects.toThrow();
    expect(store.recentRuns(1)[0]?.error).toContain('DB_PASSWORD=[redacted]');
    expect(JSON.stringify(store.recentRuns(5))).not.toContain('hunter2secret');
    await expect(engine.start({ runbook: 'broken', params: { service: 'api' }, actor: alice, channelId: null })).rejects.toThrow(/Could not prepare/);
  });

  it('prunes old outputs but keeps the audit of the run', async () => {
    const { engine, db } = setup();
    const view = await engine.start({ runbook: 'bounce', params: { service: 'api' }, actor: alice, channelId: null });
    const store = new Store(db);
    expect(store.pruneOutputs(Date.now() + 1000)).toBe(1);
    expect(store.getOutput(view.blocks[0]!.outputId)).toBeUndefined();
    expect(store.stepsOf(view.runId)[0]?.summary).toBe('looked');
    expect(engine.view(view.runId).blocks).toEqual([]);
  });

  it('a gate survives a new engine on the same database (a restart)', async () => {
    const first = setup();
    const view = await first.engine.start({ runbook: 'bounce', params: { service: 'api' }, actor: alice, channelId: null });
    const second = setup(first.db);
    expect((await second.engine.decide(view.runId, 1, 'confirm', alice)).status).toBe('succeeded');
    expect(bounces(second.transport)).toEqual(['bounce api']);
  });

  it('a gate decision is all or nothing: a failure part-way leaves the gate open and the run awaiting it', async () => {
    const { engine, db, transport } = setup();
    const view = await engine.start({ runbook: 'bounce', params: { service: 'api' }, actor: alice, channelId: null });
    // The approval write fails after the claim (disk full, I/O error…).
    db.exec(`CREATE TEMP TRIGGER fail_approval BEFORE INSERT ON approvals WHEN NEW.accepted = 1 BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`);
    expect(() => engine.authorize(view.runId, 1, 'confirm', bob)).toThrow(/disk I\/O error/);
    const store = new Store(db);
    expect(store.getGate(view.runId, 1)?.state).toBe('open');
    expect(store.getRun(view.runId)?.status).toBe('awaiting_confirmation');
    db.exec('DROP TRIGGER fail_approval');
    expect((await engine.decide(view.runId, 1, 'confirm', bob)).status).toBe('succeeded');
    expect(bounces(transport)).toEqual(['bounce api']);
  });

  it('at start, a run awaiting a gate that is no longer open is failed and frees its target', async () => {
    const { engine, db } = setup();
    const view = await engine.start({ runbook: 'bounce', params: { service: 'api' }, actor: alice, channelId: null });
    // What an older version could leave behind: the gate claimed, the run still waiting on it.
    db.exec(`UPDATE gates SET state = 'confirmed'`);
    await expect(engine.start({ runbook: 'bounce', params: { service: 'api' }, actor: alice, channelId: null })).rejects.toThrow(/already running/);
    const store = new Store(db);
    expect(store.failInterruptedRuns()).toBe(1);
    expect(store.getRun(view.runId)?.error).toMatch(/confirmation was no longer open/);
    expect((await engine.start({ runbook: 'bounce', params: { service: 'api' }, actor: alice, channelId: null })).status).toBe('awaiting_confirmation');
  });

  it('the expiry sweep survives a gate it cannot handle and expires the others', async () => {
    const { engine, db } = setup();
    const a = await engine.start({ runbook: 'bounce', params: { service: 'api' }, actor: alice, channelId: null });
    const b = await engine.start({ runbook: 'bounce', params: { service: 'web' }, actor: alice, channelId: null });
    // A pending gate whose runbook an upgrade removed.
    db.exec(`UPDATE runs SET runbook = 'gone' WHERE id = '${a.runId}'`);
    const expired = engine.expireDue(Date.now() + 10 * 60_000);
    expect(expired.map((e) => e.gate.run_id)).toEqual([b.runId]);
    expect(new Store(db).getRun(a.runId)?.status).toBe('expired');
  });

  it('accepts Roll back only for a failed run that is still the newest on its target, within the window', async () => {
    const flaky = defineRunbook({
      ...(bounce as ReturnType<typeof defineRunbook>),
      id: 'flaky',
      steps: [{ title: 'Break', mutates: false, run: async () => ({ ok: false, summary: 'broke' }) }],
      rollback: [{ title: 'Undo', mutates: true, plan: async ({ params }) => [['undo', (params as { service: string }).service]], run: async (ctx) => ({ ok: (await ctx.exec(['undo', (ctx.params as { service: string }).service])).exitCode === 0, summary: 'undone' }) }],
    }) as AnyRunbook;
    const db = openDatabase(':memory:');
    const host = new Host(hostSchema.parse({ name: 'h', transport: 'local', projectDir: '/p', compose: 'v1' }), new RecordingTransport());
    const engine = new Engine(new Store(db), new Map([['h', host]]), { gates: { expiryMinutes: 5, rollbackWindowMinutes: 60, fourEyes: [] }, defaultHost: 'h' }, pino({ level: 'silent' }), [flaky, bounce]);
    const start = (service: string) => engine.start({ runbook: 'flaky', params: { service }, actor: alice, channelId: null });

    const first = await start('api');
    expect(first.status).toBe('failed');
    const second = await start('api');
    await expect(engine.rollback(first.runId, alice, null)).rejects.toThrow(new RegExp(`no longer the latest on h:api: flaky \\(run ${second.runId}\\)`));
    expect((await engine.rollback(second.runId, alice, null)).status).toBe('awaiting_confirmation');

    const old = await start('web');
    db.exec(`UPDATE runs SET finished_at = finished_at - 61 * 60000 WHERE id = '${old.runId}'`);
    await expect(engine.rollback(old.runId, alice, null)).rejects.toThrow(/Roll back button works for 60 min\. Nothing was run/);
    db.exec(`UPDATE runs SET status = 'succeeded', finished_at = ${Date.now()} WHERE id = '${old.runId}'`);
    await expect(engine.rollback(old.runId, alice, null)).rejects.toThrow(/only a failed run can be rolled back/);
  });

  it('binds a Confirm to the plan its preview showed: a changed plan runs nothing and shows a fresh preview', async () => {
    let flags: string[] = [];
    const drifting = defineRunbook({
      ...(bounce as ReturnType<typeof defineRunbook>),
      id: 'drifting',
      steps: [{ title: 'Bounce', mutates: true, plan: async ({ params }) => [['bounce', (params as { service: string }).service, ...flags]], run: async (ctx) => ({ ok: (await ctx.exec(['bounce', (ctx.params as { service: string }).service, ...flags])).exitCode === 0, summary: 'bounced' }) }],
    }) as AnyRunbook;
    const transport = new RecordingTransport();
    const host = new Host(hostSchema.parse({ name: 'h', transport: 'local', projectDir: '/p', compose: 'v1' }), transport);
    const engine = new Engine(new Store(openDatabase(':memory:')), new Map([['h', host]]), { gates: { expiryMinutes: 5, rollbackWindowMinutes: 60, fourEyes: [] }, defaultHost: 'h' }, pino({ level: 'silent' }), [drifting]);
    const hashOf = (v: { actions: { id: string; label: string }[] }) => v.actions.find((a) => a.label === 'Confirm')!.id.split(':')[4];

    const preview = await engine.start({ runbook: 'drifting', params: { service: 'api' }, actor: alice, channelId: null });
    const shown = hashOf(preview);
    flags = ['--force']; // the host changed between the preview and the click
    const fresh = await engine.proceed(engine.authorize(preview.runId, 0, 'confirm', bob, shown));
    expect(fresh.status).toBe('awaiting_confirmation');
    expect(fresh.description).toMatch(/The confirmation was withdrawn: what this step would run changed since the preview; nothing was run/);
    expect(fresh.description).toContain('bounce api --force');
    expect(bounces(transport)).toEqual([]);
    // The old preview's button is refused; the fresh one runs exactly what it shows.
    expect(() => engine.authorize(preview.runId, 0, 'confirm', bob, shown)).toThrow(/changed after the preview you clicked; nothing was run/);
    const done = await engine.proceed(engine.authorize(preview.runId, 0, 'confirm', bob, hashOf(fresh)));
    expect(done.status).toBe('succeeded');
    expect(bounces(transport)).toEqual(['bounce api --force']);
  });

  it('an aborted run the database could not mark failed keeps its first error and is marked at the next sweep', async () => {
    const broken = defineRunbook({ ...(bounce as ReturnType<typeof defineRunbook>), id: 'broken', steps: [{ title: 'Change', mutates: true, plan: () => Promise.reject(new Error('host gone')), run: async () => ({ ok: true, summary: '' }) }] }) as AnyRunbook;
    const db = openDatabase(':memory:');
    const host = new Host(hostSchema.parse({ name: 'h', transport: 'local', projectDir: '/p', compose: 'v1' }), new RecordingTransport());
    const engine = new Engine(new Store(db), new Map([['h', host]]), { gates: { expiryMinutes: 5, rollbackWindowMinutes: 60, fourEyes: [] }, defaultHost: 'h' }, pino({ level: 'silent' }), [broken]);
    db.exec(`CREATE TEMP TRIGGER full_disk BEFORE UPDATE OF status ON runs WHEN NEW.status = 'failed' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    // The user still gets the real reason, not the database's.
    await expect(engine.start({ runbook: 'broken', params: { service: 'api' }, actor: alice, channelId: null })).rejects.toThrow(/Could not prepare the command for "Change": host gone/);
    const store = new Store(db);
    expect(store.recentRuns(1)[0]?.status).toBe('running');
    engine.expireDue();
    expect(store.recentRuns(1)[0]?.status).toBe('running'); // still refused: kept for the next sweep
    db.exec('DROP TRIGGER full_disk');
    engine.expireDue();
    expect(store.recentRuns(1)[0]).toMatchObject({ status: 'failed', error: expect.stringMatching(/host gone/) as unknown });
  });
});
