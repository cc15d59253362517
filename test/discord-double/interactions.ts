import type {
  APIApplicationCommand,
  APIApplicationCommandOption,
  APIInteraction,
  APIMessage,
} from 'discord-api-types/v10';
import { ComponentType, OptionType, isObject } from './limits.js';
import { interactionToken, snowflake } from './snowflake.js';
import type { ChannelState, InteractionKind, InteractionRecord, MemberState, StoredMessage, World } from './state.js';
import type { OptionValue } from './types.js';

export const InteractionType = {
  Ping: 1,
  ApplicationCommand: 2,
  MessageComponent: 3,
  ApplicationCommandAutocomplete: 4,
  ModalSubmit: 5,
} as const;

export const CallbackType = {
  Pong: 1,
  ChannelMessageWithSource: 4,
  DeferredChannelMessageWithSource: 5,
  DeferredMessageUpdate: 6,
  UpdateMessage: 7,
  ApplicationCommandAutocompleteResult: 8,
  Modal: 9,
} as const;

export const CALLBACK_NAMES: Readonly<Record<number, string>> = {
  1: 'PONG',
  4: 'CHANNEL_MESSAGE_WITH_SOURCE',
  5: 'DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE',
  6: 'DEFERRED_UPDATE_MESSAGE',
  7: 'UPDATE_MESSAGE',
  8: 'APPLICATION_COMMAND_AUTOCOMPLETE_RESULT',
  9: 'MODAL',
  10: 'PREMIUM_REQUIRED',
  12: 'LAUNCH_ACTIVITY',
};

type Json = Record<string, unknown>;

interface Resolved {
  users: Record<string, unknown>;
  members: Record<string, unknown>;
  roles: Record<string, unknown>;
  channels: Record<string, unknown>;
}

interface Common {
  member: MemberState;
  channel: ChannelState;
  locale: string;
  maxFileSize: number;
}

/** The part every interaction payload shares: ids, token, guild, channel, member, permissions, … */
function basePayload(world: World, type: number, common: Common): { id: string; token: string; payload: Json } {
  const id = snowflake();
  const token = interactionToken(id);
  const permissions = world.memberPermissions(common.member).toString();
  const payload: Json = {
    id,
    application_id: world.application.id,
    type,
    token,
    version: 1,
    guild_id: world.guild.id,
    guild: { id: world.guild.id, locale: 'en-US', features: [] },
    channel_id: common.channel.id,
    channel: { ...world.channelJson(common.channel), permissions },
    member: { ...world.memberJson(common.member), permissions },
    app_permissions: world.appPermissions(),
    locale: common.locale,
    guild_locale: 'en-US',
    entitlements: [],
    authorizing_integration_owners: { '0': world.guild.id },
    context: 0,
    attachment_size_limit: common.maxFileSize,
  };
  return { id, token, payload };
}

