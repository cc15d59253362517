import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { prometheusConfig, startAlertmanager, startPrometheus, type Daemon, type PrometheusDaemon } from '../support/prometheus.js';
import { hostDocker, serviceContainerIds } from '../staging/staging.js';
import { alertMessages } from './alerts-util.js';
import { useBot } from './suite.js';
import { buttonId, buttonsOf, textOf } from './util.js';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
const TOKEN = 'e2e-prometheus-alertmanager-token-77a1';

/**
 * A blackbox-style probe of the staging adonisjs health URL, in Prometheus format: what
 * blackbox_exporter would answer (probe_success 1 when /health answers 2xx), kept in the test
 * because Debian's blackbox exporter is not installed here.
 */
async function startProbe(healthUrl: string): Promise<{ server: Server; target: string }> {
  const server = createServer((req, res) => {
    void (async () => {
      let ok = 0;
      try {
        ok = (await fetch(healthUrl, { signal: AbortSignal.timeout(500) })).ok ? 1 : 0;
      } catch {
        ok = 0;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(`# TYPE probe_success gauge\nprobe_success ${ok}\n`);
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, target: `127.0.0.1:${(server.address() as { port: number }).port}` };
}

describe('real Prometheus → Alertmanager → bot → button → runbook → resolved', () => {
  const h = useBot({ alertmanagerToken: TOKEN, alerts: [{ alertname: 'ServiceDown', runbook: 'restart', params: { service: '{{ $labels.job }}' } }] });
  let dir: string;
  let probe: { server: Server; target: string };
  let am: Daemon;
  let prom: PrometheusDaemon;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opsbot-alerts-e2e-'));
    probe = await startProbe(`http://127.0.0.1:${h.staging.ports.adonisjs}/health`);
    // The example rule, fired at once instead of after a minute.
    const rules = parse(readFileSync(join(DEPLOY, 'prometheus', 'rules.yml'), 'utf8')) as { groups: { rules: { alert: string; for?: string }[] }[] };
    for (const g of rules.groups) g.rules = g.rules.filter((r) => r.alert === 'ServiceDown').map((r) => ({ ...r, for: '0s' }));
    writeFileSync(join(dir, 'rules.yml'), stringify(rules));
    // The example receiver, pointed at this bot with this token, with second-long timings.
    writeFileSync(join(dir, 'token'), TOKEN);
    const amDoc = parse(readFileSync(join(DEPLOY, 'alertmanager', 'alertmanager.yml'), 'utf8')) as {
      route: Record<string, unknown>;
      receivers: { name: string; webhook_configs: { url: string; http_config: { authorization: { credentials_file: string } } }[] }[];
    };
    Object.assign(amDoc.route, { group_wait: '1s', group_interval: '1s', repeat_interval: '1h' });
    const hook = amDoc.receivers.find((r) => r.name === 'opsbot')!.webhook_configs[0]!;
    hook.url = `${h.app.http.url}/alerts/alertmanager`;
    hook.http_config.authorization.credentials_file = join(dir, 'token');
    am = await startAlertmanager({ config: stringify(amDoc) });
    const promDoc = parse(prometheusConfig({ target: `127.0.0.1:${h.app.http.port}`, alertmanager: `127.0.0.1:${am.port}`, ruleFiles: [join(dir, 'rules.yml')] })) as { scrape_configs: unknown[] };
    promDoc.scrape_configs.push({ job_name: 'adonisjs', scrape_interval: '1s', static_configs: [{ targets: [probe.target] }] });
    prom = await startPrometheus({ config: stringify(promDoc) });
    await prom.waitFor('probe_success{job="adonisjs"}', (r) => r[0]?.value === 1);
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
    await am?.stop();
    await new Promise<void>((r) => (probe ? probe.server.close(() => r()) : r()));
    // Whatever happened above, leave adonisjs running for the next suite.
    const [id] = await serviceContainerIds('adonisjs');
    if (id) await hostDocker(['start', id]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('adonisjs down fires ServiceDown; its restart button, confirmed, fixes it; the same message turns resolved', async () => {
    const [id] = await serviceContainerIds('adonisjs');
    await hostDocker(['stop', '-t', '2', id!]);

    const firing = await h.double.waitForChannelMessage('alerts', (m) => /Firing: ServiceDown/.test(m.embeds?.[0]?.title ?? ''), { timeoutMs: 30_000 });
    const embed = firing.embeds![0]!;
    expect(embed.color).toBe(0xe74c3c);
    expect(embed.url).toMatch(/^http:\/\/[^/]+\/graph\?g0\.expr=probe_success/);
    const text = textOf(firing);
    expect(text).toContain('adonisjs does not answer its health check');
    expect(text).toContain('job=adonisjs');
    expect(text).toMatch(/Started\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    expect(text).toContain('[runbook_url](https://github.com/example/opsbot/blob/main/docs/runbooks.md#restart)');
    expect(buttonsOf(firing).map((b) => b.label)).toContain('▶ restart adonisjs');

    // The button starts the mapped runbook through its usual gate; the run says where it came from.
    const click = h.double.clickButton({ message: firing, customId: buttonId(firing, '▶ restart adonisjs'), member: 'operator' });
    const gate = await click.waitForReply((m) => buttonsOf(m).some((b) => b.label === 'Confirm'));
    expect(textOf(gate)).toContain('Started from alert ServiceDown');
    const confirm = h.double.clickButton({ message: gate, customId: buttonId(gate, 'Confirm'), member: 'operator' });
    const done = await confirm.waitForUpdate((m) => /Verify/.test(textOf(m)) && !/waiting/.test(textOf(m)), { timeoutMs: 60_000 });
    expect(textOf(done)).toMatch(/✅ \*\*Verify\*\* — healthy/);

    // Prometheus sees it healthy, Alertmanager sends the resolution: the same message is edited.
    const resolved = await h.double.waitForChannelMessage('alerts', (m) => m.id === firing.id && /Resolved: ServiceDown/.test(m.embeds?.[0]?.title ?? ''), { timeoutMs: 30_000 });
    expect(resolved.embeds![0]!.color).toBe(0x2ecc71);
    expect(textOf(resolved)).toMatch(/Resolved\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    expect(alertMessages(h.double)).toHaveLength(1);
    const history = h.double.messageHistory(firing.id).map((m) => m.embeds?.[0]?.title ?? '');
    expect(history[0]).toMatch(/Firing/);
    expect(history.at(-1)).toMatch(/Resolved/);
  }, 120_000);
});
