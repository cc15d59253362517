import { SlashCommandBuilder } from 'discord.js';
import { runbookCommand } from '../src/discord/command.js';
import { withHost } from './options.js';

export default (hosts: readonly string[]) =>
  runbookCommand({
    data: withHost(new SlashCommandBuilder().setName('stats').setDescription('CPU, memory, network and block IO of every container'), hosts).toJSON(),
    runbook: 'stats',
    role: 'viewer',
    params: () => ({}),
  });
