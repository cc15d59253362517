import type {
  APIApplicationCommand,
  APIAttachment,
  APIEmbed,
  APIGuild,
  APIGuildMember,
  APIInteraction,
  APIMessage,
  APIMessageTopLevelComponent,
  APIRole,
  APITextChannel,
  APIUser,
  ChannelFlags,
  GatewayGuildCreateDispatchData,
  GuildMemberFlags,
  GuildSystemChannelFlags,
  RoleFlags,
  UserFlags,
} from 'discord-api-types/v10';
import type { UploadedFile } from './body.js';
import { apiErrors } from './errors.js';
import { MessageFlag, isEmptyMessage, isObject } from './limits.js';
import { botToken, snowflake } from './snowflake.js';
import type {
  AutocompleteChoice,
  DiscordDoubleOptions,
  DoubleFile,
  MemberSpec,
  RoleSpec,
  ChannelSpec,
  Snowflake,
} from './types.js';

/** Permission bits used by the double. */
export const Permission = {
  CreateInstantInvite: 1n << 0n,
  Administrator: 1n << 3n,
  AddReactions: 1n << 6n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  ManageMessages: 1n << 13n,
  EmbedLinks: 1n << 14n,
  AttachFiles: 1n << 15n,
  ReadMessageHistory: 1n << 16n,
  UseExternalEmojis: 1n << 18n,
  Connect: 1n << 20n,
  Speak: 1n << 21n,
  ChangeNickname: 1n << 26n,
  UseApplicationCommands: 1n << 31n,
  SendMessagesInThreads: 1n << 38n,
} as const;

const ALL_PERMISSIONS = (1n << 53n) - 1n;

export const DEFAULT_EVERYONE_PERMISSIONS =
  Permission.CreateInstantInvite |
  Permission.AddReactions |
  Permission.ViewChannel |
  Permission.SendMessages |
  Permission.EmbedLinks |
  Permission.AttachFiles |
  Permission.ReadMessageHistory |
  Permission.UseExternalEmojis |
  Permission.Connect |
  Permission.Speak |
  Permission.ChangeNickname |
  Permission.UseApplicationCommands |
  Permission.SendMessagesInThreads;

const BOT_PERMISSIONS = DEFAULT_EVERYONE_PERMISSIONS | Permission.ManageMessages;

const DEFAULT_CHANNELS: readonly string[] = ['alerts', 'general'];
const DEFAULT_ROLES: readonly string[] = ['viewer', 'operator', 'approver'];
const DEFAULT_MEMBERS: Readonly<Record<string, MemberSpec<string>>> = {
  viewer: { roles: ['viewer'] },
  operator: { roles: ['operator', 'viewer'] },
  operator2: { roles: ['operator'] },
  approver: { roles: ['approver', 'operator'] },
  norole: { roles: [] },
};

export interface ChannelState {
  id: Snowflake;
  key: string;
  name: string;
  topic: string | null;
  position: number;
  lastMessageId: Snowflake | null;
}

export interface RoleState {
  id: Snowflake;
  key: string;
  name: string;
  permissions: bigint;
  color: number;
  position: number;
  hoist: boolean;
  mentionable: boolean;
}

export interface MemberState {
  key: string;
  user: APIUser;
  roles: Snowflake[];
  nick: string | null;
  joinedAt: string;
}

export interface StoredMessage {
  data: APIMessage;
  /** 0 when created, +1 on every edit. */
  revision: number;
  /** Every state the message had, oldest first. */
  history: APIMessage[];
  deleted: boolean;
  interactionId?: Snowflake;
}

export type InteractionKind = 'command' | 'autocomplete' | 'component' | 'modal';

export interface CallbackAttempt {
  type: number | undefined;
  at: number;
  status: number;
  code?: number;
  reason?: string;
}

