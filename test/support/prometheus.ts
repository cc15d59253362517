/**
 * Debian's `prometheus` and `prometheus-alertmanager` for tests: each runs on 127.0.0.1 on a free
 * port with its own temporary data directory, is waited for until `/-/ready` answers, and is
 * stopped by its pid (SIGTERM, then SIGKILL). Nothing listens beyond loopback: Alertmanager's
 * cluster port is disabled.
 *
 * ```ts
 * const prom = await startPrometheus({ config: prometheusConfig({ target: `127.0.0.1:${app.http.port}` }) });
 * const v = await prom.query('sum(opsbot_interactions_total)');
 * await prom.stop();
 * ```
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

export interface Daemon {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  pid: number;
  dataDir: string;
  /** The last few KB of its stderr/stdout, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface PrometheusDaemon extends Daemon {
  /** An instant query through the HTTP API; the vector's samples as numbers by their labels. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: number }>>;
  /** Polls `query` until `check` accepts its result (default timeout 20 s); returns that result. */
  waitFor(promql: string, check: (r: Array<{ metric: Record<string, string>; value: number }>) => boolean, timeoutMs?: number): Promise<Array<{ metric: Record<string, string>; value: number }>>;
}

/** A TCP port free on 127.0.0.1 right now (the daemon start retries if another process takes it). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));

/**
 * deploy/prometheus/prometheus.yml with the opsbot job pointed at `target` (host:port), scraped
 * every `scrapeInterval` (tests want 1s), as YAML text. `alertmanager` (host:port) adds it as
 * the alerting target; `ruleFiles` are absolute paths.
 */
export function prometheusConfig(opts: { target: string; scrapeInterval?: string; alertmanager?: string; ruleFiles?: string[] }): string {
  const doc = parse(readFileSync(join(DEPLOY, 'prometheus', 'prometheus.yml'), 'utf8')) as {
    global?: Record<string, unknown>;
    scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }>; scrape_interval?: string }>;
    alerting?: unknown;
    rule_files?: string[];
  };
  const interval = opts.scrapeInterval ?? '1s';
  doc.global = { ...doc.global, scrape_interval: interval, evaluation_interval: interval };
  const job = doc.scrape_configs.find((j) => j.job_name === 'opsbot');
  if (job === undefined) throw new Error('deploy/prometheus/prometheus.yml has no job "opsbot"');
  job.static_configs = [{ targets: [opts.target] }];
  job.scrape_interval = interval;
  if (opts.alertmanager !== undefined) doc.alerting = { alertmanagers: [{ static_configs: [{ targets: [opts.alertmanager] }] }] };
  else delete doc.alerting;
  if (opts.ruleFiles !== undefined) doc.rule_files = opts.ruleFiles;
  else delete doc.rule_files;
  return stringify(doc);
}

interface LaunchSpec {
  name: string;
  binary: string;
  args: (port: number, dataDir: string, configFile: string) => string[];
  config: string;
  configName: string;
  readyTimeoutMs: number;
}

async function launch(spec: LaunchSpec): Promise<Daemon> {
  const dataDir = mkdtempSync(join(tmpdir(), `opsbot-${spec.name}-`));
  const configFile = join(dataDir, spec.configName);
  writeFileSync(configFile, spec.config);
  let lastError: Error | undefined;
  // Another process may take the free port between freePort() and the daemon's bind: retry.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    let output = '';
    const child = spawn(spec.binary, spec.args(port, dataDir, configFile), { cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (c: Buffer) => void (output = (output + c.toString('utf8')).slice(-8000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const pid = child.pid;
    if (pid === undefined) {
      rmSync(dataDir, { recursive: true, force: true });
      throw new Error(`${spec.binary} could not be started (is it installed?)`);
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let gone = false;
    void exited.then(() => (gone = true));
    const stopChild = async () => {
      if (gone) return;
      process.kill(pid, 'SIGTERM');
      if ((await Promise.race([exited.then(() => 'exited'), sleep(10_000, 'timeout')])) === 'timeout') {
        process.kill(pid, 'SIGKILL');
        await exited;
      }
    };
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + spec.readyTimeoutMs;
    let ready = false;
    while (!gone && Date.now() < deadline) {
      try {
        const res = await fetch(`${url}/-/ready`);
        if (res.ok) {
          ready = true;
          break;
        }
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    if (ready) {
      return {
        url,
        port,
        pid,
        dataDir,
        output: () => output,
        async stop() {
          await stopChild();
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    }
    await stopChild();
    lastError = new Error(`${spec.name} on ${url} was not ready within ${spec.readyTimeoutMs} ms: ${output.trim().slice(-1500)}`);
    if (!/address already in use/i.test(output)) break;
  }
  rmSync(dataDir, { recursive: true, force: true });
  throw lastError ?? new Error(`${spec.name} did not start`);
}

/** Starts Prometheus with `config` (YAML text, e.g. from `prometheusConfig`). */
export async function startPrometheus(opts: { config: string; binary?: string }): Promise<PrometheusDaemon> {
  const d = await launch({
    name: 'prometheus',
    binary: opts.binary ?? 'prometheus',
    configName: 'prometheus.yml',
    config: opts.config,
    readyTimeoutMs: 30_000,
    args: (port, dataDir, configFile) => [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dataDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
  });
  const query: PrometheusDaemon['query'] = async (promql) => {
    const res = await fetch(`${d.url}/api/v1/query?${new URLSearchParams({ query: promql })}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== 'success' || body.data === undefined) throw new Error(`prometheus query ${promql} failed: ${body.error ?? res.status}`);
    if (body.data.resultType !== 'vector') throw new Error(`prometheus query ${promql} gave a ${body.data.resultType}, not a vector`);
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  return {
    ...d,
    query,
    async waitFor(promql, check, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let last: Awaited<ReturnType<typeof query>> = [];
      while (Date.now() < deadline) {
        last = await query(promql);
        if (check(last)) return last;
        await sleep(250);
      }
      throw new Error(`prometheus: ${promql} did not reach the expected value within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    },
  };
}

/** Starts Alertmanager with `config` (YAML text); clustering is off so it binds one loopback port. */
export async function startAlertmanager(opts: { config: string; binary?: string }): Promise<Daemon> {
  return launch({
    name: 'alertmanager',
    binary: opts.binary ?? 'prometheus-alertmanager',
    configName: 'alertmanager.yml',
    config: opts.config,
    readyTimeoutMs: 30_000,
    args: (port, dataDir, configFile) => [
      `--config.file=${configFile}`,
      `--storage.path=${join(dataDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
  });
}
