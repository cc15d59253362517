import { createHash } from 'node:crypto';
import { displayCommand } from '../host/quote.js';
import type { RolloutStore } from '../store/rollouts.js';
import type { GateRow, RunRow, Store } from '../store/store.js';
import { UserError } from './errors.js';
import { redact } from './redact.js';
import { progressText, rolloutIdOf, rolloutOf } from './rollout.js';
import type { AnyRunbook, Field } from './runbook.js';
import { gateActionId, type OutputBlock, type RunView } from './view.js';

const ICON: Record<string, string> = { succeeded: '✅', failed: '❌', running: '⏳', waiting: '⏸️', cancelled: '🚫', expired: '⌛', skipped: '⏭️' };

/** A short fingerprint of what a gate's preview showed, carried by its Confirm button. */
export const planHash = (gate: Pick<GateRow, 'plan' | 'plan_context'>): string =>
  createHash('sha256').update(`${gate.plan ?? ''}\n${gate.plan_context ?? ''}`).digest('base64url').slice(0, 10);

/**
 * The platform-neutral views of runs, rebuilt from the store (so also after a restart): a run as
 * it stands, with its gate's buttons, and its full audit. The engine decides; this only reads.
 */
export class RunViews {
  constructor(
    private readonly store: Store,
    private readonly rollouts: RolloutStore,
    private readonly runbookOf: (id: string) => AnyRunbook,
    /** The latest progress line of a run's running step, if it reported one. */
    private readonly progressOf: (runId: string) => { idx: number; summary: string } | undefined,
  ) {}

  private peopleOf(run: RunRow): NonNullable<RunView['people']> {
    const decisions = this.store.approvalsOf(run.id).filter((a) => a.accepted === 1).map((a) => ({ id: a.user_id, name: a.user_name, decision: a.decision }));
    return { requestedBy: { id: run.requested_by, name: run.requested_by_name }, decisions };
  }

