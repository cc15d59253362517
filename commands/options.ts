import type { SlashCommandBuilder } from 'discord.js';

/** The optional `host` option, offered only when the bot manages more than one host. */
export function withHost(builder: SlashCommandBuilder, hosts: readonly string[]): SlashCommandBuilder {
  if (hosts.length > 1) {
    builder.addStringOption((o) =>
      o.setName('host').setDescription('Which host (default: the first configured)').addChoices(...hosts.slice(0, 25).map((h) => ({ name: h, value: h }))),
    );
  }
  return builder;
}

export function withService(builder: SlashCommandBuilder, description = 'Compose service'): SlashCommandBuilder {
  builder.addStringOption((o) => o.setName('service').setDescription(description).setRequired(true).setAutocomplete(true));
  return builder;
}
