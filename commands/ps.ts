import { SlashCommandBuilder } from 'discord.js';
import { runbookCommand } from '../src/discord/command.js';
import { withHost } from './options.js';

export default (hosts: readonly string[]) =>
  runbookCommand({
    data: withHost(new SlashCommandBuilder().setName('ps').setDescription('Compose services on the host: state, health, uptime'), hosts).toJSON(),
    runbook: 'ps',
    role: 'viewer',
    params: () => ({}),
  });
