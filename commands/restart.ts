import { SlashCommandBuilder } from 'discord.js';
import { runbookCommand } from '../src/discord/command.js';
import { withHost, withService } from './options.js';

export default (hosts: readonly string[]) =>
  runbookCommand({
    data: withHost(withService(new SlashCommandBuilder().setName('restart').setDescription('Restart a compose service (asks for confirmation), then verify it'), 'Service to restart'), hosts).toJSON(),
    runbook: 'restart',
    role: 'operator',
    params: (i) => ({ service: i.options.getString('service', true) }),
  });
