import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The bot's own metrics, served as GET /metrics (Prometheus text format). One registry per
 * process: the counters live as long as the process, like any Prometheus client's.
 *
 * Labels are kept to small, fixed sets (command and runbook names, outcomes, host names from
 * the configuration, a command's program word): never run ids, user ids or free text.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** Interactions answered, by command (`ps`, `button:gate`, `autocomplete`…) and outcome. */
export const interactions = new Counter({
  name: 'opsbot_interactions_total',
  help: 'Discord interactions handled, by command and outcome (ok, user_error, refused, error)',
  labelNames: ['command', 'outcome'] as const,
  registers: [registry],
});

/** Receipt of an interaction → Discord accepted its acknowledgement (defer, reply or update). */
export const ackLatency = new Histogram({
  name: 'opsbot_interaction_ack_seconds',
  help: 'Time from receiving an interaction to Discord accepting its acknowledgement',
  labelNames: ['kind'] as const,
  buckets: [0.01, 0.02, 0.025, 0.03, 0.04, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5],
  registers: [registry],
});

/** Runs that ended (or stopped at a gate that then expired or was cancelled), by runbook and outcome. */
export const runbookRuns = new Counter({
  name: 'opsbot_runbook_runs_total',
  help: 'Runbook runs that ended, by runbook and outcome (succeeded, failed, cancelled, expired)',
  labelNames: ['runbook', 'outcome'] as const,
  registers: [registry],
});

export const stepDuration = new Histogram({
  name: 'opsbot_runbook_step_duration_seconds',
  help: 'Duration of runbook steps, by runbook and outcome (succeeded, failed)',
  labelNames: ['runbook', 'outcome'] as const,
  buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  registers: [registry],
});

/** Confirmation clicks and expiries: decision (confirm, cancel, none) and result (accepted, expired, or the refusal's code). */
export const gateDecisions = new Counter({
  name: 'opsbot_gate_decisions_total',
  help: 'Gate decisions, by runbook, decision (confirm, cancel, none for an expiry) and result (accepted, expired, or the refusal code)',
  labelNames: ['runbook', 'decision', 'result'] as const,
  registers: [registry],
});

export const hostCommandDuration = new Histogram({
  name: 'opsbot_host_command_duration_seconds',
  help: 'Duration of commands run on hosts, by host and command (program and subcommand)',
  labelNames: ['host', 'command'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  registers: [registry],
});

/** Every host command by outcome: ok, exit_nonzero, timeout, or the error code that stopped it. */
export const hostCommands = new Counter({
  name: 'opsbot_host_commands_total',
  help: 'Commands run on hosts, by host, command and outcome (ok, exit_nonzero, timeout, or an error code such as host.unreachable)',
  labelNames: ['host', 'command', 'outcome'] as const,
  registers: [registry],
});

export const sshConnected = new Gauge({
  name: 'opsbot_ssh_connected',
  help: '1 while the SSH connection to a host is open, 0 otherwise',
  labelNames: ['host'] as const,
  registers: [registry],
});

export const sshConnects = new Counter({
  name: 'opsbot_ssh_connects_total',
  help: 'SSH connection attempts to a host, by result (connected, reconnected, failed)',
  labelNames: ['host', 'result'] as const,
  registers: [registry],
});

/** What the Discord adapter reports about its gateway connection; set by src/discord/bot.ts. */
let gatewaySource: (() => { connected: boolean; pingMs: number }) | undefined;
/** Reports this gateway from now on; the returned function stops it (if it is still the current one). */
export function observeGateway(source: () => { connected: boolean; pingMs: number }): () => void {
  gatewaySource = source;
  return () => {
    if (gatewaySource === source) gatewaySource = undefined;
  };
}

new Gauge({
  name: 'opsbot_discord_gateway_ping_seconds',
  help: 'Latency of the last Discord gateway heartbeat',
  registers: [registry],
  collect() {
    const ping = gatewaySource?.().pingMs;
    if (ping !== undefined && Number.isFinite(ping) && ping >= 0) this.set(ping / 1000);
    else this.reset();
  },
});

new Gauge({
  name: 'opsbot_discord_gateway_connected',
  help: '1 while the Discord gateway connection is ready',
  registers: [registry],
  collect() {
    this.set(gatewaySource?.().connected === true ? 1 : 0);
  },
});

/** Increment when a health report is posted (`host`; `late` for a catch-up of a missed one). */
export const reportsPosted = new Counter({
  name: 'opsbot_reports_posted_total',
  help: 'Health reports posted, by host and trigger (schedule, command, late)',
  labelNames: ['host', 'trigger'] as const,
  registers: [registry],
});

/** Increment for each alert received from Alertmanager (`status`: firing or resolved). */
export const alertsReceived = new Counter({
  name: 'opsbot_alerts_received_total',
  help: 'Alerts received from Alertmanager webhooks, by status (firing, resolved)',
  labelNames: ['status'] as const,
  registers: [registry],
});

/**
 * A command's label: its program and, for docker, the subcommand (`docker compose`,
 * `docker inspect`, `curl`). Bounded by what the guard allows; anything odd is `other`.
 */
export function commandLabel(argv: readonly string[]): string {
  const program = (argv[0] ?? '').split('/').at(-1) ?? '';
  if (!/^[a-z0-9][a-z0-9_.-]{0,30}$/.test(program)) return 'other';
  const sub = argv[1];
  if (program === 'docker' && sub !== undefined && /^[a-z][a-z-]{0,20}$/.test(sub)) return `docker ${sub}`;
  return program;
}
