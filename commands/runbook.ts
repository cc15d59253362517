import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { runbooks as allRunbooks } from '../runbooks/index.js';
import { hostServices, runbookCommand, subcommandsCommand, type Command, type CommandDeps } from '../src/discord/command.js';
import { helpLines, paramSpecs, rolesOf, type ParamSpec } from '../src/engine/catalog.js';
import { UserError, isUserError } from '../src/engine/errors.js';
import { missingParts } from '../src/engine/parts.js';
import { completerOf, type AnyRunbook, type Field } from '../src/engine/runbook.js';
import type { RunView } from '../src/engine/view.js';
import { fitCommandSize } from './fit.js';
import { addParamOptions } from './options.js';

/** Discord allows 25 subcommands; `list` and `help` take two. */
export const MAX_RUNBOOKS = 23;

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** The option values of a subcommand, by param name; absent options stay absent (zod fills defaults). */
function paramsOf(i: ChatInputCommandInteraction, specs: readonly ParamSpec[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of specs) {
    const value = i.options.get(p.name)?.value;
    if (value !== undefined && value !== null) out[p.name] = value;
  }
  return out;
}

/** What the list's description can hold (the Discord adapter shows 1200 characters of it). */
const LIST_CHARS = 1150;

/** Per host, the runbooks whose parts it lacks and why, one field per host; a host that cannot be read says so. */
async function unavailableFields(list: readonly AnyRunbook[], hosts: readonly string[], engine: CommandDeps['engine']): Promise<Field[]> {
  if (!list.some((rb) => (rb.needs ?? []).length > 0)) return [];
  const perHost = await Promise.all(
    hosts.map(async (name): Promise<Field | null> => {
      const host = engine.host(name);
      try {
        const out: string[] = [];
        for (const rb of list) {
          const missing = await missingParts(rb, host);
          if (missing.length > 0) out.push(`\`${rb.id}\` — ${missing.join('; ')}`);
        }
        return out.length === 0 ? null : { name: `Cannot run on ${name}`, value: clip(out.join('\n'), 1024) };
      } catch (err) {
        return { name: `Cannot tell for ${name}`, value: `its services could not be read (${isUserError(err) ? err.message : 'host error'})` };
      }
    }),
  );
  return perHost.filter((f): f is Field => f !== null);
}

const info = (title: string, description: string, footer: string): RunView => ({ runId: '-', title, status: 'succeeded', description, fields: [], blocks: [], actions: [], footer });

/**
 * `/runbook <id>`: one subcommand per runbook, generated from its definition (params → typed
 * options, service params autocompleted from the host), plus `list` and `help`, which read the
 * same definitions. Each subcommand is the runbook's alias, exactly as `/restart` is.
 */
export default (hosts: readonly string[], opts: { runbooks?: readonly AnyRunbook[]; fourEyes?: readonly string[] } = {}): Command => {
  const list = opts.runbooks ?? allRunbooks;
  const fourEyes = opts.fourEyes ?? [];
  if (list.length > MAX_RUNBOOKS) throw new Error(`/runbook can carry ${MAX_RUNBOOKS} runbooks (Discord allows 25 subcommands, list and help take two); there are ${list.length}`);
  const specs = new Map(list.map((rb) => [rb.id, paramSpecs(rb)]));
  const b = new SlashCommandBuilder().setName('runbook').setDescription('Run a runbook: `list` shows them all, `help` explains one');
  b.addSubcommand((s) => s.setName('list').setDescription('Every runbook, one line each, and who may run it'));
  b.addSubcommand((s) =>
    s
      .setName('help')
      .setDescription('When to run a runbook, its steps (which change the host), outcome and escalation')
      .addStringOption((o) => o.setName('runbook').setDescription('Which runbook').setRequired(true).addChoices(...list.map((rb) => ({ name: rb.id, value: rb.id })))),
  );
  for (const rb of list) {
    b.addSubcommand((s) => {
      s.setName(rb.id).setDescription(clip(rb.summary, 100));
      addParamOptions(s, specs.get(rb.id) ?? []);
      // Autocompleted rather than choices: the command's size must not grow with hosts × runbooks.
      if (hosts.length > 1) s.addStringOption((o) => o.setName('host').setDescription('Which host (default: the first configured)').setAutocomplete(true));
      return s;
    });
  }
  const data = b.toJSON();
  fitCommandSize(data);

  const subs = new Map<string, Omit<Command, 'data'>>();
  subs.set('list', {
    role: 'viewer',
    run: async (_i, _actor, { engine }) => {
      const who = (rb: AnyRunbook) => {
        const r = rolesOf(rb, fourEyes);
        return ` · *${r.confirm === 'approver' ? 'operator + approver' : r.start}*`;
      };
      // Every runbook must show: the summaries share what is left of the description once ids and roles are in.
      const fixed = list.reduce((t, rb) => t + rb.id.length + 5 + who(rb).length + 1, 0);
      const room = Math.floor((LIST_CHARS - fixed) / Math.max(1, list.length));
      const lines = list.map((rb) => `\`${rb.id}\`${room >= 12 ? ` — ${clip(rb.summary, room)}` : ''}${who(rb)}`);
      const unavailable = await unavailableFields(list, hosts, engine);
      return { ...info(`Runbooks (${list.length})`, lines.join('\n'), '/runbook help runbook:<id> explains one · /runbook <id> runs it'), fields: unavailable };
    },
  });
  subs.set('help', {
    role: 'viewer',
    run: async (i) => {
      const id = i.options.getString('runbook', true);
      const rb = list.find((r) => r.id === id);
      if (!rb) throw new UserError('runbook.unknown', `There is no runbook "${id}". \`/runbook list\` shows them all.`);
      return info(`Runbook: ${rb.id}`, clip(helpLines(rb, fourEyes).join('\n'), 4000), `/runbook ${rb.id} runs it`);
    },
  });
  for (const rb of list) {
    const mine = specs.get(rb.id) ?? [];
    const services = new Set<string>(rb.serviceParams ?? []);
    const { data: _parent, ...cmd } = runbookCommand({
      data,
      runbook: rb.id,
      role: rolesOf(rb, fourEyes).start,
      params: (i) => paramsOf(i, mine),
      complete: async (i, option, deps) => {
        // (`host` itself is completed by runbookCommand: hosts, groups, all.)
        if (services.has(option)) return hostServices(i, deps);
        const fromHost = completerOf(rb, option);
        if (!fromHost) return [];
        // The other options typed so far (the subcommand's), e.g. the service whose versions to suggest.
        const given = Object.fromEntries((i.options.data[0]?.options ?? []).filter((o) => o.name !== option).map((o) => [o.name, o.value]));
        // On a group, values come from its first host (as services do): suggestions, not a check.
        const host = deps.engine.host(deps.engine.target(i.options.getString('host') ?? undefined).hosts[0]);
        return (await fromHost(host, given)).map((s) => ({ name: s.label, value: s.value }));
      },
    });
    subs.set(rb.id, cmd);
  }
  return subcommandsCommand(data, subs);
};
