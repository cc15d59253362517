import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Publisher } from '../engine/publish.js';
import type { HttpServer } from '../http/server.js';
import { alertsReceived } from '../metrics.js';
import type { Store } from '../store/store.js';
import { AlertIntake, INVESTIGATION_RUNBOOK, type IntakeDeps } from './intake.js';
import { AlertStore } from './store.js';
import { alertmanagerRoute } from './webhook.js';

export const ALERTMANAGER_PATH = '/alerts/alertmanager';

/**
 * Alertmanager intake: POST /alerts/alertmanager on the bot's HTTP server, one message per alert
 * group in the alerts channel. Without OPSBOT_ALERTMANAGER_TOKEN the route answers 503 (and says
 * so at start), so a receiver pointed at a bot that forgot its token fails loudly, not silently.
 */
export function startAlertIntake(deps: {
  http: HttpServer;
  engine: IntakeDeps['engine'];
  publisher: Publisher;
  store: Store;
  config: Config;
  token: string | undefined;
  runbookIds: ReadonlySet<string>;
  log: Logger;
}): AlertIntake {
  const { config, runbookIds, log } = deps;
  const intake = new AlertIntake({ engine: deps.engine, publisher: deps.publisher, store: new AlertStore(deps.store.db), config, runbookIds, log });
  deps.http.route(
    'POST',
    ALERTMANAGER_PATH,
    alertmanagerRoute({
      token: deps.token,
      deliver: (hook) => intake.receive(hook),
      log,
      onReceived: (hook) => {
        for (const a of hook.alerts) alertsReceived.inc({ status: a.status });
      },
    }),
  );
  for (const route of config.alerts) {
    if (!runbookIds.has(route.runbook)) log.warn({ alertname: route.alertname, runbook: route.runbook }, 'alerts: route names an unknown runbook; its alerts get no button for it');
  }
  if (deps.token === undefined) log.warn({ path: ALERTMANAGER_PATH }, 'alert intake disabled: OPSBOT_ALERTMANAGER_TOKEN is not set (the route answers 503)');
  else log.info({ path: ALERTMANAGER_PATH, routes: config.alerts.length, investigation: runbookIds.has(INVESTIGATION_RUNBOOK) }, 'alert intake ready');
  return intake;
}
