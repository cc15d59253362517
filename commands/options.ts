import type { SlashCommandBuilder, SlashCommandIntegerOption, SlashCommandNumberOption, SlashCommandSubcommandBuilder } from 'discord.js';
import type { ParamSpec } from '../src/engine/catalog.js';

/** What a `host` option says it takes (short: /runbook repeats it once per runbook). */
export const HOST_DESCRIPTION = 'Host, group or all (default: the first host)';

/**
 * The optional `host` option, offered only when the bot manages more than one host: a host, a
 * group or `all`, autocompleted (not choices: Discord allows 25, and a fleet has more names).
 */
export function withHost(builder: SlashCommandBuilder, hosts: readonly string[]): SlashCommandBuilder {
  if (hosts.length > 1) builder.addStringOption((o) => o.setName('host').setDescription(HOST_DESCRIPTION).setAutocomplete(true));
  return builder;
}

export function withService(builder: SlashCommandBuilder, description = 'Compose service'): SlashCommandBuilder {
  builder.addStringOption((o) => o.setName('service').setDescription(description).setRequired(true).setAutocomplete(true));
  return builder;
}

/** Option names and descriptions as Discord allows them (1–100 chars; names lowercase). */
const clip = (text: string, max = 100) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/**
 * A runbook's params as typed options, generated from its zod schema (see src/engine/catalog.ts):
 * ranges, lengths and enum choices come along, and service params are autocompleted from the host.
 */
export function addParamOptions(builder: SlashCommandSubcommandBuilder, specs: readonly ParamSpec[]): SlashCommandSubcommandBuilder {
  for (const p of specs) {
    const description = clip(p.description);
    switch (p.type) {
      case 'boolean':
        builder.addBooleanOption((o) => o.setName(p.name).setDescription(description).setRequired(p.required));
        break;
      case 'integer':
      case 'number': {
        const range = <O extends SlashCommandIntegerOption | SlashCommandNumberOption>(o: O): O => {
          o.setName(p.name).setDescription(description).setRequired(p.required);
          if (p.min !== undefined) o.setMinValue(p.min);
          if (p.max !== undefined) o.setMaxValue(p.max);
          return o;
        };
        if (p.type === 'integer') builder.addIntegerOption(range);
        else builder.addNumberOption(range);
        break;
      }
      case 'string':
        builder.addStringOption((o) => {
          o.setName(p.name).setDescription(description).setRequired(p.required);
          if (p.choices) o.addChoices(...p.choices.slice(0, 25).map((c) => ({ name: clip(c), value: c })));
          else if (p.service || p.suggested) o.setAutocomplete(true);
          if (p.minLength !== undefined) o.setMinLength(Math.max(0, p.minLength));
          if (p.maxLength !== undefined) o.setMaxLength(Math.min(6000, p.maxLength));
          return o;
        });
        break;
    }
  }
  return builder;
}