function newRecord(
  id: string,
  token: string,
  kind: InteractionKind,
  payload: Json,
  common: Common,
  label: string,
  extra: Partial<InteractionRecord> = {},
): InteractionRecord {
  return {
    id,
    token,
    kind,
    payload: payload as unknown as APIInteraction,
    channelId: common.channel.id,
    userId: common.member.user.id,
    label,
    createdAt: Date.now(),
    attempts: [],
    sourceRevision: 0,
    followupIds: [],
    followupReplacedDeferred: false,
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------
// Application commands and autocomplete

/** Finds a registered command (guild scope first, then global). */
export function findCommand(world: World, name: string, type = 1): APIApplicationCommand | undefined {
  for (const scope of [world.guild.id, 'global']) {
    const found = world.commandList(scope).find((c) => c.name === name && c.type === type);
    if (found) return found;
  }
  return undefined;
}

function registeredNames(world: World): string {
  const names = [...world.commandList(world.guild.id), ...world.commandList('global')].map((c) => c.name);
  return names.length > 0 ? names.join(', ') : 'none: were commands registered? see waitForCommands()';
}

export interface CommandPath {
  command: APIApplicationCommand;
  /** [group?, subcommand?] option definitions leading to the leaf. */
  chain: APIApplicationCommandOption[];
  /** Option definitions of the leaf (command or subcommand). */
  leafOptions: readonly APIApplicationCommandOption[];
  label: string;
}

/** Resolves `name` (may be "cmd sub" or "cmd group sub") plus explicit subcommand(Group) to definitions. */
export function resolveCommandPath(
  world: World,
  input: { name: string; subcommandGroup?: string | undefined; subcommand?: string | undefined },
): CommandPath {
  const parts = input.name.trim().split(/\s+/);
  const [name = '', ...rest] = parts;
  if (input.subcommandGroup !== undefined) rest.push(input.subcommandGroup);
  if (input.subcommand !== undefined) rest.push(input.subcommand);
  const command = findCommand(world, name);
  if (!command) throw new Error(`Discord double: command "/${name}" is not registered (registered: ${registeredNames(world)})`);
  const chain: APIApplicationCommandOption[] = [];
  let options: readonly APIApplicationCommandOption[] = command.options ?? [];
  for (const part of rest) {
    const next = options.find(
      (o) => o.name === part && (o.type === OptionType.Subcommand || o.type === OptionType.SubcommandGroup),
    );
    if (!next) {
      const subs = options.filter((o) => o.type === OptionType.Subcommand || o.type === OptionType.SubcommandGroup);
      throw new Error(
        `Discord double: "/${name}" has no subcommand (group) "${part}" at that level (has: ${subs.map((o) => o.name).join(', ') || 'none'})`,
      );
    }
    chain.push(next);
    options = 'options' in next && next.options ? (next.options as readonly APIApplicationCommandOption[]) : [];
  }
  const needsSub = options.some((o) => o.type === OptionType.Subcommand || o.type === OptionType.SubcommandGroup);
  if (needsSub) {
    throw new Error(
      `Discord double: "/${[name, ...rest].join(' ')}" needs a subcommand: ${options.map((o) => o.name).join(', ')}`,
    );
  }
  return { command, chain, leafOptions: options, label: `/${[name, ...rest].join(' ')}` };
}

function optionTypeName(type: number): string {
  return Object.entries(OptionType).find(([, v]) => v === type)?.[0] ?? String(type);
}

/** Converts a test's option value to the typed value Discord would send, filling `resolved`. */
function convertOption(
  world: World,
  def: APIApplicationCommandOption,
  raw: OptionValue,
  resolved: Resolved,
  label: string,
  checkChoices: boolean,
  checkLimits = true,
): string | number | boolean {
  const fail = (why: string): never => {
    throw new Error(`Discord double: option "${def.name}" (${optionTypeName(def.type)}) of ${label}: ${why}`);
  };
  const defJson = def as unknown as Json;
  switch (def.type) {
    case OptionType.String: {
      if (typeof raw !== 'string') fail(`expected a string, got ${JSON.stringify(raw)}`);
      const value = raw as string;
      if (checkLimits && typeof defJson.min_length === 'number' && value.length < defJson.min_length) fail(`shorter than min_length ${defJson.min_length}`);
      if (checkLimits && typeof defJson.max_length === 'number' && value.length > defJson.max_length) fail(`longer than max_length ${defJson.max_length}`);
      checkChoice(defJson, value, checkChoices && checkLimits, fail);
      return value;
    }
    case OptionType.Integer:
    case OptionType.Number: {
      const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      if (typeof value !== 'number' || Number.isNaN(value)) fail(`expected a number, got ${JSON.stringify(raw)}`);
      const n = value as number;
      if (def.type === OptionType.Integer && !Number.isInteger(n)) fail(`expected an integer, got ${n}`);
      if (checkLimits && typeof defJson.min_value === 'number' && n < defJson.min_value) fail(`below min_value ${defJson.min_value}`);
      if (checkLimits && typeof defJson.max_value === 'number' && n > defJson.max_value) fail(`above max_value ${defJson.max_value}`);
      checkChoice(defJson, n, checkChoices && checkLimits, fail);
      return n;
    }
    case OptionType.Boolean: {
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'false') return raw === 'true';
      return fail(`expected a boolean, got ${JSON.stringify(raw)}`);
    }
    case OptionType.User:
    case OptionType.Mentionable: {
      const ref = String(raw);
      const member = tryResolve(() => world.resolveMember(ref));
      if (member) {
        resolved.users[member.user.id] = { ...member.user };
        const { user: _user, ...partial } = world.memberJson(member);
        resolved.members[member.user.id] = { ...partial, permissions: world.memberPermissions(member).toString() };
        return member.user.id;
      }
      if (def.type === OptionType.Mentionable) {
        const role = tryResolve(() => world.resolveRole(ref));
        if (role) {
          resolved.roles[role.id] = world.roleJson(role);
          return role.id;
        }
      }
      return fail(`unknown ${def.type === OptionType.User ? 'member' : 'member or role'} "${ref}"`);
    }
    case OptionType.Channel: {
      const channel = tryResolve(() => world.resolveChannel(String(raw))) ?? fail(`unknown channel "${String(raw)}"`);
      const types = defJson.channel_types;
      if (Array.isArray(types) && types.length > 0 && !types.includes(0)) fail(`channel_types ${JSON.stringify(types)} excludes text channels`);
      const json = world.channelJson(channel);
      resolved.channels[json.id] = {
        id: json.id,
        name: json.name,
        type: json.type,
        parent_id: json.parent_id,
        permissions: world.appPermissions(),
        flags: 0,
      };
      return json.id;
    }
    case OptionType.Role: {
      const role = tryResolve(() => world.resolveRole(String(raw))) ?? fail(`unknown role "${String(raw)}"`);
      resolved.roles[role.id] = world.roleJson(role);
      return role.id;
    }
    default:
      return fail('this option type is not supported by the double');
  }
}

function checkChoice(def: Json, value: string | number, check: boolean, fail: (why: string) => never): void {
  if (!check || !Array.isArray(def.choices) || def.choices.length === 0) return;
  const values = def.choices.filter(isObject).map((c) => c.value);
  if (!values.includes(value)) fail(`${JSON.stringify(value)} is not one of the choices ${JSON.stringify(values)}`);
}

function tryResolve<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

export interface CommandInteractionInput {
  name: string;
  subcommandGroup?: string | undefined;
  subcommand?: string | undefined;
  options?: Readonly<Record<string, OptionValue>> | undefined;
  member: string;
  channel?: string | undefined;
  locale?: string | undefined;
  /** Skip min/max length, min/max value and choices (a client with stale command definitions). */
  unchecked?: boolean | undefined;
}

export interface AutocompleteInteractionInput extends CommandInteractionInput {
  /** Name of the option being typed in. */
  focused: string;
  /** What the user has typed so far (default: `options[focused]`, else ""). */
  value?: string | undefined;
}

function defaultChannel(world: World, ref: string | undefined): ChannelState {
  if (ref !== undefined) return world.resolveChannel(ref);
  const first = world.channels.values().next().value;
  if (!first) throw new Error('Discord double: the guild has no channels');
  return first;
}

function buildCommandData(
  world: World,
  path: CommandPath,
  input: CommandInteractionInput,
  focused: { name: string; value: string } | undefined,
): { data: Json; resolved: Resolved } {
  const resolved: Resolved = { users: {}, members: {}, roles: {}, channels: {} };
  const given = { ...input.options };
  if (focused) given[focused.name] = focused.value;
  const known = new Map(path.leafOptions.map((o) => [o.name, o]));
  for (const key of Object.keys(given)) {
    if (!known.has(key)) {
      throw new Error(
        `Discord double: ${path.label} has no option "${key}" (options: ${[...known.keys()].join(', ') || 'none'})`,
      );
    }
  }
  const leaf: Json[] = [];
  for (const def of path.leafOptions) {
    const raw = given[def.name];
    const required = 'required' in def && def.required === true;
    if (raw === undefined) {
      if (required && !focused) throw new Error(`Discord double: ${path.label} requires option "${def.name}"`);
      continue;
    }
    if (focused && def.name === focused.name) {
      if (!('autocomplete' in def) || def.autocomplete !== true) {
        throw new Error(`Discord double: option "${def.name}" of ${path.label} does not have autocomplete enabled`);
      }
      leaf.push({ name: def.name, type: def.type, value: focused.value, focused: true });
      continue;
    }
    leaf.push({ name: def.name, type: def.type, value: convertOption(world, def, raw, resolved, path.label, !focused, input.unchecked !== true) });
  }
  let options: Json[] = leaf;
  for (const link of [...path.chain].reverse()) options = [{ name: link.name, type: link.type, options }];
  const data: Json = { id: path.command.id, name: path.command.name, type: path.command.type };
  if (path.command.guild_id) data.guild_id = path.command.guild_id;
  if (options.length > 0) data.options = options;
  const hasResolved = Object.values(resolved).some((m) => Object.keys(m).length > 0);
  if (hasResolved) {
    const r: Json = {};
    for (const [key, map] of Object.entries(resolved)) if (Object.keys(map).length > 0) r[key] = map;
    data.resolved = r;
  }
  return { data, resolved };
}

export function buildCommandInteraction(
  world: World,
  input: CommandInteractionInput,
  maxFileSize: number,
): InteractionRecord {
  const path = resolveCommandPath(world, input);
  const member = world.resolveMember(input.member);
  const channel = defaultChannel(world, input.channel);
  const common: Common = { member, channel, locale: input.locale ?? 'en-US', maxFileSize };
  const { data } = buildCommandData(world, path, input, undefined);
  const { id, token, payload } = basePayload(world, InteractionType.ApplicationCommand, common);
  payload.data = data;
  return newRecord(id, token, 'command', payload, common, `${path.label} by ${member.key}`, {
    commandName: path.command.name,
    commandType: path.command.type,
  });
}

export function buildAutocompleteInteraction(
  world: World,
  input: AutocompleteInteractionInput,
  maxFileSize: number,
): InteractionRecord {
  const path = resolveCommandPath(world, input);
  const member = world.resolveMember(input.member);
  const channel = defaultChannel(world, input.channel);
  const common: Common = { member, channel, locale: input.locale ?? 'en-US', maxFileSize };
  const typed = input.value ?? (input.options?.[input.focused] !== undefined ? String(input.options[input.focused]) : '');
  const others = { ...input.options };
  delete others[input.focused];
  const { data } = buildCommandData(world, path, { ...input, options: others }, { name: input.focused, value: typed });
  const { id, token, payload } = basePayload(world, InteractionType.ApplicationCommandAutocomplete, common);
  payload.data = data;
  return newRecord(id, token, 'autocomplete', payload, common, `autocomplete ${path.label} (${input.focused}="${typed}") by ${member.key}`, {
    commandName: path.command.name,
    commandType: path.command.type,
  });
}

// ---------------------------------------------------------------------------------------------
// Message components

/** Every component of a message (classic rows, and V2 containers/sections/accessories). */
export function messageComponents(message: Pick<APIMessage, 'components'>): Json[] {
  const out: Json[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item);
      return;
    }
    if (!isObject(value)) return;
    out.push(value);
    walk(value.components);
    walk(value.component);
    walk(value.accessory);
  };
  walk(message.components);
  return out;
}

