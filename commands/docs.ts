import { ApplicationCommandOptionType, type APIApplicationCommandOption } from 'discord.js';
import type { Command } from '../src/discord/command.js';
import { mutates, rolesOf, rolesText } from '../src/engine/catalog.js';
import type { AnyRunbook } from '../src/engine/runbook.js';

/**
 * docs/commands.md from the command definitions themselves (their Discord options, least role
 * and the runbook each is an alias of), written by `npm run docs`; a unit test fails when stale.
 */

const TYPE: Partial<Record<ApplicationCommandOptionType, string>> = {
  [ApplicationCommandOptionType.String]: 'text',
  [ApplicationCommandOptionType.Integer]: 'integer',
  [ApplicationCommandOptionType.Number]: 'number',
  [ApplicationCommandOptionType.Boolean]: 'true/false',
};

const cell = (text: string) => text.replace(/\|/g, '\\|');
/** A description as a sentence (Discord's have no final stop). */
const sentence = (text: string) => (/[.!?…)]$/.test(text) ? text : `${text}.`);

function optionRow(o: APIApplicationCommandOption): string {
  const notes: string[] = [];
  if ('min_value' in o || 'max_value' in o) {
    const r = o as { min_value?: number; max_value?: number };
    if (r.min_value !== undefined || r.max_value !== undefined) notes.push(`${r.min_value ?? '…'}–${r.max_value ?? '…'}`);
  }
  if ('choices' in o && o.choices && o.choices.length > 0) notes.push(`one of ${o.choices.map((c) => `\`${String(c.value)}\``).join(', ')}`);
  if ('autocomplete' in o && o.autocomplete === true) notes.push(o.name === 'service' || /service/i.test(o.description) ? "suggested from the host's compose services, checked against them" : 'suggested as you type');
  const required = 'required' in o && o.required === true ? 'required' : 'optional';
  return `| \`${o.name}\` | ${TYPE[o.type] ?? String(o.type)}, ${required} | ${cell(o.description)}${notes.length > 0 ? ` (${cell(notes.join('; '))})` : ''} |`;
}

function optionsTable(options: readonly APIApplicationCommandOption[]): string[] {
  if (options.length === 0) return ['No options.'];
  return ['| option | type | meaning |', '| --- | --- | --- |', ...options.map(optionRow)];
}

function runsText(rb: AnyRunbook | undefined, id: string | undefined): string {
  if (id === undefined) return '';
  if (!rb) return `the runbook \`${id}\``;
  const change = mutates(rb) ? 'its steps that change the host wait for a confirmation showing the exact command' : 'read-only';
  return `the runbook [\`${rb.id}\`](runbooks.md#${rb.id}) (${rb.steps.map((s) => s.title).join(' → ')}; ${change})`;
}

export function commandsMarkdown(commands: readonly Command[], runbooks: readonly AnyRunbook[]): string {
  const byId = new Map(runbooks.map((rb) => [rb.id, rb]));
  const out = [
    '# Commands',
    '',
    '<!-- Generated from commands/*.ts by `npm run docs`; edit the command definitions, not this file. -->',
    '',
    'Slash commands work only in the configured alerts channel (`discord.alertsChannel`). Roles rank viewer < operator',
    '< approver: a role may use everything the roles before it may. A command that changes a host stops at a gate that',
    'shows the exact command and waits for **Confirm** (an operator; an approver other than the requester for runbooks in',
    '`gates.fourEyes`). When more than one host is configured, every command that reaches a host also takes a `host`',
    'option (default: `defaultHost`, else the first): a host, a group (`hosts[].groups`) or `all`, suggested as you type.',
    'On a group, a read-only command runs on its hosts in parallel (`fleet:`), one section per host under a summary',
    '(ok, failing, unreachable); a command that changes a host rolls out one host at a time in the group\'s order, the',
    'first host as a canary, each host behind its own gate, stopping at the first host that fails.',
    '`opsbot console` offers the same commands in a terminal.',
    '',
    '| command | least role | what it does |',
    '| --- | --- | --- |',
    ...commands.map((c) => `| [\`/${c.data.name}\`](#${c.data.name}) | ${c.role} | ${cell(c.data.description)} |`),
  ];
  for (const c of commands) {
    const options = c.data.options ?? [];
    const subs = options.filter((o) => o.type === ApplicationCommandOptionType.Subcommand);
    out.push('', `## /${c.data.name}`, '', sentence(c.data.description), '');
    if (subs.length === 0) {
      const runs = runsText(c.runbook === undefined ? undefined : byId.get(c.runbook), c.runbook);
      out.push(`**Who:** ${c.role}${runs ? ` · **Runs:** ${runs}` : ''}`, '', ...optionsTable(options));
      continue;
    }
    out.push('| subcommand | who | what it does |', '| --- | --- | --- |');
    for (const s of subs) {
      const rb = byId.get(s.name);
      // The runbook's own summary: Discord's copy is clipped to 100 characters.
      out.push(`| \`/${c.data.name} ${s.name}\` | ${rb ? cell(rolesText(rb)) : 'viewer'} | ${cell(rb?.summary ?? s.description)} |`);
    }
    for (const s of subs) {
      const rb = byId.get(s.name);
      const who = rb ? rolesOf(rb).start : 'viewer';
      out.push('', `### /${c.data.name} ${s.name}`, '', sentence(rb?.summary ?? s.description), '', `**Who:** ${who}${rb ? ` · **Runs:** ${runsText(rb, rb.id)}` : ''}`, '');
      out.push(...optionsTable('options' in s && s.options ? (s.options as APIApplicationCommandOption[]) : []));
    }
  }
  return `${out.join('\n')}\n`;
}
