import { SlashCommandBuilder } from 'discord.js';
import { runbookCommand } from '../src/discord/command.js';
import { withHost, withService } from './options.js';

export default (hosts: readonly string[]) => {
  const b = withService(new SlashCommandBuilder().setName('logs').setDescription("A service's recent log lines, paginated, full text attached"));
  b.addIntegerOption((o) => o.setName('lines').setDescription('How many lines (1–10000; default 100, or all since `since`)').setMinValue(1).setMaxValue(10_000));
  b.addStringOption((o) => o.setName('since').setDescription('Only lines since: 10m, 2h, 1d or 2026-11-23T09:00Z'));
  return runbookCommand({
    data: withHost(b, hosts).toJSON(),
    runbook: 'logs',
    role: 'viewer',
    params: (i) => {
      const lines = i.options.getInteger('lines');
      const since = i.options.getString('since');
      return { service: i.options.getString('service', true), ...(lines === null ? {} : { lines }), ...(since === null ? {} : { since }) };
    },
  });
};