export interface ComponentInteractionInput {
  stored: StoredMessage;
  customId: string;
  member: string;
  channel?: string | undefined;
  values?: readonly string[] | undefined;
  force?: boolean | undefined;
  locale?: string | undefined;
}

const SELECTS: ReadonlySet<number> = new Set([
  ComponentType.StringSelect,
  ComponentType.UserSelect,
  ComponentType.RoleSelect,
  ComponentType.MentionableSelect,
  ComponentType.ChannelSelect,
]);

export function buildComponentInteraction(
  world: World,
  input: ComponentInteractionInput,
  expect: 'button' | 'select',
  maxFileSize: number,
): InteractionRecord {
  const message = input.stored.data;
  const components = messageComponents(message).filter(
    (c) => c.type === ComponentType.Button || (typeof c.type === 'number' && SELECTS.has(c.type)),
  );
  const component = components.find((c) => c.custom_id === input.customId);
  const listing = components.map((c) => `${String(c.custom_id ?? c.url)}${c.disabled === true ? ' (disabled)' : ''}`).join(', ');
  if (!input.force) {
    if (input.stored.deleted) throw new Error(`Discord double: message ${message.id} was deleted`);
    if (!component) {
      throw new Error(`Discord double: message ${message.id} has no component with custom_id "${input.customId}" (has: ${listing || 'none'})`);
    }
    if (component.disabled === true) {
      throw new Error(`Discord double: component "${input.customId}" on message ${message.id} is disabled; a user cannot click it (pass force: true to simulate a stale client)`);
    }
    const isButton = component.type === ComponentType.Button;
    if (expect === 'button' && !isButton) throw new Error(`Discord double: "${input.customId}" is a select menu, not a button`);
    if (expect === 'select' && isButton) throw new Error(`Discord double: "${input.customId}" is a button, not a select menu`);
    if (expect === 'select') {
      const values = input.values ?? [];
      const min = typeof component.min_values === 'number' ? component.min_values : 1;
      const max = typeof component.max_values === 'number' ? component.max_values : 1;
      if (values.length < min || values.length > max) {
        throw new Error(`Discord double: select "${input.customId}" takes ${min}..${max} values, got ${values.length}`);
      }
      if (component.type === ComponentType.StringSelect && Array.isArray(component.options)) {
        const allowed = component.options.filter(isObject).map((o) => o.value);
        for (const v of values) if (!allowed.includes(v)) throw new Error(`Discord double: "${v}" is not an option of select "${input.customId}" (options: ${allowed.join(', ')})`);
      }
    }
  }
  const member = world.resolveMember(input.member);
  const channel = input.channel !== undefined ? world.resolveChannel(input.channel) : world.resolveChannel(message.channel_id);
  const common: Common = { member, channel, locale: input.locale ?? 'en-US', maxFileSize };
  const { id, token, payload } = basePayload(world, InteractionType.MessageComponent, common);
  const componentType = typeof component?.type === 'number' ? component.type : expect === 'button' ? ComponentType.Button : ComponentType.StringSelect;
  const data: Json = { custom_id: input.customId, component_type: componentType };
  if (typeof component?.id === 'number') data.id = component.id;
  if (expect === 'select') data.values = [...(input.values ?? [])];
  payload.data = data;
  payload.message = structuredClone(message);
  const what = expect === 'button' ? 'button' : 'select';
  return newRecord(id, token, 'component', payload, common, `${what} "${input.customId}" on message ${message.id} by ${member.key}`, {
    sourceMessageId: message.id,
    sourceRevision: input.stored.revision,
  });
}

