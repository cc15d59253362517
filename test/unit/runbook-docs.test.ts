import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runbooks } from '../../runbooks/index.js';
import { errorLines, firingAlerts } from '../../runbooks/health.js';
import { runbooksMarkdown } from '../../src/engine/catalog.js';

describe('docs/runbooks.md', () => {
  it('is what `npm run docs` makes from the runbook definitions (run it after changing a runbook)', () => {
    const committed = readFileSync(new URL('../../docs/runbooks.md', import.meta.url), 'utf8');
    expect(committed, 'docs/runbooks.md is stale: run `npm run docs` and commit it').toBe(runbooksMarkdown(runbooks));
  });

  it('documents every runbook with its seed section and marks the steps that change the host', () => {
    const md = runbooksMarkdown(runbooks);
    for (const r of runbooks) {
      expect(md).toContain(`## ${r.id}\n`);
      expect(md).toContain(`**Seed section:** ${r.docs.seedSection ?? 'missing'}`);
    }
    expect(md).toMatch(/## restart[\s\S]*2\. Restart — \*\*changes the host\*\*/);
  });
});

describe('health runbook parsing', () => {
  it('counts error lines (seed: grep -i error) and keeps the newest samples', () => {
    const log = ['ok', 'Error: boom 1', 'fine', '{"s":"E","msg":"x"}', 'ERROR again', 'FATAL: disk', 'terrors and mirrors'].join('\n');
    const c = errorLines('app', log, 2);
    expect(c.count).toBe(4);
    expect(c.samples).toEqual(['ERROR again', 'FATAL: disk']);
  });

  it("lists only firing alerts from Prometheus' /api/v1/alerts, and rejects another body", () => {
    const body = JSON.stringify({
      status: 'success',
      data: {
        alerts: [
          { state: 'firing', labels: { alertname: 'HighCPU', severity: 'critical', instance: 'vps-1' }, annotations: { summary: 'CPU > 80%' }, activeAt: '2026-01-01T00:00:00Z' },
          { state: 'pending', labels: { alertname: 'DiskSoon' }, annotations: {} },
        ],
      },
    });
    expect(firingAlerts(body)).toEqual(['HighCPU [critical] instance=vps-1 — CPU > 80% (since 2026-01-01T00:00:00Z)']);
    expect(() => firingAlerts('<html>')).toThrow();
    expect(() => firingAlerts('{"status":"success"}')).toThrow();
  });
});