export interface InteractionRecord {
  id: Snowflake;
  token: string;
  kind: InteractionKind;
  payload: APIInteraction;
  channelId: Snowflake;
  userId: Snowflake;
  /** Readable label for error messages: `/deploy by operator`. */
  label: string;
  createdAt: number;
  /** `at`: when the accepted callback reached the double; `handledAt`: when the double had handled it. */
  ack?: { type: number; at: number; handledAt: number };
  attempts: CallbackAttempt[];
  /** What `@original` refers to (the reply, or the component's message after types 6/7). */
  originalMessageId?: Snowflake;
  /** The message created by a type 4/5 callback. */
  replyMessageId?: Snowflake;
  /** The message a component was on (component interactions and modals opened from one). */
  sourceMessageId?: Snowflake;
  /** Revision of the source message when the interaction was created. */
  sourceRevision: number;
  followupIds: Snowflake[];
  /** Set when the first follow-up after a deferral replaced the "thinking" message (as Discord does). */
  followupReplacedDeferred: boolean;
  choices?: AutocompleteChoice[];
  modal?: Record<string, unknown>;
  commandName?: string;
  commandType?: number;
}

export class World {
  readonly guild: { id: Snowflake; name: string; ownerId: Snowflake; createdAt: string };
  readonly bot: APIUser;
  readonly application: { id: Snowflake; flags: number; name: string };
  readonly token: string;
  readonly channels = new Map<Snowflake, ChannelState>();
  readonly roles = new Map<Snowflake, RoleState>();
  readonly members = new Map<Snowflake, MemberState>();
  readonly everyone: RoleState;
  readonly messages = new Map<Snowflake, StoredMessage>();
  readonly channelMessageIds = new Map<Snowflake, Snowflake[]>();
  readonly files = new Map<Snowflake, DoubleFile>();
  /** Commands per scope: `global` or a guild id. */
  readonly commands = new Map<string, APIApplicationCommand[]>();
  readonly commandRegistrations = new Map<string, number>();
  readonly interactions = new Map<Snowflake, InteractionRecord>();
  readonly interactionsByToken = new Map<string, InteractionRecord>();
  /** http://127.0.0.1:port, known once the server listens. */
  baseUrl = 'http://127.0.0.1';

  constructor(options: DiscordDoubleOptions<string, string, string>) {
    const guildId = options.guild?.id ?? snowflake();
    const ownerId = snowflake();
    this.guild = {
      id: guildId,
      name: options.guild?.name ?? 'Opsbot Test Guild',
      ownerId,
      createdAt: new Date().toISOString(),
    };
    const botId = snowflake();
    this.bot = {
      id: botId,
      username: options.botUsername ?? 'opsbot',
      discriminator: '0001',
      global_name: null,
      avatar: null,
      bot: true,
      verified: true,
      mfa_enabled: false,
      flags: 0 as UserFlags,
      email: null,
    };
    this.application = { id: botId, flags: 1 << 23, name: this.bot.username };
    this.token = options.token ?? botToken(botId);

    this.everyone = {
      id: guildId,
      key: 'everyone',
      name: '@everyone',
      permissions: toBigInt(options.everyonePermissions ?? DEFAULT_EVERYONE_PERMISSIONS),
      color: 0,
      position: 0,
      hoist: false,
      mentionable: false,
    };
    this.roles.set(guildId, this.everyone);
    const roleSpecs = normalizeSpecs<RoleSpec>(options.roles, DEFAULT_ROLES);
    let position = 1;
    for (const [key, spec] of roleSpecs) {
      const id = snowflake();
      this.roles.set(id, {
        id,
        key,
        name: spec.name ?? key,
        permissions: toBigInt(spec.permissions ?? 0n),
        color: spec.color ?? 0,
        position: position++,
        hoist: spec.hoist ?? false,
        mentionable: spec.mentionable ?? false,
      });
    }

    const channelSpecs = normalizeSpecs<ChannelSpec>(options.channels, DEFAULT_CHANNELS);
    position = 0;
    for (const [key, spec] of channelSpecs) {
      const id = snowflake();
      this.channels.set(id, { id, key, name: spec.name ?? key, topic: spec.topic ?? null, position: position++, lastMessageId: null });
      this.channelMessageIds.set(id, []);
    }

    const memberSpecs = options.members ?? DEFAULT_MEMBERS;
    const joinedAt = new Date(Date.now() - 86_400_000).toISOString();
    for (const [key, spec] of Object.entries<MemberSpec<string>>(memberSpecs)) {
      const id = snowflake();
      const roles = (spec.roles ?? []).map((roleKey) => {
        const role = this.roleByKey(roleKey);
        if (!role) throw new Error(`Discord double: member "${key}" has unknown role "${roleKey}"`);
        return role.id;
      });
      this.members.set(id, {
        key,
        user: {
          id,
          username: spec.username ?? key,
          discriminator: '0',
          global_name: spec.globalName ?? null,
          avatar: null,
        },
        roles,
        nick: spec.nick ?? null,
        joinedAt,
      });
    }
    this.members.set(botId, { key: '@bot', user: this.bot, roles: [], nick: null, joinedAt });
  }

