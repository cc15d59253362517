import type { AnyRunbook } from '../src/engine/runbook.js';
import { alertInvestigation } from './alert-investigation.js';
import { configDrift } from './config-drift.js';
import { sshAudit } from './ssh-audit.js';
import { sshRevoke } from './ssh-revoke.js';
import { testFailure } from './test-failure.js';
import { health } from './health.js';
import { deploy } from './deploy.js';
import { highUsage } from './high-usage.js';
import { logs } from './logs.js';
import { ps } from './ps.js';
import { report } from './report.js';
import { restart } from './restart.js';
import { rollingUpdate } from './rolling-update.js';
import { stats } from './stats.js';
import { top } from './top.js';
import { watchtower } from './watchtower.js';

/** Every runbook the bot knows; commands and docs are generated from this list. */
export const runbooks: AnyRunbook[] = [ps, restart, stats, logs, top, health, highUsage, report, deploy, watchtower, rollingUpdate, configDrift, testFailure, alertInvestigation, sshAudit, sshRevoke] as AnyRunbook[];
