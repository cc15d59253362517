import type { ChatInputCommandInteraction, RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { Engine } from '../engine/engine.js';
import type { Actor, Role, RunView } from '../engine/view.js';
import type { Store } from '../store/store.js';

export interface CommandDeps {
  engine: Engine;
  store: Store;
}

/** One slash command: its definition, the least role that may use it, and its handler. */
export interface Command {
  data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  role: Role;
  /** Synchronous input checks, answered before the (public) deferral; throws a UserError. */
  precheck?(interaction: ChatInputCommandInteraction, deps: CommandDeps): void;
  run(interaction: ChatInputCommandInteraction, actor: Actor, deps: CommandDeps): Promise<RunView>;
}

/** A slash command that is only an alias of a runbook (StackStorm's action alias). */
export function runbookCommand(spec: {
  data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  runbook: string;
  role: Role;
  params: (i: ChatInputCommandInteraction) => Record<string, unknown>;
}): Command {
  return {
    data: spec.data,
    role: spec.role,
    precheck: (i, { engine }) => void engine.parseParams(spec.runbook, spec.params(i)),
    run: (i, actor, { engine }) =>
      engine.start({ runbook: spec.runbook, host: i.options.getString('host') ?? undefined, params: spec.params(i), actor, channelId: i.channelId }),
  };
}
