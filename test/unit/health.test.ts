import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import BetterSqlite3 from 'better-sqlite3';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { hostSchema } from '../../src/config/schema.js';
import { UserError } from '../../src/engine/errors.js';
import { Host } from '../../src/host/host.js';
import type { ExecOptions, ExecResult, Transport } from '../../src/host/transport.js';
import { checkHealth, probeWritable, registerHealthRoutes } from '../../src/http/health.js';
import { startHttpServer } from '../../src/http/server.js';
import { commandLabel, hostCommands, registry } from '../../src/metrics.js';

/** A link that is up or down as the test says; a probe "reconnects" when `reachable`. */
class FakeLink implements Transport {
  readonly description = 'deploy@10.0.0.9:22';
  connected = false;
  reachable = true;
  probes = 0;
  exitCode = 0;
  async exec(argv: readonly string[], _o: ExecOptions): Promise<ExecResult> {
    if (!this.reachable) throw new UserError('host.unreachable', 'Cannot connect to host "web" (deploy@10.0.0.9:22): connect ECONNREFUSED. Nothing was run.');
    return { argv: [...argv], exitCode: this.exitCode, signal: null, stdout: '', stderr: '', durationMs: 12, timedOut: false, truncated: false };
  }
  async openDockerStream(): Promise<Duplex> {
    throw new Error('no docker here');
  }
  onDisconnect(): void {}
  async close(): Promise<void> {}
  reach() {
    return { connected: this.connected, at: 0 };
  }
  async probe(): Promise<void> {
    this.probes++;
    if (!this.reachable) throw new UserError('host.unreachable', 'Cannot connect to host "web" (deploy@10.0.0.9:22): connect ECONNREFUSED 10.0.0.9:22. Nothing was run.');
    this.connected = true;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'opsbot-health-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function setup() {
  const link = new FakeLink();
  const host = new Host(hostSchema.parse({ name: 'web', transport: 'local', projectDir: '/p', compose: 'v1' }), link);
  const db = new BetterSqlite3(join(dir, `h${Math.random()}.db`));
  const state = { gateway: true };
  const deps = { gateway: () => ({ connected: state.gateway }), database: () => probeWritable(db), hosts: new Map([['web', host]]) };
  return { link, host, db, state, deps };
}

describe('health', () => {
  it('is ok with the gateway ready, a writable database and a host that answers a probe', async () => {
    const { link, deps } = setup();
    expect(await checkHealth(deps)).toEqual({ ok: true, problems: [] });
    expect(link.probes).toBe(1);
    // An open link is recent contact (keepalives); no new probe.
    expect(await checkHealth(deps)).toEqual({ ok: true, problems: [] });
    expect(link.probes).toBe(1);
  });

  it('names each thing that is wrong: the gateway, the database, the host and why', async () => {
    const { link, state, deps } = setup();
    state.gateway = false;
    link.reachable = false;
    const readOnly = new BetterSqlite3(join(dir, 'ro.db'));
    readOnly.close();
    const ro = new BetterSqlite3(join(dir, 'ro.db'), { readonly: true });
    const r = await checkHealth({ ...deps, database: () => probeWritable(ro) });
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([
      { check: 'gateway', reason: expect.stringContaining('gateway') },
      { check: 'database', reason: expect.stringMatching(/does not take writes \(SQLITE_READONLY\)/) },
      { check: 'host', host: 'web', reason: 'Cannot connect to host "web" (deploy@10.0.0.9:22): connect ECONNREFUSED 10.0.0.9:22.' },
    ]);
  });

  it('gives up on a probe that hangs after the timeout, naming the host', async () => {
    const { link, deps } = setup();
    link.probe = () => new Promise<void>(() => undefined);
    const r = await checkHealth({ ...deps, probeTimeoutMs: 50 });
    expect(r.problems).toEqual([{ check: 'host', host: 'web', reason: 'no SSH connection to host "web" (deploy@10.0.0.9:22) within 0.05 s' }]);
  });

  it('serves /healthz as 200 or 503 JSON and /metrics as Prometheus text', async () => {
    const { link, deps } = setup();
    const http = await startHttpServer('127.0.0.1:0', pino({ level: 'silent' }));
    registerHealthRoutes(http, deps);
    try {
      const ok = await fetch(`${http.url}/healthz`);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ status: 'ok' });
      link.connected = false;
      link.reachable = false;
      const bad = await fetch(`${http.url}/healthz`);
      expect(bad.status).toBe(503);
      expect(await bad.json()).toMatchObject({ status: 'unhealthy', problems: [{ check: 'host', host: 'web' }] });
      const metrics = await fetch(`${http.url}/metrics`);
      expect(metrics.headers.get('content-type')).toContain('text/plain');
      expect(await metrics.text()).toContain('# TYPE process_resident_memory_bytes gauge');
    } finally {
      await http.close();
    }
  });
});

describe('metrics', () => {
  it('counts host commands by program and outcome, failures included', async () => {
    const { link, host } = setup();
    const value = async (outcome: string) => (await hostCommands.get()).values.find((v) => v.labels.host === 'web' && v.labels.command === 'docker compose' && v.labels.outcome === outcome)?.value ?? 0;
    await host.exec(['docker', 'compose', 'ps']);
    link.exitCode = 1;
    await host.exec(['docker', 'compose', 'ps']);
    link.reachable = false;
    await expect(host.exec(['docker', 'compose', 'ps'])).rejects.toThrow();
    expect([await value('ok'), await value('exit_nonzero'), await value('host.unreachable')]).toEqual([1, 1, 1]);
    expect(await registry.getSingleMetricAsString('opsbot_host_command_duration_seconds')).toContain('opsbot_host_command_duration_seconds_count{host="web",command="docker compose"} 2');
  });

  it('labels commands by program (and docker subcommand) only, so arguments never become series', () => {
    expect(commandLabel(['docker', 'compose', '-f', 'x.yml', 'restart', 'web'])).toBe('docker compose');
    expect(commandLabel(['docker', 'inspect', 'abc123'])).toBe('docker inspect');
    expect(commandLabel(['docker-compose', '-f', 'a.yml', 'ps'])).toBe('docker-compose');
    expect(commandLabel(['/usr/bin/curl', '-sS', 'http://secret@x'])).toBe('curl');
    expect(commandLabel(['docker', '--host=tcp://x', 'ps'])).toBe('docker');
    expect(commandLabel(['sh; rm -rf /'])).toBe('other');
  });
});

describe('deploy/grafana/opsbot.json', () => {
  it('uses only metrics the bot exports', async () => {
    const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana/opsbot.json', import.meta.url), 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    expect(exprs.length).toBeGreaterThan(10);
    const exported = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    const used = new Set(exprs.flatMap((e) => e.match(/\b(?:opsbot|process|nodejs)_[a-z0-9_]+/g) ?? []).map((n) => n.replace(/_(bucket|count|sum)$/, '')));
    for (const name of used) expect(exported, name).toContain(name);
  });
});
