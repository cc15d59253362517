import type { Duplex } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { hostSchema } from '../../src/config/schema.js';
import { Engine } from '../../src/engine/engine.js';
import { defineRunbook, type AnyRunbook } from '../../src/engine/runbook.js';
import type { Actor } from '../../src/engine/view.js';
import { Host } from '../../src/host/host.js';
import type { ExecResult, Transport } from '../../src/host/transport.js';
import { openDatabase } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';

const transport: Transport = {
  description: 'answers every command with exit 0',
  exec: async (argv): Promise<ExecResult> => ({ argv: [...argv], exitCode: 0, signal: null, stdout: argv.at(-1) === 'config' ? 'services:\n  api: {}\n' : '', stderr: '', durationMs: 1, timedOut: false, truncated: false }),
  openDockerStream: (): Promise<Duplex> => Promise.reject(new Error('unused')),
  onDisconnect: () => undefined,
  close: async () => undefined,
};

const scale = defineRunbook({
  id: 'scale-up',
  title: 'Scale up',
  summary: 'test runbook',
  docs: { trigger: [], expected: [], escalation: [] },
  params: z.object({ service: z.string(), replicas: z.number(), before: z.number().optional() }),
  internalParams: ['before'],
  steps: [{ title: 'Scale', mutates: true, run: async () => ({ ok: true, summary: 'scaled' }) }],
}) as AnyRunbook;

const alice: Actor = { id: '1', name: 'alice', roles: ['viewer', 'operator'] };

describe('an expired confirmation', () => {
  it('says when and after how long, and the command that starts it again: /runbook <id> when the runbook has no command of its own', async () => {
    const host = new Host(hostSchema.parse({ name: 'h', transport: 'local', projectDir: '/p', compose: 'v1' }), transport);
    const gates = { expiryMinutes: 5, rollbackWindowMinutes: 60, fourEyes: [] };
    const engine = new Engine(new Store(openDatabase(':memory:')), new Map([['h', host]]), { gates, defaultHost: 'h' }, pino({ level: 'silent' }), [scale]);
    engine.commandAliases = new Set(['restart', 'runbook']);
    const view = await engine.start({ runbook: 'scale-up', params: { service: 'api', replicas: 3, before: 1 }, actor: alice, channelId: null });
    const [expired] = engine.expireDue(Date.now() + 6 * 60_000);
    const at = new Date(expired!.gate.expires_at).toISOString().slice(11, 16);
    expect(() => engine.authorize(view.runId, 0, 'confirm', alice)).toThrow(`This confirmation expired at ${at} UTC (after 5 min); nothing was run. Start again with /runbook scale-up api replicas:3.`);
  });
});