  // ------------------------------------------------------------------------------------------
  // Lookups

  roleByKey(key: string): RoleState | undefined {
    for (const role of this.roles.values()) if (role.key === key) return role;
    return undefined;
  }

  /** A member by key or user id; throws a readable error for the test API. */
  resolveMember(ref: string): MemberState {
    const byId = this.members.get(ref);
    if (byId && byId.user.id !== this.bot.id) return byId;
    for (const member of this.members.values()) if (member.key === ref && member.user.id !== this.bot.id) return member;
    const known = [...this.members.values()].filter((m) => m.user.id !== this.bot.id).map((m) => m.key);
    throw new Error(`Discord double: unknown member "${ref}" (known: ${known.join(', ')})`);
  }

  resolveChannel(ref: string): ChannelState {
    const byId = this.channels.get(ref);
    if (byId) return byId;
    for (const channel of this.channels.values()) if (channel.key === ref || channel.name === ref) return channel;
    const known = [...this.channels.values()].map((c) => c.key);
    throw new Error(`Discord double: unknown channel "${ref}" (known: ${known.join(', ')})`);
  }

  resolveRole(ref: string): RoleState {
    const byId = this.roles.get(ref);
    if (byId) return byId;
    const role = this.roleByKey(ref);
    if (role) return role;
    throw new Error(`Discord double: unknown role "${ref}"`);
  }

  /** Guild-level permissions of a member (roles OR-ed with @everyone; Administrator grants all). */
  memberPermissions(member: MemberState): bigint {
    if (member.user.id === this.guild.ownerId) return ALL_PERMISSIONS;
    let bits = this.everyone.permissions;
    for (const roleId of member.roles) bits |= this.roles.get(roleId)?.permissions ?? 0n;
    if (member.user.id === this.bot.id) bits |= BOT_PERMISSIONS;
    return (bits & Permission.Administrator) !== 0n ? ALL_PERMISSIONS : bits;
  }

  appPermissions(): string {
    const bot = this.members.get(this.bot.id);
    return bot ? this.memberPermissions(bot).toString() : BOT_PERMISSIONS.toString();
  }

  // ------------------------------------------------------------------------------------------
  // JSON renderings

  userJson(userId: Snowflake): APIUser | undefined {
    const member = this.members.get(userId);
    return member ? { ...member.user } : undefined;
  }

  memberJson(member: MemberState): APIGuildMember {
    return {
      user: { ...member.user },
      nick: member.nick,
      avatar: null,
      banner: null,
      roles: [...member.roles],
      joined_at: member.joinedAt,
      premium_since: null,
      deaf: false,
      mute: false,
      flags: 0 as GuildMemberFlags,
      pending: false,
      communication_disabled_until: null,
    };
  }

  roleJson(role: RoleState): APIRole {
    return {
      id: role.id,
      name: role.name,
      color: role.color,
      colors: { primary_color: role.color, secondary_color: null, tertiary_color: null },
      hoist: role.hoist,
      icon: null,
      unicode_emoji: null,
      position: role.position,
      permissions: role.permissions.toString(),
      managed: false,
      mentionable: role.mentionable,
      flags: 0 as RoleFlags,
    };
  }

