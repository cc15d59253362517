import type { Logger } from 'pino';
import { reportFacts, takeFacts, type ReportFacts } from '../../runbooks/report.js';
import { FLEET_DEFAULTS, type Config } from '../config/schema.js';
import type { Engine } from '../engine/engine.js';
import { isUserError } from '../engine/errors.js';
import { mapLimit } from '../map-limit.js';
import { within } from '../within.js';
import type { PostView, Publisher } from '../engine/publish.js';
import type { Action, Actor } from '../engine/view.js';
import { reportsPosted } from '../metrics.js';
import { newId } from '../store/store.js';
import type { ReportStore } from '../store/reports.js';
import { computeDeltas, deltaText, findingsOf, sectionsOf, utcText, verdictOf, type Finding } from './build.js';

/** Who starts scheduled reports: in /audit like any person, but with a fixed id. */
export const SCHEDULER: Actor = { id: 'scheduler', name: 'scheduler', roles: ['viewer'] };

export type ReportTrigger = 'schedule' | 'late' | 'command';

export interface ReportRequest {
  /** One host; all configured hosts when absent. */
  host?: string | undefined;
  actor: Actor;
  trigger: ReportTrigger;
  /** The schedule's fire time this report answers (schedule and late reports). */
  scheduledFor?: number;
}

export interface PostedReport {
  host: string;
  reportId: string;
  runId: string | null;
  findings: number;
  tone: PostView['tone'];
  /** The message reference, or null when posting failed (the report is stored anyway). */
  messageRef: string | null;
  /** Why posting failed. */
  postError?: string;
}

/**
 * Makes and posts health reports: per host, one run of the `report` runbook through the engine
 * (so it is in /audit), its facts compared with the host's previous report, findings with a
 * button for the runbook that fixes each one, one post to the alerts channel.
 */
export class Reporter {
  constructor(
    private readonly deps: {
      engine: Engine;
      reports: ReportStore;
      publisher: Publisher;
      config: Config['report'];
      hosts: readonly string[];
      log: Logger;
      now?: () => number;
      /** How many hosts are read at once, and how long one may take (`fleet:`; FLEET_DEFAULTS when left out). */
      fleet?: Config['fleet'];
    },
  ) {}

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /**
   * One report per host (all configured hosts, or the one asked for). The hosts are read in
   * parallel, a bounded number at once, so a slow or dead host delays no other's report beyond
   * its own timeout; the reports are posted one after the other, in configuration order.
   */
  async post(req: ReportRequest): Promise<PostedReport[]> {
    const hosts = req.host === undefined ? this.deps.hosts : [this.deps.engine.host(req.host).name];
    const fleet = this.deps.fleet ?? FLEET_DEFAULTS;
    const gathered = await mapLimit(hosts, fleet.concurrency, (host) => this.gatherInTime(host, req, fleet.hostTimeoutSeconds * 1000));
    const out: PostedReport[] = [];
    for (const [n, host] of hosts.entries()) out.push(await this.postOne(host, req, gathered[n]!));
    return out;
  }

  /** {@link gather}, or after `timeoutMs` a section saying the host did not answer (its run goes on, in /audit). */
  private async gatherInTime(host: string, req: ReportRequest, timeoutMs: number): Promise<{ facts: ReportFacts; runId: string | null }> {
    // One host alone has nobody to wait for: its report takes what it takes, as before.
    if (this.deps.hosts.length === 1) return this.gather(host, req);
    const runId = newId('r');
    const got = await within(this.gather(host, req, runId), timeoutMs);
    if (got) return got.value;
    this.deps.log.warn({ host, runId, timeoutMs }, 'report: the host did not answer in time; reporting it unreachable');
    return { facts: { host, at: this.now(), reachable: false, error: `no answer within ${Math.round(timeoutMs / 1000)} s (its report run ${runId} goes on; /audit run:${runId} shows it)`, problems: [] }, runId };
  }

