import type { AutocompleteInteraction, ChatInputCommandInteraction, RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import { UserError } from '../engine/errors.js';
import type { Engine } from '../engine/engine.js';
import type { Actor, Role, RunView } from '../engine/view.js';
import type { Store } from '../store/store.js';

export interface CommandDeps {
  engine: Engine;
  store: Store;
}

/** An autocomplete suggestion whose label differs from its value (e.g. a backup with its age and size). */
export interface Choice {
  name: string;
  value: string;
}

/** One slash command: its definition, the least role that may use it, and its handler. */
export interface Command {
  data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  role: Role;
  /** Synchronous input checks, answered before the (public) deferral; throws a UserError. */
  precheck?(interaction: ChatInputCommandInteraction, deps: CommandDeps): void;
  run(interaction: ChatInputCommandInteraction, actor: Actor, deps: CommandDeps): Promise<RunView>;
  /** The least role for this interaction when it depends on the subcommand (default: `role`). */
  roleFor?(interaction: ChatInputCommandInteraction): Role;
  /**
   * Candidates for an autocompleted option (the router filters them by what was typed, bounds
   * the wait to 2 s and answers none on failure). Default: host services for a `service` option.
   */
  complete?(interaction: AutocompleteInteraction, option: string, deps: CommandDeps): Promise<(string | Choice)[]>;
  /** Whether this interaction runs something on a host (the router then warms the host's lookups up). */
  usesHost?(interaction: ChatInputCommandInteraction): boolean;
  /** The runbook this command is an alias of (docs/commands.md says so). */
  runbook?: string;
}

/** The host's compose services, for any option that names one (for a group: its first host's). */
export const hostServices = (i: AutocompleteInteraction, { engine }: CommandDeps): Promise<string[]> => engine.host(engine.target(i.options.getString('host') ?? undefined).hosts[0]).services();

/** What a `host:` option suggests for a runbook: hosts, groups and `all` (a runbook that changes hosts rolls out over a group). */
export const hostTargets = (runbook: string, { engine }: CommandDeps): Choice[] => engine.targetSuggestions(runbook).map((s) => ({ name: s.label, value: s.value }));

/** One slash command whose subcommands are commands of their own (their `data` is the parent's). */
export function subcommandsCommand(data: RESTPostAPIChatInputApplicationCommandsJSONBody, subs: ReadonlyMap<string, Omit<Command, 'data'>>): Command {
  const sub = (i: ChatInputCommandInteraction | AutocompleteInteraction) => subs.get(i.options.getSubcommand(false) ?? '');
  const known = (i: ChatInputCommandInteraction) => {
    const s = sub(i);
    // A client with stale definitions can send a subcommand this version no longer has.
    if (!s) throw new UserError('command.unknown', `/${data.name} has no subcommand "${i.options.getSubcommand(false) ?? ''}" in this version of the bot. Nothing was run; \`/${data.name} list\` shows what there is.`);
    return s;
  };
  return {
    data,
    role: 'viewer',
    // Unknown subcommands are refused by precheck with a message; the strictest role guards them meanwhile.
    roleFor: (i) => sub(i)?.role ?? 'approver',
    precheck: (i, deps) => known(i).precheck?.(i, deps),
    run: (i, actor, deps) => known(i).run(i, actor, deps),
    usesHost: (i) => sub(i)?.usesHost?.(i) === true,
    complete: async (i, option, deps) => {
      const s = sub(i);
      if (s?.complete) return s.complete(i, option, deps);
      return option === 'service' ? hostServices(i, deps) : [];
    },
  };
}

/** A slash command that is only an alias of a runbook (StackStorm's action alias). */
export function runbookCommand(spec: {
  data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  runbook: string;
  role: Role;
  params: (i: ChatInputCommandInteraction) => Record<string, unknown>;
  complete?: Command['complete'];
}): Command {
  return {
    data: spec.data,
    role: spec.role,
    runbook: spec.runbook,
    complete: async (i, option, deps) => {
      if (option === 'host') return hostTargets(spec.runbook, deps);
      if (spec.complete) return spec.complete(i, option, deps);
      return option === 'service' ? hostServices(i, deps) : [];
    },
    precheck: (i, { engine }) => {
      engine.parseParams(spec.runbook, spec.params(i));
      // A group for a runbook that changes a host is refused before anything public appears.
      engine.checkTarget(spec.runbook, i.options.getString('host') ?? undefined);
    },
    usesHost: () => true,
    // A host, or a group / `all` (read-only runbooks: one run per host, shown together).
    run: (i, actor, { engine }) =>
      engine.startTarget({ runbook: spec.runbook, host: i.options.getString('host') ?? undefined, params: spec.params(i), actor, channelId: i.channelId }),
  };
}