  channelJson(channel: ChannelState): APITextChannel {
    return {
      id: channel.id,
      type: 0,
      guild_id: this.guild.id,
      name: channel.name,
      position: channel.position,
      permission_overwrites: [],
      parent_id: null,
      nsfw: false,
      topic: channel.topic,
      last_message_id: channel.lastMessageId,
      rate_limit_per_user: 0,
      flags: 0 as ChannelFlags,
    };
  }

  guildJson(): APIGuild {
    return {
      id: this.guild.id,
      name: this.guild.name,
      icon: null,
      icon_hash: null,
      splash: null,
      discovery_splash: null,
      owner_id: this.guild.ownerId,
      afk_channel_id: null,
      afk_timeout: 300,
      widget_enabled: false,
      widget_channel_id: null,
      verification_level: 0,
      default_message_notifications: 1,
      explicit_content_filter: 0,
      roles: [...this.roles.values()].map((role) => this.roleJson(role)),
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: null,
      system_channel_flags: 0 as GuildSystemChannelFlags,
      rules_channel_id: null,
      max_presences: null,
      max_members: 500_000,
      vanity_url_code: null,
      description: null,
      banner: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      preferred_locale: 'en-US' as APIGuild['preferred_locale'],
      public_updates_channel_id: null,
      max_video_channel_users: 25,
      max_stage_video_channel_users: 50,
      nsfw_level: 0,
      premium_progress_bar_enabled: false,
      hub_type: null,
      safety_alerts_channel_id: null,
      incidents_data: null,
    };
  }

