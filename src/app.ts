import type { Logger } from 'pino';
import { buildCommands } from '../commands/index.js';
import { runbooks } from '../runbooks/index.js';
import { startAlertIntake } from './alerts/index.js';
import type { Config, Env } from './config/schema.js';
import { startDiscordBot, type DiscordBot } from './discord/bot.js';
import { ChannelPublisher } from './discord/publisher.js';
import { Engine } from './engine/engine.js';
import type { Publisher } from './engine/publish.js';
import { addSecret } from './engine/redact.js';
import { createHost, loadHostClients, type Host } from './host/index.js';
import { probeWritable, registerHealthRoutes } from './http/health.js';
import { startHttpServer, type HttpServer } from './http/server.js';
import { Reporter, SCHEDULER } from './report/reporter.js';
import { startReportSchedule, type ReportSchedule } from './report/schedule.js';
import { ReportStore } from './store/reports.js';
import { openDatabase } from './store/db.js';
import { Store } from './store/store.js';

export interface App {
  engine: Engine;
  store: Store;
  hosts: Map<string, Host>;
  discord: DiscordBot;
  /** The HTTP server on `http.listen`; modules add their routes with `app.http.route(…)`. */
  http: HttpServer;
  /** Unprompted posts (reports, alerts) to the alerts channel. */
  publisher: Publisher;
  /** Health reports (`/report`, the schedule) and their schedule. */
  reporter: Reporter;
  reportSchedule: ReportSchedule;
  stop(): Promise<void>;
}

/** The composition root: config → store → hosts → engine → Discord adapter. */
export async function startApp(config: Config, env: Env, log: Logger, options: { sweepIntervalMs?: number } = {}): Promise<App> {
  addSecret(env.DISCORD_TOKEN);
  if (env.OPSBOT_ALERTMANAGER_TOKEN !== undefined) addSecret(env.OPSBOT_ALERTMANAGER_TOKEN);
  // First, so a taken port stops the bot before it logs in anywhere.
  const http = await startHttpServer(config.http.listen, log.child({ component: 'http' }));
  let db;
  try {
    db = openDatabase(config.database.path);
  } catch (err) {
    await http.close();
    throw err;
  }
  const store = new Store(db);
  const interrupted = store.failInterruptedRuns();
  if (interrupted > 0) log.warn({ interrupted }, 'runs interrupted by the last stop were marked failed');
  const prune = () => {
    try {
      const removed = store.pruneOutputs(Date.now() - config.database.keepOutputDays * 86_400_000);
      if (removed > 0) log.info({ removed, keepOutputDays: config.database.keepOutputDays }, 'old outputs pruned');
    } catch (err) {
      // A busy or full database must not take the bot down from a timer; the next hour retries.
      log.error({ err }, 'pruning old outputs failed');
    }
  };
  prune();
  const pruneTimer = setInterval(prune, 3_600_000).unref();
  const hosts = new Map(config.hosts.map((h) => [h.name, createHost(h)]));
  const engine = new Engine(store, hosts, config, log.child({ component: 'engine' }), runbooks);
  // /healthz answers from now on: "gateway not ready" until Discord is up.
  const gateway = { now: (): { connected: boolean } => ({ connected: false }) };
  registerHealthRoutes(http, { gateway: () => gateway.now(), database: () => probeWritable(store.db), hosts });
  // The reporter is made once Discord is up (it posts there); /report reads it through this getter.
  const made: { reporter?: Reporter } = {};
  const commands = buildCommands([...hosts.keys()], { fourEyes: config.gates.fourEyes, reporter: () => made.reporter });
  engine.commandAliases = new Set(commands.map((c) => c.data.name));
  let discord: DiscordBot;
  try {
    discord = await startDiscordBot({ token: env.DISCORD_TOKEN, apiUrl: env.DISCORD_API_URL, config, engine, store, commands, log: log.child({ component: 'discord' }), ...options });
  } catch (err) {
    await Promise.all([...hosts.values()].map((h) => h.close()));
    db.close();
    await http.close();
    throw err;
  }
  // Now, not on the first command: see loadHostClients. After Discord is up, because loaded
  // during the login it left the idle RSS ~5 MB higher in some starts.
  loadHostClients(config.hosts);
  gateway.now = () => discord.gateway();
  const publisher = new ChannelPublisher(discord.client, () => discord.access.alertsChannelId, log.child({ component: 'publisher' }));
  startAlertIntake({ http, engine, publisher, store, config, token: env.OPSBOT_ALERTMANAGER_TOKEN, runbookIds: new Set(runbooks.map((r) => r.id)), log: log.child({ component: 'alerts' }) });
  const reports = new ReportStore(db);
  const reportLog = log.child({ component: 'report' });
  const reporter = new Reporter({ engine, reports, publisher, config: config.report, hosts: [...hosts.keys()], log: reportLog, fleet: config.fleet });
  made.reporter = reporter;
  const reportSchedule = startReportSchedule({
    schedule: config.report.schedule,
    timeZone: config.report.timeZone,
    reports,
    log: reportLog,
    report: async (firedAt, late) => void (await reporter.post({ actor: SCHEDULER, trigger: late ? 'late' : 'schedule', scheduledFor: firedAt })),
  });
  return {
    engine,
    store,
    hosts,
    discord,
    publisher,
    reporter,
    reportSchedule,
    http,
    async stop() {
      clearInterval(pruneTimer);
      await reportSchedule.stop();
      // New clicks are answered "restarting, nothing was run"; running steps finish and report
      // before the connection closes.
      discord.pause();
      const left = await engine.drain(60_000);
      if (left > 0) log.warn({ runs: left }, 'stopping with runs still executing; they will be marked interrupted at the next start');
      await discord.stop();
      await Promise.all([...hosts.values()].map((h) => h.close()));
      db.close();
      await http.close();
    },
  };
}
