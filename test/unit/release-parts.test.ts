import type { Duplex } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseImageRef } from '../../runbooks/images.js';
import { hostSchema } from '../../src/config/schema.js';
import { Engine } from '../../src/engine/engine.js';
import { defineRunbook, type AnyRunbook } from '../../src/engine/runbook.js';
import type { Actor, RunView } from '../../src/engine/view.js';
import { Host } from '../../src/host/host.js';
import type { ExecOptions, ExecResult, Transport } from '../../src/host/transport.js';
import { openDatabase } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';

describe('parseImageRef: the parts deploy pulls and re-tags by', () => {
  it.each([
    ['127.0.0.1:5000/brainbytes/adonisjs:latest', { registry: '127.0.0.1:5000', repository: '127.0.0.1:5000/brainbytes/adonisjs', tag: 'latest', digest: undefined }],
    ['ghcr.io/org/app', { registry: 'ghcr.io', repository: 'ghcr.io/org/app', tag: undefined, digest: undefined }],
    ['localhost/app:1.2', { registry: 'localhost', repository: 'localhost/app', tag: '1.2', digest: undefined }],
    ['library/nginx:1.27', { registry: undefined, repository: 'library/nginx', tag: '1.27', digest: undefined }],
    ['nginx', { registry: undefined, repository: 'nginx', tag: undefined, digest: undefined }],
    [`reg.example.com:443/a/b@sha256:${'c'.repeat(64)}`, { registry: 'reg.example.com:443', repository: 'reg.example.com:443/a/b', tag: undefined, digest: `sha256:${'c'.repeat(64)}` }],
  ])('%s', (ref, parts) => {
    expect(parseImageRef(ref)).toEqual(parts);
  });
});

class Recording implements Transport {
  readonly description = 'recording';
  readonly inputs: (string | undefined)[] = [];
  async exec(argv: readonly string[], o: ExecOptions): Promise<ExecResult> {
    this.inputs.push(o.input);
    const out = argv[0] === 'docker-compose' && argv.at(-1) === 'config' ? 'services:\n  api: {}\n' : 'ok\n';
    return { argv: [...argv], exitCode: 0, signal: null, stdout: out, stderr: '', durationMs: 1, timedOut: false, truncated: false };
  }
  openDockerStream(): Promise<Duplex> {
    return Promise.reject(new Error('unused'));
  }
  onDisconnect(): void {}
  async close(): Promise<void> {}
}

const alice: Actor = { id: '1', name: 'alice', roles: ['viewer', 'operator'] };

describe('a long step reports progress; exec sends stdin', () => {
  it("the running step's line shows its latest progress (redacted) to whoever proceeds with a listener, and only while it runs", async () => {
    const transport = new Recording();
    const roll = defineRunbook({
      id: 'roll',
      title: 'Roll',
      summary: 'test',
      docs: { trigger: [], expected: [], escalation: [] },
      params: z.object({}),
      steps: [
        {
          title: 'Update',
          mutates: true,
          plan: async () => [['tee', 'x']],
          async run(ctx) {
            ctx.progress('api ⏳ recreating');
            await ctx.exec(['tee', 'x'], { input: 'API_TOKEN=supersecret123\n' });
            ctx.progress('api ✅ · token API_TOKEN=supersecret123');
            return { ok: true, summary: 'all updated' };
          },
        },
      ],
    }) as AnyRunbook;
    const host = new Host(hostSchema.parse({ name: 'h', transport: 'local', projectDir: '/p', compose: 'v1' }), transport);
    const engine = new Engine(new Store(openDatabase(':memory:')), new Map([['h', host]]), { gates: { expiryMinutes: 5, rollbackWindowMinutes: 60, fourEyes: [] }, defaultHost: 'h' }, pino({ level: 'silent' }), [roll]);
    const gate = await engine.start({ runbook: 'roll', params: {}, actor: alice, channelId: null });
    const seen: RunView[] = [];
    const done = await engine.proceed(engine.authorize(gate.runId, 0, 'confirm', alice), (v) => seen.push(v));
    expect(seen.map((v) => [v.status, v.description.split('\n')[0]])).toEqual([
      ['running', '⏳ **Update** — api ⏳ recreating'],
      ['running', '⏳ **Update** — api ✅ · token API_TOKEN=[redacted]'],
    ]);
    expect(transport.inputs.filter((i) => i !== undefined)).toEqual(['API_TOKEN=supersecret123\n']);
    expect(done.description.split('\n')[0]).toBe('✅ **Update** — all updated');
    expect(engine.view(gate.runId).description).not.toContain('⏳');
  });
});
