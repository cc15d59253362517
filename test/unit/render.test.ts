import type { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { renderView } from '../../src/discord/render.js';
import type { RunView } from '../../src/engine/view.js';
import { FormErrors } from '../discord-double/errors.js';
import { validateMessageBody } from '../discord-double/limits.js';

/** What the bot really sends: builders turned to JSON, as discord.js does before the request. */
function wire(view: RunView) {
  const m = renderView(view);
  return {
    body: { content: m.content, embeds: m.embeds, components: m.components.map((c) => c.toJSON()), allowed_mentions: m.allowedMentions },
    files: m.files.map((f) => ({ name: f.name, size: (f.attachment as Buffer).length })),
  };
}

function violations(view: RunView): string[] {
  const { body, files } = wire(view);
  const errors = new FormErrors();
  validateMessageBody(errors, body as never, { files: files.length });
  return errors.flat;
}

const base: RunView = {
  runId: 'rAbC123',
  title: 'Restart adonisjs',
  status: 'awaiting_confirmation',
  description: '✅ **Current state** — running (Up 3 hours)\n⏸️ **Restart** — waiting for confirmation\n\n**This will run on `production`:**\n```\ndocker-compose -f docker/compose.prod.yml restart adonisjs\n```',
  fields: [],
  blocks: [],
  actions: [
    { id: 'gate:rAbC123:1:confirm', label: 'Confirm', style: 'danger' },
    { id: 'gate:rAbC123:1:cancel', label: 'Cancel', style: 'secondary' },
  ],
  footer: 'run rAbC123 · production · requested by alice',
  gate: { stepIdx: 1, expiresAt: Date.UTC(2026, 10, 23, 9, 5), fourEyes: false },
};

describe('rendering a RunView as a Discord message', () => {
  it('a confirmation gate (golden)', async () => {
    await expect(JSON.stringify(wire(base), null, 2)).toMatchFileSnapshot('__snapshots__/gate.golden.json');
  });

  it('a verified restart with inline log lines (golden)', async () => {
    const view: RunView = {
      ...base,
      status: 'succeeded',
      description: '✅ **Current state** — running\n✅ **Restart** — restarted in 1.2 s\n✅ **Verify** — healthy',
      fields: [{ name: 'Verification', value: 'running since 2026-11-23T09:00:00Z\nhealthcheck: healthy\nhttp://127.0.0.1:3333/health: HTTP 200' }],
      blocks: [{ outputId: 'oXyZ', title: 'adonisjs: last 20 log lines', text: 'GET /health 200\nGET /health 200' }],
      actions: [{ id: 'logs:production:adonisjs', label: 'Logs', style: 'secondary' }],
      footer: 'run rAbC123 · production · requested by alice · confirmed by bob',
    };
    delete view.gate;
    await expect(JSON.stringify(wire(view), null, 2)).toMatchFileSnapshot('__snapshots__/restart-succeeded.golden.json');
  });

  it('paginates long output and attaches it in full', () => {
    const text = Array.from({ length: 20_000 }, (_, i) => `line ${i}`).join('\n');
    const { body, files } = wire({ ...base, status: 'succeeded', actions: [], blocks: [{ outputId: 'o1', title: 'adonisjs logs', text }] });
    expect(body.embeds[1]?.footer?.text).toMatch(/^page 1\/\d+ · full output attached as adonisjs-logs\.txt$/);
    expect(files).toEqual([{ name: 'adonisjs-logs.txt', size: Buffer.byteLength(text) }]);
  });

  it('gzips output too large for a Discord file, losing nothing, off the event loop (a stream)', async () => {
    const text = Array.from({ length: 200_000 }, (_, i) => `2026-11-23T09:00:00Z request ${i} took ${i % 97} ms`).join('\n');
    expect(Buffer.byteLength(text)).toBeGreaterThan(8 * 1024 * 1024);
    const m = renderView({ ...base, status: 'succeeded', actions: [], blocks: [{ outputId: 'o1', title: 'adonisjs logs', text }] });
    expect(m.files[0]?.name).toBe('adonisjs-logs.txt.gz');
    const data = Buffer.concat(await (m.files[0]!.attachment as Readable).toArray());
    expect(data.length).toBeLessThan(10 * 1024 * 1024);
    expect(gunzipSync(data).toString('utf8')).toBe(text);
    expect(m.embeds[1]?.footer?.text).toMatch(/attached as adonisjs-logs\.txt\.gz$/);
  });

  it('stays within every Discord limit for outsized and hostile views', () => {
    const huge = 'é'.repeat(50_000);
    const view: RunView = {
      ...base,
      title: 'T'.repeat(1000),
      description: `${'d'.repeat(9000)} @everyone \`\`\``,
      fields: Array.from({ length: 40 }, (_, i) => ({ name: `n${i}${'x'.repeat(400)}`, value: 'v'.repeat(3000) })),
      blocks: [
        { outputId: 'o1', title: 'B'.repeat(500), text: huge },
        { outputId: 'o2', title: 'second', text: 'x\n'.repeat(10_000) },
        { outputId: 'o3', title: 'third', text: '```'.repeat(2000) },
      ],
      actions: Array.from({ length: 8 }, (_, i) => ({ id: `gate:r:${i}:confirm`, label: 'L'.repeat(200), style: 'primary' as const })),
      footer: 'f'.repeat(5000),
    };
    expect(violations(view)).toEqual([]);
    expect(wire(view).files.map((f) => f.name)).toEqual([`${'b'.repeat(60)}.txt`, 'second.txt', 'third.txt']);
  });
});
