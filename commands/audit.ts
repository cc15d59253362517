import { SlashCommandBuilder } from 'discord.js';
import { z } from 'zod';
import type { Command } from '../src/discord/command.js';
import { PAGE_SIZE } from '../src/discord/pages.js';
import { UserError } from '../src/engine/errors.js';

const count = z.number().int().min(1).max(25);
const RUN_ID = /^r[A-Za-z0-9_-]{8}$/;
/** The longest run line, so that 25 of them (and their newlines) fit one page: the listing is not stored, so it cannot page. */
const MAX_LINE = Math.floor((PAGE_SIZE + 1) / 25) - 1;

function duration(ms: number | null): string {
  if (ms === null) return '…';
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}

export default (): Command => ({
  data: new SlashCommandBuilder()
    .setName('audit')
    .setDescription('Recent runs: who asked, who confirmed, what ran, outcome, duration')
    .addIntegerOption((o) => o.setName('count').setDescription('How many runs (1–25, default 10)').setMinValue(1).setMaxValue(25))
    .addStringOption((o) => o.setName('run').setDescription('One run in detail: every command, exit code, decision and output'))
    .toJSON(),
  role: 'viewer',
  precheck(i) {
    const id = i.options.getString('run');
    if (id !== null && !RUN_ID.test(id)) throw new UserError('params.invalid', '`run` must be a run id as /audit lists them, like `rAbC123xyZ`.');
  },
  async run(i, _actor, { store, engine }) {
    const id = i.options.getString('run');
    if (id !== null) return engine.auditView(id);
    const n = count.safeParse(i.options.getInteger('count') ?? 10);
    if (!n.success) throw new UserError('params.invalid', '`count` must be a whole number from 1 to 25.');
    const runs = store.recentRuns(n.data);
    const lines = runs.map((r) => {
      const when = new Date(r.created_at).toISOString().replace('T', ' ').slice(0, 19);
      const params = r.params === '{}' ? '' : ` ${Object.entries(JSON.parse(r.params) as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`;
      const confirmed = store.approvalsOf(r.id).filter((a) => a.accepted === 1).map((a) => `${a.decision === 'confirm' ? '✔' : '✖'}${a.user_name}`).join(',');
      const line = `${when}  ${r.id}  ${r.requested_by_name.padEnd(12)} ${`${r.runbook}${params}`.padEnd(28)} ${r.status.padEnd(21)} ${duration(r.finished_at === null ? null : r.finished_at - r.created_at).padStart(6)}${confirmed ? `  ${confirmed}` : ''}`;
      // No backticks (names stored before usernames were, e.g. display names): escaping them would lengthen the page.
      const plain = line.replace(/`/g, "'");
      return plain.length > MAX_LINE ? `${plain.slice(0, MAX_LINE - 1)}…` : plain;
    });
    return {
      runId: '-',
      title: `Audit: last ${runs.length} run${runs.length === 1 ? '' : 's'}`,
      status: 'succeeded',
      description: runs.length === 0 ? 'No runs recorded yet.' : 'Newest first. `/audit run:<id>` shows one run in detail; `/audit count:25` shows more.',
      fields: [],
      blocks: runs.length === 0 ? [] : [{ outputId: '-', title: 'runs', text: lines.join('\n') }],
      actions: [],
      footer: `${store.countRuns()} runs recorded`,
    };
  },
});