  /** The GUILD_CREATE payload: guild + channels, members, roles and the gateway-only fields. */
  guildCreateJson(): GatewayGuildCreateDispatchData {
    return {
      ...this.guildJson(),
      joined_at: this.members.get(this.bot.id)?.joinedAt ?? this.guild.createdAt,
      large: false,
      unavailable: false,
      member_count: this.members.size,
      voice_states: [],
      members: [...this.members.values()].map((member) => this.memberJson(member)),
      channels: [...this.channels.values()].map((channel) => {
        const { guild_id: _guildId, ...rest } = this.channelJson(channel);
        return rest;
      }),
      threads: [],
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  // ------------------------------------------------------------------------------------------
  // Messages

  messageSnapshot(id: Snowflake): APIMessage | undefined {
    const stored = this.messages.get(id);
    return stored ? structuredClone(stored.data) : undefined;
  }

  /** Builds the attachments of a new or edited message from `attachments` entries and uploaded files. */
  private buildAttachments(
    message: { id: Snowflake; channelId: Snowflake; ephemeral: boolean },
    entries: unknown,
    files: readonly UploadedFile[],
    existing: readonly APIAttachment[],
  ): APIAttachment[] {
    const used = new Set<UploadedFile>();
    const result: APIAttachment[] = [];
    const addFile = (file: UploadedFile, meta: Record<string, unknown> | undefined): void => {
      used.add(file);
      const id = snowflake();
      const filename = typeof meta?.filename === 'string' && meta.filename ? meta.filename : file.filename;
      const url = `${this.baseUrl}/attachments/${message.channelId}/${id}/${encodeURIComponent(filename)}`;
      const attachment: APIAttachment = {
        id,
        filename,
        size: file.size,
        url,
        proxy_url: url,
        content_type: file.contentType,
      };
      if (typeof meta?.description === 'string') attachment.description = meta.description;
      if (typeof meta?.title === 'string') attachment.title = meta.title;
      if (message.ephemeral) attachment.ephemeral = true;
      result.push(attachment);
      const data = file.data;
      this.files.set(id, {
        attachmentId: id,
        messageId: message.id,
        filename,
        contentType: file.contentType,
        size: file.size,
        data,
        text: () => data.toString('utf8'),
      });
    };
    if (Array.isArray(entries)) {
      for (const entry of entries) {
        if (!isObject(entry)) continue;
        const id = String(entry.id);
        const kept = existing.find((a) => a.id === id);
        if (kept) {
          result.push({ ...kept, ...(typeof entry.description === 'string' ? { description: entry.description } : {}) });
          continue;
        }
        const file = files.find((f) => f.index !== undefined && String(f.index) === id && !used.has(f));
        if (file) addFile(file, entry);
      }
    } else {
      result.push(...existing);
    }
    for (const file of files) if (!used.has(file)) addFile(file, undefined);
    return result;
  }

  /** Creates and stores a message authored by the bot. Throws 50006 when it would be empty. */
  createMessage(init: {
    channelId: Snowflake;
    body: Record<string, unknown>;
    files: readonly UploadedFile[];
    type: number;
    flags?: number;
    webhook?: boolean;
    interaction?: InteractionRecord;
    interactionMetadata?: APIMessage['interaction_metadata'];
  }): StoredMessage {
    const id = snowflake();
    const flags = init.flags ?? (typeof init.body.flags === 'number' ? init.body.flags : 0);
    const ephemeral = (flags & MessageFlag.Ephemeral) !== 0;
    const loading = (flags & MessageFlag.Loading) !== 0;
    const data: APIMessage = {
      id,
      type: init.type,
      content: typeof init.body.content === 'string' ? init.body.content : '',
      channel_id: init.channelId,
      author: { ...this.bot },
      attachments: this.buildAttachments({ id, channelId: init.channelId, ephemeral }, init.body.attachments, init.files, []),
      embeds: normalizeEmbeds(init.body.embeds),
      mentions: [],
      mention_roles: [],
      pinned: false,
      mention_everyone: false,
      tts: init.body.tts === true,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      flags,
      components: normalizeComponents(init.body.components),
    };
    if (typeof init.body.nonce === 'string' || typeof init.body.nonce === 'number') data.nonce = init.body.nonce;
    if (init.webhook) {
      data.webhook_id = this.application.id;
      data.application_id = this.application.id;
    }
    if (init.interactionMetadata) data.interaction_metadata = init.interactionMetadata;
    if (init.interaction?.commandName !== undefined && init.interaction.kind !== 'component') {
      data.interaction = {
        id: init.interaction.id,
        type: init.interaction.payload.type,
        name: init.interaction.commandName,
        user: this.userJson(init.interaction.userId) ?? { ...this.bot },
      };
    }
    if (!loading && isEmptyMessage(data)) {
      this.discardFiles(data.attachments);
      throw apiErrors.emptyMessage();
    }
    const stored: StoredMessage = {
      data,
      revision: 0,
      history: [structuredClone(data)],
      deleted: false,
      ...(init.interaction ? { interactionId: init.interaction.id } : {}),
    };
    this.messages.set(id, stored);
    this.channelMessageIds.get(init.channelId)?.push(id);
    const channel = this.channels.get(init.channelId);
    if (channel && !ephemeral) channel.lastMessageId = id;
    return stored;
  }

  /**
   * Applies an edit body (PATCH semantics: absent fields stay, `null` clears) to a stored message.
   * Clears the loading flag. Throws 50006 if the result would be empty.
   */
  editMessage(stored: StoredMessage, body: Record<string, unknown>, files: readonly UploadedFile[]): StoredMessage {
    const old = stored.data;
    const wasLoading = ((old.flags ?? 0) & MessageFlag.Loading) !== 0;
    const next: APIMessage = structuredClone(old);
    if ('content' in body) next.content = typeof body.content === 'string' ? body.content : '';
    if ('embeds' in body) next.embeds = normalizeEmbeds(body.embeds);
    if ('components' in body) next.components = normalizeComponents(body.components);
    let flags = (old.flags ?? 0) & ~MessageFlag.Loading;
    if (typeof body.flags === 'number') {
      flags = (flags & ~MessageFlag.SuppressEmbeds) | (body.flags & (MessageFlag.SuppressEmbeds | MessageFlag.IsComponentsV2));
    }
    next.flags = flags;
    if ('attachments' in body || files.length > 0) {
      const ephemeral = (flags & MessageFlag.Ephemeral) !== 0;
      const entries = body.attachments === null ? [] : body.attachments;
      next.attachments = this.buildAttachments({ id: old.id, channelId: old.channel_id, ephemeral }, entries, files, old.attachments);
    }
    if (isEmptyMessage(next)) {
      this.discardFiles(next.attachments.filter((a) => !old.attachments.some((o) => o.id === a.id)));
      throw apiErrors.emptyMessage('the edit would leave the message empty');
    }
    if (!wasLoading) next.edited_timestamp = new Date().toISOString();
    stored.data = next;
    stored.revision += 1;
    stored.history.push(structuredClone(next));
    return stored;
  }

  deleteMessage(stored: StoredMessage): void {
    stored.deleted = true;
    this.messages.delete(stored.data.id);
    const ids = this.channelMessageIds.get(stored.data.channel_id);
    if (ids) {
      const index = ids.indexOf(stored.data.id);
      if (index >= 0) ids.splice(index, 1);
    }
  }

  private discardFiles(attachments: readonly APIAttachment[]): void {
    for (const attachment of attachments) this.files.delete(attachment.id);
  }

  // ------------------------------------------------------------------------------------------
  // Commands

  commandList(scope: string): APIApplicationCommand[] {
    return this.commands.get(scope) ?? [];
  }

  /** Turns a command body into the stored command, keeping id (and version if unchanged) of `previous`. */
  storeCommand(
    scope: string,
    body: Record<string, unknown>,
    previous: APIApplicationCommand | undefined,
  ): APIApplicationCommand {
    const type = typeof body.type === 'number' ? body.type : 1;
    const command: APIApplicationCommand = {
      id: previous?.id ?? snowflake(),
      application_id: this.application.id,
      version: previous?.version ?? snowflake(),
      default_member_permissions:
        typeof body.default_member_permissions === 'string' ? body.default_member_permissions : null,
      type,
      name: String(body.name),
      name_localizations: (body.name_localizations as APIApplicationCommand['name_localizations']) ?? null,
      description: typeof body.description === 'string' ? body.description : '',
      description_localizations:
        (body.description_localizations as APIApplicationCommand['description_localizations']) ?? null,
      nsfw: body.nsfw === true,
    };
    if (scope === 'global') {
      command.dm_permission = body.dm_permission !== false;
      command.integration_types = (body.integration_types as APIApplicationCommand['integration_types']) ?? [0];
      command.contexts = (body.contexts as APIApplicationCommand['contexts']) ?? null;
    } else {
      command.guild_id = scope;
    }
    if (Array.isArray(body.options) && body.options.length > 0) {
      command.options = stripNullish(body.options) as NonNullable<APIApplicationCommand['options']>;
    }
    if (previous) {
      const comparable = (c: APIApplicationCommand): string => JSON.stringify({ ...c, version: '' });
      if (comparable({ ...command, version: previous.version }) !== comparable(previous)) command.version = snowflake();
    }
    return command;
  }
}

function toBigInt(value: bigint | number | string): bigint {
  return typeof value === 'bigint' ? value : BigInt(value);
}

function normalizeSpecs<S extends object>(
  value: readonly string[] | Readonly<Record<string, S>> | undefined,
  defaults: readonly string[],
): [string, S][] {
  if (value === undefined) return defaults.map((key) => [key, {} as S]);
  if (Array.isArray(value)) return (value as readonly string[]).map((key) => [key, {} as S]);
  return Object.entries(value as Readonly<Record<string, S>>);
}

/** Drops `undefined`/`null` values recursively, like Discord's echo of a stored structure. */
function stripNullish(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripNullish);
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) if (v !== undefined && v !== null) out[key] = stripNullish(v);
    return out;
  }
  return value;
}

function normalizeEmbeds(value: unknown): APIEmbed[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isObject).map((embed) => ({ type: 'rich', ...(stripNullish(embed) as APIEmbed) }) as APIEmbed);
}

function normalizeComponents(value: unknown): APIMessageTopLevelComponent[] {
  if (!Array.isArray(value)) return [];
  return stripNullish(value) as APIMessageTopLevelComponent[];
}
