import type { Command } from '../src/discord/command.js';
import audit from './audit.js';
import logs from './logs.js';
import ps from './ps.js';
import restart from './restart.js';
import runbook from './runbook.js';
import stats from './stats.js';
import top from './top.js';

/** Every slash command, built for the configured hosts. */
export function buildCommands(hosts: readonly string[], opts: { fourEyes?: readonly string[] } = {}): Command[] {
  return [ps(hosts), restart(hosts), stats(hosts), logs(hosts), top(hosts), audit(), runbook(hosts, opts)];
}
