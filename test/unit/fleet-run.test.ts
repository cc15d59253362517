import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/engine/errors.js';
import { runOnFleet, type FleetOptions } from '../../src/engine/fleet.js';
import { mapLimit } from '../../src/map-limit.js';
import type { RunView } from '../../src/engine/view.js';

const log = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const view = (runId: string, status: RunView['status'], description: string): RunView => ({
  runId,
  title: 'Compose services',
  status,
  description,
  fields: [{ name: 'adonisjs', value: '🟢 running\nhealth: healthy' }],
  blocks: [{ outputId: `o-${runId}`, title: 'Services', text: 'adonisjs running' }],
  actions: [],
  footer: '',
});

function options(behaviour: Record<string, (runId: string) => Promise<RunView>>, over: Partial<FleetOptions> = {}): FleetOptions {
  return {
    concurrency: 8,
    hostTimeoutMs: 300,
    title: 'Compose services',
    log,
    start: (host, runId) => behaviour[host]!(runId),
    reachable: (host) => host !== 'down',
    ...over,
  };
}

describe('fleet runs', () => {
  it('mapLimit keeps the order and never runs more than the limit at once', async () => {
    let now = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (n) => {
      peak = Math.max(peak, ++now);
      await sleep(n * 5);
      now--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30, 0]);
    expect(peak).toBe(2);
  });

  it('sorts hosts into ok, failing, unreachable and timed out, with the summary on top and a section per host', async () => {
    const o = options({
      good: async (id) => view(id, 'succeeded', '✅ **Read service states** — all 5 services running'),
      bad: async (id) => view(id, 'failed', '❌ **Read service states** — compose config exited 1'),
      down: async (id) => view(id, 'failed', '❌ **Read service states** — Cannot connect'),
      refused: async () => {
        throw new UserError('host.unreachable', 'Cannot connect to host "refused": ECONNREFUSED. Nothing was run.');
      },
      parts: async () => {
        throw new UserError('runbook.missing-part', '`config-drift` cannot run on host "parts": no service `postgres`. Nothing was run.');
      },
      slow: async (id) => {
        await sleep(2_000);
        return view(id, 'succeeded', 'late');
      },
    });
    const started = Date.now();
    const v = await runOnFleet({ kind: 'all', name: 'all', hosts: ['good', 'bad', 'down', 'refused', 'parts', 'slow'] }, o);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(v.title).toBe('Compose services · all 6 hosts');
    expect(v.status).toBe('failed');
    const [summary, ...lines] = v.description.split('\n');
    expect(summary).toBe('**1 ok · 2 failing · 3 unreachable** (1 timed out)');
    expect(lines.map((l) => l.split(' · ')[0])).toEqual(['✅ `good` ok', '❌ `bad` failing', '🔌 `down` unreachable', '🔌 `refused` unreachable', '❌ `parts` failing', '⌛ `slow` no answer within 0.3 s']);
    expect(v.fields.map((f) => f.name)).toEqual(['✅ good', '❌ bad', '🔌 down', '🔌 refused', '❌ parts', '⌛ slow']);
    expect(v.fields[0]!.value).toBe('✅ **Read service states** — all 5 services running\n**adonisjs**: 🟢 running · health: healthy');
    expect(v.fields[3]!.value).toMatch(/ECONNREFUSED/);
    expect(v.fields[5]!.value).toMatch(/^no answer within 0.3 s; its run goes on \(\/audit run:r[A-Za-z0-9_-]{8}\)$/);
    // Every host's outputs, named by host; nothing of a host that did not answer.
    expect(v.blocks.map((b) => b.title)).toEqual(['good: Services', 'bad: Services', 'down: Services']);
  });

  it('all hosts ok is a success', async () => {
    const ok = async (id: string) => view(id, 'succeeded', 'fine');
    const v = await runOnFleet({ kind: 'group', name: 'production', hosts: ['a', 'b'] }, options({ a: ok, b: ok }));
    expect(v.status).toBe('succeeded');
    expect(v.title).toBe('Compose services · group production (2 hosts)');
    expect(v.description.split('\n')[0]).toBe('**2 ok · 0 failing · 0 unreachable**');
  });

  it('the timeout counts per host from its own start: a host waiting for a slot is not timed out by the wait', async () => {
    const after = (ms: number) => async (id: string) => {
      await sleep(ms);
      return view(id, 'succeeded', 'fine');
    };
    const v = await runOnFleet({ kind: 'all', name: 'all', hosts: ['a', 'b', 'c'] }, options({ a: after(200), b: after(200), c: after(200) }, { concurrency: 1, hostTimeoutMs: 350 }));
    expect(v.description.split('\n')[0]).toBe('**3 ok · 0 failing · 0 unreachable**');
  });
});
