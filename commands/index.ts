import type { Command } from '../src/discord/command.js';
import type { Reporter } from '../src/report/reporter.js';
import audit from './audit.js';
import logs from './logs.js';
import ps from './ps.js';
import report from './report.js';
import restart from './restart.js';
import runbook from './runbook.js';
import stats from './stats.js';
import top from './top.js';

/** Every slash command, built for the configured hosts. */
export function buildCommands(hosts: readonly string[], opts: { fourEyes?: readonly string[]; reporter?: () => Reporter | undefined } = {}): Command[] {
  return [ps(hosts), restart(hosts), stats(hosts), logs(hosts), top(hosts), audit(), runbook(hosts, opts), report(hosts, opts.reporter)];
}