  private async gather(host: string, req: ReportRequest, runId = newId('r')): Promise<{ facts: ReportFacts; runId: string | null }> {
    const c = this.deps.config;
    const origin = req.trigger === 'command' ? undefined : `the report schedule "${c.schedule}" (${c.timeZone})${req.trigger === 'late' ? ', late' : ''}`;
    try {
      const view = await this.deps.engine.start({
        runbook: 'report',
        host,
        params: {},
        actor: req.actor,
        channelId: null,
        origin,
        runId,
      });
      const facts = takeFacts(view.runId);
      if (facts) return { facts, runId: view.runId };
      return { facts: { host, at: this.now(), reachable: false, error: `the report run ended ${view.status} without reading the host`, problems: [] }, runId: view.runId };
    } catch (err) {
      // The run could not start (the host is unknown, the database refused): still a section.
      this.deps.log.warn({ host, err }, 'report run failed to start');
      const error = isUserError(err) ? err.message : `internal error (${(err as Error).message}); see the bot's log`;
      return { facts: { host, at: this.now(), reachable: false, error, problems: [] }, runId: null };
    }
  }

  /** The button of the first fix whose runbook exists and takes those params; none otherwise. */
  private offerFor(finding: Finding, host: string, reportId: string): Action | undefined {
    for (const fix of finding.fixes) {
      try {
        return this.deps.engine.offer({ runbook: fix.runbook, host, params: fix.params, label: fix.label, origin: `report ${reportId} on ${host}: ${finding.text.replace(/\*\*/g, '')}`.slice(0, 300) });
      } catch (err) {
        if (!isUserError(err)) throw err; // unknown runbook or params it does not take: try the next
      }
    }
    return undefined;
  }

  private async postOne(host: string, req: ReportRequest, gathered: { facts: ReportFacts; runId: string | null }): Promise<PostedReport> {
    const { facts, runId } = gathered;
    const now = this.now();
    const previousRow = facts.reachable ? this.deps.reports.latestReachable(host) : undefined;
    const previous = previousRow ? reportFacts.safeParse(JSON.parse(previousRow.facts)) : undefined;
    const deltas = computeDeltas(facts, previous?.success ? previous.data : undefined);
    const t = this.deps.config;
    const findings = findingsOf(facts, deltas, t, now);
    const verdict = verdictOf(findings);
    const reportId = newId('p');
    const actions: Action[] = [];
    const lines = [verdict.text];
    if (req.trigger === 'late' && req.scheduledFor !== undefined) {
      lines.push(`⏰ **Late:** this report was due at ${utcText(req.scheduledFor)}; the bot was not running then.`);
    }
    for (const f of findings) {
      const action = actions.length < 20 ? this.offerFor(f, host, reportId) : undefined;
      if (action) actions.push(action);
      lines.push(`• ${f.text}${action ? ` → **${action.label}**` : ''}`);
    }
    if (facts.reachable) lines.push('', deltaText(deltas));
    const title = `${facts.reachable ? '' : '🔴 '}Health report · ${host}${req.trigger === 'late' ? ' (late)' : ''}`;
    const view: PostView = {
      title,
      tone: verdict.tone,
      description: lines.join('\n'),
      fields: sectionsOf(facts, deltas, t, now),
      actions,
      footer: `${runId ? `run ${runId} (/audit run:${runId})` : 'no run'} · ${req.trigger === 'command' ? `asked by ${req.actor.name}` : `schedule ${t.schedule} ${t.timeZone}`} · thresholds: certificates ${t.certificateDays} d, backups ${t.backupMaxAgeHours} h, disk ${t.diskPercent} %`,
    };
    this.deps.reports.save({
      id: reportId,
      host,
      run_id: runId,
      created_at: now,
      scheduled_for: req.scheduledFor ?? null,
      late: req.trigger === 'late' ? 1 : 0,
      reachable: facts.reachable ? 1 : 0,
      findings: findings.length,
      facts: JSON.stringify(facts),
      deltas: JSON.stringify(deltas),
      message_ref: null,
    });
    const posted: PostedReport = { host, reportId, runId, findings: findings.length, tone: verdict.tone, messageRef: null };
    try {
      // A scheduled slot posts once per host, also if a restart makes it fire again as late: keyed
      // by its second, since on time it is the moment the tick ran (a few ms past the slot) and
      // late it is the slot itself.
      posted.messageRef = await this.deps.publisher.post(view, req.scheduledFor === undefined ? {} : { key: `report:${host}:${Math.floor(req.scheduledFor / 1000)}` });
      this.deps.reports.setMessageRef(reportId, posted.messageRef);
      reportsPosted.inc({ host, trigger: req.trigger });
      this.deps.log.info({ host, reportId, runId, findings: findings.length, trigger: req.trigger }, 'report posted');
    } catch (err) {
      posted.postError = isUserError(err) ? err.message : (err as Error).message;
      this.deps.log.error({ host, reportId, runId, err }, 'could not post a report; it is stored');
    }
    return posted;
  }
}