// ---------------------------------------------------------------------------------------------
// Modal submits

/** The text inputs of a modal: custom_id → { required, wrapped in a Label? }. */
function modalInputs(modal: Json): { customId: string; required: boolean; label: boolean; id?: number }[] {
  const out: { customId: string; required: boolean; label: boolean; id?: number }[] = [];
  if (!Array.isArray(modal.components)) return out;
  for (const row of modal.components) {
    if (!isObject(row)) continue;
    const inputs: [unknown, boolean][] =
      row.type === ComponentType.Label ? [[row.component, true]] : Array.isArray(row.components) ? row.components.map((c) => [c, false]) : [];
    for (const [input, label] of inputs) {
      if (!isObject(input) || input.type !== ComponentType.TextInput || typeof input.custom_id !== 'string') continue;
      out.push({
        customId: input.custom_id,
        required: input.required !== false,
        label,
        ...(typeof input.id === 'number' ? { id: input.id } : {}),
      });
    }
  }
  return out;
}

export function buildModalSubmitInteraction(
  world: World,
  parent: InteractionRecord,
  input: { fields: Readonly<Record<string, string>>; member?: string | undefined },
  maxFileSize: number,
): InteractionRecord {
  const modal = parent.modal;
  if (!modal) throw new Error(`Discord double: interaction ${parent.id} (${parent.label}) did not open a modal`);
  const inputs = modalInputs(modal);
  for (const key of Object.keys(input.fields)) {
    if (!inputs.some((i) => i.customId === key)) {
      throw new Error(`Discord double: the modal has no text input "${key}" (has: ${inputs.map((i) => i.customId).join(', ')})`);
    }
  }
  for (const i of inputs) {
    if (i.required && !input.fields[i.customId]) throw new Error(`Discord double: the modal's text input "${i.customId}" is required`);
  }
  const member = world.resolveMember(input.member ?? parent.userId);
  const channel = world.resolveChannel(parent.channelId);
  const common: Common = { member, channel, locale: 'en-US', maxFileSize };
  const { id, token, payload } = basePayload(world, InteractionType.ModalSubmit, common);
  const components = inputs
    .filter((i) => input.fields[i.customId] !== undefined)
    .map((i) => {
      const text: Json = { type: ComponentType.TextInput, custom_id: i.customId, value: input.fields[i.customId] };
      if (i.id !== undefined) text.id = i.id;
      return i.label ? { type: ComponentType.Label, component: text } : { type: ComponentType.ActionRow, components: [text] };
    });
  payload.data = { custom_id: modal.custom_id, components };
  const source = parent.sourceMessageId ? world.messages.get(parent.sourceMessageId) : undefined;
  if (source) payload.message = structuredClone(source.data);
  return newRecord(id, token, 'modal', payload, common, `modal "${String(modal.custom_id)}" submitted by ${member.key}`, {
    ...(source ? { sourceMessageId: source.data.id, sourceRevision: source.revision } : {}),
    ...(parent.commandName !== undefined ? { commandName: parent.commandName } : {}),
  });
}