  /** Everything the audit log holds about one run: who, when, each command with its exit code, decisions, outputs. */
  audit(runId: string): RunView {
    const run = this.store.getRun(runId);
    if (!run) throw new UserError('run.unknown', `No run ${runId} in the audit log. /audit lists recent runs with their ids.`);
    const when = (t: number) => new Date(t).toISOString().replace('T', ' ').slice(0, 19);
    const lines = [
      `**${run.runbook}** on \`${run.host}\` with ${run.params === '{}' ? 'no parameters' : `\`${run.params}\``}`,
      `Requested at ${when(run.created_at)} UTC · ${run.status}${run.finished_at ? ` after ${((run.finished_at - run.created_at) / 1000).toFixed(1)} s` : ''}`,
    ];
    if (run.origin) lines.push(`Started from ${run.origin}`);
    if (run.error) lines.push(`Note: ${run.error}`);
    const commands: string[] = [];
    const blocks: OutputBlock[] = [];
    for (const step of this.store.stepsOf(runId)) {
      commands.push(`# step ${step.idx + 1}: ${step.title} (${step.mutates ? 'changes the host' : 'read-only'}) — ${step.status}${step.duration_ms === null ? '' : `, ${step.duration_ms} ms`}`);
      for (const c of step.commandList) commands.push(`$ ${displayCommand(c.argv)}    → exit ${c.exitCode ?? '?'}, ${c.durationMs} ms`);
      if (step.summary) commands.push(`  ${step.summary.replace(/\n/g, ' ')}`);
      if (step.output_id) {
        const out = this.store.getOutput(step.output_id);
        if (out) blocks.push({ outputId: out.id, title: `step ${step.idx + 1} output: ${out.title}`, text: out.text });
      }
    }
    for (const a of this.store.approvalsOf(runId)) {
      commands.push(`# ${when(a.at)} ${a.user_name} pressed ${a.decision} at step ${a.step_idx + 1}: ${a.accepted ? 'accepted' : `refused (${a.reason ?? ''})`} · user id ${a.user_id}`);
    }
    const text = redact(commands.join('\n') || '(no steps ran)');
    const record = this.store.saveOutput(runId, `audit of ${runId}`, text);
    return {
      runId,
      title: `Audit: run ${runId}`,
      status: run.status,
      description: redact(lines.join('\n')),
      fields: [],
      blocks: [{ outputId: record, title: 'what ran', text }, ...blocks],
      actions: [],
      footer: `run ${runId} · ${run.host}`,
      people: this.peopleOf(run),
    };
  }

  /** Rebuilds the neutral result of a run from the store (also after a restart). */
  view(runId: string, gate?: { stepIdx: number; plan: string[]; changed?: { why: string; shown: string[] } }): RunView {
    const run = this.store.getRun(runId);
    if (!run) throw new UserError('run.unknown', `Run ${runId} is unknown.`);
    const runbook = this.runbookOf(run.runbook);
    const params = JSON.parse(run.params) as Record<string, unknown>;
    const title = typeof runbook.title === 'string' ? runbook.title : runbook.title(params);
    const steps = this.store.stepsOf(runId);
    const lines: string[] = run.origin ? [`↪ Started from ${run.origin}`] : [];
    const rolloutId = rolloutIdOf(run.origin);
    const rolloutRow = rolloutId === undefined ? undefined : this.rollouts.get(rolloutId);
    if (rolloutRow) lines.push(progressText(rolloutOf(rolloutRow), runId, (id) => this.store.getRun(id)?.status), '');
    const fields: Field[] = [];
    const blocks: OutputBlock[] = [];
    runbook.steps.forEach((s, i) => {
      const row = steps.find((r) => r.idx === i);
      if (row) {
        const progress = row.status === 'running' ? this.progressOf(runId) : undefined;
        const summary = row.summary ?? (progress?.idx === i ? progress.summary : null);
        lines.push(`${ICON[row.status] ?? '•'} **${s.title}**${summary ? ` — ${summary}` : ''}`);
        if (row.fields) fields.push(...(JSON.parse(row.fields) as Field[]));
        if (row.output_id) {
          const out = this.store.getOutput(row.output_id);
          if (out) blocks.push({ outputId: out.id, title: out.title, text: out.text });
        }
      } else if (gate?.stepIdx === i || (run.status === 'awaiting_confirmation' && !gate && i === steps.length)) {
        lines.push(`${ICON.waiting} **${s.title}** — waiting for confirmation`);
      } else if (['cancelled', 'expired'].includes(run.status) && i === steps.length) {
        lines.push(`${ICON[run.status]} **${s.title}** — not run (${run.status})`);
      }
    });
    if (gate?.changed) {
      lines.push('', `⚠️ **The confirmation was withdrawn: ${gate.changed.why}; nothing was run.** The preview showed:`, '```', ...gate.changed.shown, '```', 'Check the new preview and confirm again.');
    }
    if (gate) lines.push('', `**This will run on \`${run.host}\`:**`, '```', ...gate.plan, '```');
    if (run.error && run.status !== 'succeeded') lines.push('', `**${run.status === 'failed' ? 'Failed' : 'Note'}:** ${run.error}`);

    const gateRow = gate ? this.store.getGate(runId, gate.stepIdx) : undefined;
    const actions: RunView['actions'] = [];
    if (gate && gateRow) {
      actions.push({ id: gateActionId(runId, gate.stepIdx, 'confirm', planHash(gateRow)), label: gateRow.four_eyes ? 'Approve (second person)' : 'Confirm', style: 'danger' });
      actions.push({ id: gateActionId(runId, gate.stepIdx, 'cancel'), label: 'Cancel', style: 'secondary' });
    }
    const ended = this.store.lastGate(runId);
    if (!gate && ended && (run.status === 'expired' || run.status === 'cancelled')) {
      const label = run.status === 'expired' ? 'Expired' : 'Cancelled';
      actions.push({ id: gateActionId(runId, ended.step_idx, 'confirm'), label: `Confirm (${label.toLowerCase()})`, style: 'danger', disabled: true });
      actions.push({ id: gateActionId(runId, ended.step_idx, 'cancel'), label, style: 'secondary', disabled: true });
    }
    // Nothing to roll back when no step that changes the host ran (e.g. it failed at its gate).
    if ((run.status === 'failed' || (run.status === 'succeeded' && runbook.rollbackAfterSuccess === true)) && runbook.rollback && runbook.rollback.length > 0 && steps.some((st) => st.mutates === 1)) {
      actions.push({ id: `rollback:${runId}`, label: runbook.rollbackLabel ?? 'Roll back', style: 'danger' });
    }
    if ((run.status === 'succeeded' || run.status === 'failed') && runbook.followUps) actions.push(...runbook.followUps(params, run.host));
    const approvals = this.store.approvalsOf(runId).filter((a) => a.accepted === 1);
    const who = approvals.map((a) => `${a.decision === 'confirm' ? 'confirmed' : 'cancelled'} by ${a.user_name}`).join(', ');
    const view: RunView = {
      runId,
      title,
      status: run.status,
      description: lines.join('\n'),
      fields,
      blocks,
      actions,
      footer: `run ${runId} · ${run.host} · requested by ${run.requested_by_name}${who ? ` · ${who}` : ''}`,
      people: this.peopleOf(run),
    };
    if (gate && gateRow) view.gate = { stepIdx: gate.stepIdx, expiresAt: gateRow.expires_at, fourEyes: gateRow.four_eyes === 1 };
    return view;
  }
}
