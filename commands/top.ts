import { SlashCommandBuilder } from 'discord.js';
import { runbookCommand } from '../src/discord/command.js';
import { withHost, withService } from './options.js';

export default (hosts: readonly string[]) =>
  runbookCommand({
    data: withHost(withService(new SlashCommandBuilder().setName('top').setDescription('Processes running inside a service container')), hosts).toJSON(),
    runbook: 'top',
    role: 'viewer',
    params: (i) => ({ service: i.options.getString('service', true) }),
  });
