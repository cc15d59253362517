import { SlashCommandBuilder } from 'discord.js';
import { hostTargets, type Command } from '../src/discord/command.js';
import { UserError } from '../src/engine/errors.js';
import type { Reporter } from '../src/report/reporter.js';
import { withHost } from './options.js';

/**
 * `/report [host]`: the health report now, posted to the alerts channel like the scheduled one
 * (every host, or the one named); the reply says where it went and what it found.
 */
export default (hosts: readonly string[], reporter: () => Reporter | undefined = () => undefined): Command => ({
  data: withHost(new SlashCommandBuilder().setName('report').setDescription('Post the health report now: services, usage, disk, certificates, backups, alerts'), hosts).toJSON(),
  role: 'viewer',
  usesHost: () => true,
  // Reports read and change nothing: a group or `all` is one report per host.
  complete: async (_i, option, deps) => (option === 'host' ? hostTargets('report', deps) : []),
  async run(i, actor, { engine }) {
    const r = reporter();
    if (!r) throw new UserError('report.unavailable', 'Reports are not available in this process (no place to post them). Nothing was run.');
    const host = i.options.getString('host') ?? undefined;
    // An unknown host or group is refused before anything runs.
    const target = host === undefined ? undefined : engine.target(host);
    const posted = target === undefined || target.kind === 'all' ? await r.post({ actor, trigger: 'command' }) : (await Promise.all(target.hosts.map((h) => r.post({ host: h, actor, trigger: 'command' })))).flat();
    const failed = posted.filter((p) => p.messageRef === null);
    const lines = posted.map((p) => {
      const verdict = p.tone === 'ok' ? '✅ all good' : `${p.tone === 'fail' ? '🔴' : '⚠️'} ${p.findings} ${p.findings === 1 ? 'thing needs' : 'things need'} attention`;
      return `**${p.host}**: ${verdict}${p.messageRef === null ? ` — **not posted** (${p.postError ?? 'unknown error'}); it is stored` : ''}${p.runId ? ` · run \`${p.runId}\`` : ''}`;
    });
    return {
      runId: posted[0]?.runId ?? '-',
      title: failed.length === 0 ? `Health report posted (${posted.length === 1 ? posted[0]!.host : `${posted.length} hosts`})` : 'Health report: posting failed',
      status: failed.length === 0 ? 'succeeded' : 'failed',
      description: lines.join('\n'),
      fields: [],
      blocks: [],
      actions: [],
      footer: '/audit run:<id> shows what each report read',
    };
  },
});
