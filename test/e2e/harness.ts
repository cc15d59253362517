import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startApp, type App } from '../../src/app.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { startDiscordDouble, type DiscordDouble } from '../discord-double/index.js';
import { readStaging, type StagingEnv } from '../staging/staging.js';

export interface Harness {
  staging: StagingEnv;
  double: DiscordDouble;
  config: Config;
  app: App;
  /** Every log line the bot wrote (JSON), for checks that secrets never reach the log. */
  logs: string[];
  /** Stops the bot and starts a new one on the same database, as a process restart would (down for `downMs`). */
  restartBot(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  hostKeyFingerprint?: string;
  expiryMinutes?: number;
  sweepIntervalMs?: number;
  fourEyes?: boolean;
  /** Where the bot keeps its database (default: a fresh temp dir), e.g. on a small filesystem. */
  databasePath?: string;
  /**
   * Configure the staging machine this many times under different names (staging, staging-2, …):
   * separate SSH connections, caches and locks per host, on the one staging machine there is.
   */
  hostCount?: number;
  /** Extra settings of the n-th configured host (0 is `staging`), e.g. its `parts` or `prometheusUrl`. */
  hostConfig?: (n: number) => Record<string, unknown>;
  /** The `report:` section of the configuration (schedule, time zone, thresholds…). */
  report?: Record<string, unknown>;
  /** Config `alerts:` (alertname → runbook routes). */
  alerts?: { alertname: string; runbook: string; params?: Record<string, string> }[];
  /** The `fleet:` section (concurrency, hostTimeoutSeconds of runs on a group of hosts). */
  fleet?: Record<string, unknown>;
  /** The bot's log level: debug (the default, for tests that read the log), or info as in production (benchmarks). */
  logLevel?: 'debug' | 'info';
  /** OPSBOT_ALERTMANAGER_TOKEN for the bot (unset: the Alertmanager route answers 503). */
  alertmanagerToken?: string;
}

/** A host entry of opsbot.yaml (all but its name) for a staging host: the main one or a fleet member. */
export function stagingHostSettings(env: StagingEnv): Record<string, unknown> {
  return {
    transport: 'ssh',
    address: env.sshHost,
    port: env.sshPort,
    user: env.user,
    keyPath: env.keyPath,
    hostKeyFingerprint: env.hostKeyFingerprint,
    projectDir: env.projectDir,
    composeFiles: env.composeFiles,
    commandTimeoutSeconds: 60,
    healthChecks: { adonisjs: { url: `http://127.0.0.1:${env.ports.adonisjs}/health` } },
  };
}

/** The bot, in-process, wired to the Discord double and the staging host over real SSH. */
export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const staging = readStaging();
  const double = await startDiscordDouble();
  const dir = mkdtempSync(join(tmpdir(), 'opsbot-e2e-'));
  const config = configSchema.parse({
    discord: { guildId: double.guild.id, alertsChannel: 'alerts', roles: { viewer: 'viewer', operator: 'operator', approver: 'approver' } },
    hosts: Array.from({ length: opts.hostCount ?? 1 }, (_, n) => ({
        name: n === 0 ? 'staging' : `staging-${n + 1}`,
        ...stagingHostSettings(staging),
        ...(opts.hostKeyFingerprint === undefined ? {} : { hostKeyFingerprint: opts.hostKeyFingerprint }),
        ...opts.hostConfig?.(n),
      })),
    gates: { expiryMinutes: opts.expiryMinutes ?? 5, fourEyes: opts.fourEyes === true ? ['restart'] : [] },
    database: { path: opts.databasePath ?? join(dir, 'opsbot.db') },
    ...(opts.report ? { report: opts.report } : {}),
    ...(opts.fleet ? { fleet: opts.fleet } : {}),
    http: { listen: '127.0.0.1:0' },
    alerts: opts.alerts ?? [],
    log: { level: opts.logLevel ?? 'debug' },
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(...chunk.toString('utf8').split('\n').filter((l) => l.length > 0));
      if (process.env.OPSBOT_TEST_LOGS === '1') process.stderr.write(chunk);
      cb();
    },
  });
  const env = { DISCORD_TOKEN: double.token, DISCORD_API_URL: double.apiUrl, OPSBOT_CONFIG: '', ...(opts.alertmanagerToken === undefined ? {} : { OPSBOT_ALERTMANAGER_TOKEN: opts.alertmanagerToken }) };
  const log = createLogger(opts.logLevel ?? 'debug', sink);
  const start = () => startApp(config, env, log, { sweepIntervalMs: opts.sweepIntervalMs ?? 500 });
  const h: Harness = {
    staging,
    double,
    config,
    logs,
    app: await start(),
    async restartBot(downMs = 0) {
      await h.app.stop();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      h.app = await start();
    },
    async stop() {
      await h.app.stop();
      await double.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}
