import { describe, expect, it } from 'vitest';
import { sendText, startHttpServer } from '../../src/http/server.js';
import { pino } from 'pino';
import { prometheusConfig, startAlertmanager, startPrometheus } from './prometheus.js';

describe('prometheus launcher', () => {
  it('scrapes a target with deploy/prometheus/prometheus.yml and answers a query', async () => {
    const target = await startHttpServer('127.0.0.1:0', pino({ level: 'silent' }));
    target.route('GET', '/metrics', (_req, res) => sendText(res, 200, '# TYPE probe_value gauge\nprobe_value 42\n', 'text/plain; version=0.0.4'));
    const prom = await startPrometheus({ config: prometheusConfig({ target: `127.0.0.1:${target.port}` }) });
    try {
      const r = await prom.waitFor('probe_value{job="opsbot"}', (v) => v.length === 1);
      expect(r[0]?.value).toBe(42);
    } finally {
      await prom.stop();
      await target.close();
    }
  });
  it('starts alertmanager on loopback', async () => {
    const am = await startAlertmanager({ config: 'route:\n  receiver: none\nreceivers:\n  - name: none\n' });
    try {
      const res = await fetch(`${am.url}/api/v2/status`);
      expect(res.status).toBe(200);
    } finally {
      await am.stop();
    }
  });
});
