import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIApplicationCommand, APIMessage } from 'discord-api-types/v10';
import { type DropOptions, Gateway, type ReadySession } from './gateway.js';
import { type HandleHost, InteractionHandle, summarizeMessage } from './handle.js';
import {
  buildAutocompleteInteraction,
  buildCommandInteraction,
  buildComponentInteraction,
  buildModalSubmitInteraction,
} from './interactions.js';
import { LIMITS, MessageFlag } from './limits.js';
import { RestApi, type RestFault, type RestFaultState, type RestHold, type RestHoldState } from './rest.js';
import { type InteractionRecord, World } from './state.js';
import type {
  DefaultChannelKey,
  DefaultMemberKey,
  DefaultRoleKey,
  DiscordDoubleOptions,
  DoubleApplication,
  DoubleFile,
  DoubleGuild,
  DoubleMember,
  DoubleUser,
  GatewayStats,
  KeyOrId,
  MessagePredicate,
  OptionValue,
  RecordedRequest,
  Snowflake,
  Violation,
  WaitOptions,
} from './types.js';
import { ChangeFeed, waitUntil } from './wait.js';

export interface SendCommandOptions<C extends string, M extends string> {
  /** Command name; may include the subcommand path: `"runbook run"`. */
  name: string;
  subcommandGroup?: string;
  subcommand?: string;
  /** Option values by name. Users/channels/roles by key or id; types follow the registered definition. */
  options?: Readonly<Record<string, OptionValue>>;
  /** Member key (`'operator'`) or user id. */
  member: KeyOrId<M>;
  /** Channel key (`'alerts'`) or id; default: the first channel. */
  channel?: KeyOrId<C>;
  locale?: string;
  /**
   * Send option values outside the registered min/max length, min/max value or choices, as a
   * client holding stale command definitions can; types are still converted.
   */
  unchecked?: boolean;
}

export interface SendAutocompleteOptions<C extends string, M extends string> extends SendCommandOptions<C, M> {
  /** The option being typed in (must have `autocomplete: true`). */
  focused: string;
  /** What was typed so far; default `options[focused]` or "". */
  value?: string;
}

/** A message the double stored (any snapshot of it), or its id. */
export type MessageRef = Pick<APIMessage, 'id'> | Snowflake;

export interface ClickButtonOptions<C extends string, M extends string> {
  message: MessageRef;
  customId: string;
  member: KeyOrId<M>;
  /** Default: the message's channel. */
  channel?: KeyOrId<C>;
  /** Dispatch even if the button is missing or disabled (a stale client). */
  force?: boolean;
}

export interface SelectMenuOptions<C extends string, M extends string> extends ClickButtonOptions<C, M> {
  values: readonly string[];
}

export interface ChannelMessageOptions {
  /** Include ephemeral messages (only their recipient sees them); default false. */
  includeEphemeral?: boolean;
}

export interface WaitForCommandsOptions extends WaitOptions {
  /** Wait until these command names are registered. */
  names?: readonly string[];
  /** `guild` (default): the double's guild; `global`: global commands. */
  scope?: 'guild' | 'global';
}

/**
 * A local Discord (REST under /api/v10 + gateway) that an unmodified discord.js client logs in to,
 * with a test API to act as guild members and to inspect what the bot did.
 */
export class DiscordDouble<
  C extends string = DefaultChannelKey,
  R extends string = DefaultRoleKey,
  M extends string = DefaultMemberKey,
> implements HandleHost {
  readonly world: World;
  readonly feed = new ChangeFeed();
  readonly defaultTimeoutMs: number;
  /** The bot token the double accepts (REST: `Bot <token>`, gateway IDENTIFY). */
  readonly token: string;
  readonly guild: DoubleGuild;
  /** Channel ids by key. */
  readonly channels: Readonly<Record<C, Snowflake>>;
  /** Role ids by key; `everyone` is the guild id. */
  readonly roles: Readonly<Record<R | 'everyone', Snowflake>>;
  /** Members by key: id, username, role ids. */
  readonly members: Readonly<Record<M, DoubleMember>>;
  readonly bot: DoubleUser;
  readonly application: DoubleApplication;
  readonly limits = LIMITS;

  readonly #server: Server;
  readonly #gateway: Gateway;
  readonly #rest: RestApi;
  readonly #maxFileSize: number;
  readonly #requests: RecordedRequest[] = [];
  readonly #violations: Violation[] = [];
  #port = 0;
  #closed = false;

  constructor(options: DiscordDoubleOptions<C, R, M> = {}) {
    const world = new World(options as DiscordDoubleOptions<string, string, string>);
    this.world = world;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 10_000;
    this.#maxFileSize = options.maxFileSize ?? LIMITS.fileSize;
    this.token = world.token;
    this.guild = { id: world.guild.id, name: world.guild.name, ownerId: world.guild.ownerId };
    this.bot = { id: world.bot.id, username: world.bot.username };
    this.application = { id: world.application.id, flags: world.application.flags };
    this.channels = Object.fromEntries([...world.channels.values()].map((c) => [c.key, c.id])) as Record<C, Snowflake>;
    this.roles = Object.fromEntries([...world.roles.values()].map((r) => [r.key, r.id])) as Record<R | 'everyone', Snowflake>;
    this.members = Object.fromEntries(
      [...world.members.values()]
        .filter((m) => m.user.id !== world.bot.id)
        .map((m) => [
          m.key,
          { key: m.key, id: m.user.id, username: m.user.username, globalName: m.user.global_name, roles: [...m.roles] },
        ]),
    ) as Record<M, DoubleMember>;

    const notify = (): void => this.feed.notify();
    const onViolation = (violation: Violation): void => {
      this.#violations.push(violation);
    };
    this.#gateway = new Gateway(world, {
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250,
      url: () => this.gatewayUrl,
      onViolation: (v) => {
        onViolation(v);
        notify();
      },
      onChange: notify,
    });
    this.#rest = new RestApi(world, {
      ackDeadlineMs: options.ackDeadlineMs ?? 3000,
      interactionTokenTtlMs: options.interactionTokenTtlMs ?? 15 * 60_000,
      nonceWindowMs: options.nonceWindowMs ?? 5 * 60_000,
      maxFileSize: this.#maxFileSize,
      gatewayUrl: () => this.gatewayUrl,
      dispatch: (event, data, intent) => void this.#gateway.dispatch(event, data, intent),
      identifies: () => this.#gateway.identifies,
      onRequest: (request) => this.#requests.push(request),
      onViolation,
      onChange: notify,
    });
    this.#server = createServer((req, res) => void this.#rest.handle(req, res));
    this.#server.on('upgrade', (req, socket, head: Buffer) => this.#gateway.handleUpgrade(req, socket, head));
  }

  /** Starts listening on 127.0.0.1 (random port). {@link startDiscordDouble} does this for you. */
  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    this.world.baseUrl = this.baseUrl;
    return this;
  }

  get port(): number {
    return this.#port;
  }

  /** `http://127.0.0.1:PORT` */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** For `new Client({ rest: { api: double.apiUrl } })` / `DISCORD_API_URL`: `http://127.0.0.1:PORT/api`. */
  get apiUrl(): string {
    return `${this.baseUrl}/api`;
  }

  /** What GET /gateway/bot answers: `ws://127.0.0.1:PORT/gateway`. */
  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.#port}/gateway`;
  }

  /** Every REST request answered, oldest first (a copy). */
  get requests(): RecordedRequest[] {
    return [...this.#requests];
  }

  /** Every rule the bot broke (REST error answers, gateway close codes), oldest first (a copy). */
  get violations(): Violation[] {
    return [...this.#violations];
  }

  /** Forgets recorded requests and violations (e.g. after provoking a violation on purpose). */
  resetRecords(): void {
    this.#requests.length = 0;
    this.#violations.length = 0;
  }

  gatewayStats(): GatewayStats {
    return this.#gateway.stats();
  }

  // ------------------------------------------------------------------------------------------
  // Waiting for the bot

  #timeout(options: WaitOptions | undefined): number {
    return options?.timeoutMs ?? this.defaultTimeoutMs;
  }

  #describeState(): string {
    const stats = this.#gateway.stats();
    const lines = [
      `gateway: ${stats.connections.length} connection(s), ${stats.identifies} identify, ${stats.resumes} resume, ${stats.connectedSessions}/${stats.activeSessions} session(s) connected`,
      `commands: guild [${this.world.commandList(this.world.guild.id).map((c) => c.name).join(', ')}], global [${this.world.commandList('global').map((c) => c.name).join(', ')}]`,
      `requests: ${this.#requests.length}${this.#requests.length > 0 ? `, last: ${this.#requests.slice(-5).map((r) => `${r.method} ${r.path} → ${r.status}`).join('; ')}` : ''}`,
    ];
    for (const v of this.#violations.slice(-5)) lines.push(`violation: ${v.route} → ${v.status}/${v.code}: ${v.reason}`);
    return lines.join('\n');
  }

  /** Resolves once a client has identified (READY sent); with the session. */
  waitForReady(options?: WaitOptions): Promise<ReadySession> {
    return waitUntil(this.feed, {
      what: 'a client to IDENTIFY on the gateway',
      describe: () => this.#describeState(),
      timeoutMs: this.#timeout(options),
      check: () => {
        const session = this.#gateway.readySessions[0];
        return session ? { value: { ...session } } : undefined;
      },
    });
  }

  /** Resolves once a client has resumed a session more often than `after` times (default: now). */
  waitForResume(options?: WaitOptions & { after?: number }): Promise<number> {
    const after = options?.after ?? this.#gateway.resumes;
    return waitUntil(this.feed, {
      what: `a gateway RESUME (resumes so far: ${after})`,
      describe: () => this.#describeState(),
      timeoutMs: this.#timeout(options),
      check: () => (this.#gateway.resumes > after ? { value: this.#gateway.resumes } : undefined),
    });
  }

  /** Resolves once commands were registered for the guild (or globally), optionally incl. `names`. */
  waitForCommands(options?: WaitForCommandsOptions): Promise<APIApplicationCommand[]> {
    const scope = options?.scope === 'global' ? 'global' : this.world.guild.id;
    const names = options?.names ?? [];
    return waitUntil(this.feed, {
      what: `${options?.scope === 'global' ? 'global' : 'guild'} command registration${names.length > 0 ? ` of ${names.join(', ')}` : ''}`,
      describe: () => this.#describeState(),
      timeoutMs: this.#timeout(options),
      check: () => {
        if ((this.world.commandRegistrations.get(scope) ?? 0) === 0) return undefined;
        const list = this.world.commandList(scope);
        if (!names.every((n) => list.some((c) => c.name === n))) return undefined;
        return { value: structuredClone(list) };
      },
    });
  }

  /** Registered commands (`guild`, `global`, or `all` = guild then global). */
  commands(scope: 'all' | 'guild' | 'global' = 'all'): APIApplicationCommand[] {
    const guild = this.world.commandList(this.world.guild.id);
    const global = this.world.commandList('global');
    return structuredClone(scope === 'guild' ? guild : scope === 'global' ? global : [...guild, ...global]);
  }

  // ------------------------------------------------------------------------------------------
  // Acting as a member

  #dispatch(record: InteractionRecord): InteractionHandle {
    if (this.#closed) throw new Error('Discord double: closed');
    if (!this.#gateway.hasSession) {
      throw new Error('Discord double: no gateway session to send the interaction to; has the bot logged in? (await double.waitForReady())');
    }
    this.world.interactions.set(record.id, record);
    this.world.interactionsByToken.set(record.token, record);
    record.createdAt = Date.now();
    this.#gateway.dispatch('INTERACTION_CREATE', record.payload);
    this.feed.notify();
    return new InteractionHandle(this, record);
  }

  /** Sends a slash command as `member` in `channel`. Throws if it isn't registered or options don't fit. */
  sendCommand(options: SendCommandOptions<C, M>): InteractionHandle {
    return this.#dispatch(buildCommandInteraction(this.world, options, this.#maxFileSize));
  }

  /** Sends an autocomplete interaction for option `focused`; then `handle.waitForChoices()`. */
  sendAutocomplete(options: SendAutocompleteOptions<C, M>): InteractionHandle {
    return this.#dispatch(buildAutocompleteInteraction(this.world, options, this.#maxFileSize));
  }

  #storedMessage(ref: MessageRef): NonNullable<ReturnType<World['messages']['get']>> {
    const id = typeof ref === 'string' ? ref : ref.id;
    const stored = this.world.messages.get(id);
    if (!stored) throw new Error(`Discord double: no stored message ${id} (deleted, or never sent through the double)`);
    return stored;
  }

  /** Clicks the button `customId` on `message` (its latest state). Throws if missing or disabled unless `force`. */
  clickButton(options: ClickButtonOptions<C, M>): InteractionHandle {
    const stored = this.#storedMessage(options.message);
    return this.#dispatch(
      buildComponentInteraction(
        this.world,
        { stored, customId: options.customId, member: options.member, channel: options.channel, force: options.force },
        'button',
        this.#maxFileSize,
      ),
    );
  }

  /** Picks `values` in the select menu `customId` on `message`. */
  selectMenu(options: SelectMenuOptions<C, M>): InteractionHandle {
    const stored = this.#storedMessage(options.message);
    return this.#dispatch(
      buildComponentInteraction(
        this.world,
        { stored, customId: options.customId, member: options.member, channel: options.channel, force: options.force, values: options.values },
        'select',
        this.#maxFileSize,
      ),
    );
  }

  /** @internal used by {@link InteractionHandle.submitModal}. */
  submitModalFor(record: InteractionRecord, input: { fields: Readonly<Record<string, string>>; member?: string }): InteractionHandle {
    return this.#dispatch(buildModalSubmitInteraction(this.world, record, input, this.#maxFileSize));
  }

  /** Sends any gateway dispatch to every session (e.g. GUILD_MEMBER_UPDATE). */
  dispatchEvent(event: string, data: unknown): number {
    const count = this.#gateway.dispatch(event, data);
    this.feed.notify();
    return count;
  }

  /** Drops the gateway connection(s); by default with close code 4000, which discord.js resumes. */
  dropGateway(options?: DropOptions): number {
    return this.#gateway.drop(options);
  }

  /** Sends op 7 RECONNECT: the client closes and RESUMEs (see {@link waitForResume}). */
  sendReconnect(): number {
    return this.#gateway.drop({ mode: 'reconnect' });
  }

  /** Closes the connection with 4000, keeping the session: the client RESUMEs and gets missed events replayed. */
  forceResume(): number {
    return this.#gateway.drop({ mode: 'close', code: 4000 });
  }

  /**
   * Sends op 9 INVALID_SESSION. `resumable: false` (default) forgets the session: the client
   * IDENTIFYs again (see {@link waitForIdentify}); `true`: it RESUMEs.
   */
  sendInvalidSession(options: { resumable?: boolean } = {}): number {
    return this.#gateway.invalidSession(options.resumable === true);
  }

  /** Gateway outage: drops every connection (no close frame) and answers new ones 503 until {@link gatewayUp}. REST stays up. */
  gatewayDown(): number {
    const dropped = this.#gateway.down();
    this.feed.notify();
    return dropped;
  }

  gatewayUp(): void {
    this.#gateway.up();
    this.feed.notify();
  }

  /** {@link gatewayDown} for `ms`, then {@link gatewayUp}; resolves when the gateway is back. */
  async gatewayOutage(ms: number): Promise<void> {
    this.gatewayDown();
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (!this.#closed) this.gatewayUp();
  }

  /** True while the gateway is down. */
  get gatewayIsDown(): boolean {
    return this.#gateway.isDown;
  }

  /**
   * Makes the next `times` REST requests matching `method`/`path` fail with `status`: 429 with
   * Discord's `retry-after`, `X-RateLimit-*` headers and JSON body, or a 5xx. Injected answers are
   * recorded in {@link requests} (`injected: true`) and are not violations. See {@link restRoutes}.
   */
  failRest(fault: RestFault): RestFaultState {
    return this.#rest.addFault(fault);
  }

  /**
   * Holds matching REST requests unanswered until `release()`: e.g. the bot's command
   * registration, so that a test can act between READY and the end of the bot's start.
   */
  holdRest(hold: RestHold): RestHoldState {
    return this.#rest.addHold(hold);
  }

  /** Removes every injected REST fault that is still pending. */
  clearRestFaults(): void {
    this.#rest.clearFaults();
  }

  /** Resolves once a client has IDENTIFYed more often than `after` times (default: now). */
  waitForIdentify(options?: WaitOptions & { after?: number }): Promise<number> {
    const after = options?.after ?? this.#gateway.identifies;
    return waitUntil(this.feed, {
      what: `a gateway IDENTIFY (identifies so far: ${after})`,
      describe: () => this.#describeState(),
      timeoutMs: this.#timeout(options),
      check: () => (this.#gateway.identifies > after && this.#gateway.stats().connectedSessions > 0 ? { value: this.#gateway.identifies } : undefined),
    });
  }

  /** Resolves once a session is connected again (after a drop, outage, RESUME or new IDENTIFY). */
  waitForConnected(options?: WaitOptions): Promise<void> {
    return waitUntil(this.feed, {
      what: 'a connected gateway session',
      describe: () => this.#describeState(),
      timeoutMs: this.#timeout(options),
      check: () => (!this.#gateway.isDown && this.#gateway.stats().connectedSessions > 0 ? { value: undefined } : undefined),
    });
  }

  // ------------------------------------------------------------------------------------------
  // Inspecting messages

  /** Messages in a channel, oldest first (latest states). Ephemeral ones only with `includeEphemeral`. */
  channelMessages(channel: KeyOrId<C>, options?: ChannelMessageOptions): APIMessage[] {
    const id = this.world.resolveChannel(channel).id;
    return (this.world.channelMessageIds.get(id) ?? [])
      .flatMap((mid) => this.world.messageSnapshot(mid) ?? [])
      .filter((m) => options?.includeEphemeral === true || ((m.flags ?? 0) & MessageFlag.Ephemeral) === 0);
  }

  /** Resolves with the first (oldest) message in `channel` matching `predicate` (latest state). */
  waitForChannelMessage(
    channel: KeyOrId<C>,
    predicate?: MessagePredicate,
    options?: WaitOptions & ChannelMessageOptions,
  ): Promise<APIMessage> {
    const resolved = this.world.resolveChannel(channel);
    return waitUntil(this.feed, {
      what: `a message in #${resolved.name}${predicate ? ' matching the predicate' : ''}`,
      describe: () => {
        const messages = this.channelMessages(resolved.id, options);
        const lines = [`#${resolved.name} has ${messages.length} message(s):`, ...messages.map((m) => `  ${summarizeMessage(m)}`)];
        return `${lines.join('\n')}\n${this.#describeState()}`;
      },
      timeoutMs: this.#timeout(options),
      check: () => {
        const found = this.channelMessages(resolved.id, options).find((m) => !predicate || predicate(m));
        return found ? { value: found } : undefined;
      },
    });
  }

  /** Latest state of a stored message. */
  message(id: Snowflake): APIMessage | undefined {
    return this.world.messageSnapshot(id);
  }

  /** Every state a message had (creation, then each edit). */
  messageHistory(id: Snowflake): APIMessage[] {
    return structuredClone(this.world.messages.get(id)?.history ?? []);
  }

  /** The stored file of an attachment (name, content type, bytes, `text()`). */
  file(attachment: { id: Snowflake } | Snowflake): DoubleFile | undefined {
    return this.world.files.get(typeof attachment === 'string' ? attachment : attachment.id);
  }

  // ------------------------------------------------------------------------------------------

  /** Closes sockets and the server; pending waits reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.feed.close(new Error('Discord double closed'));
    this.#gateway.close();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }
}

/** Path patterns for {@link DiscordDouble.failRest}: the routes a bot answers interactions with. */
export const restRoutes = {
  /** `PATCH /webhooks/:app/:token/messages/@original`: editReply / the edit after deferUpdate. */
  originalEdit: { method: 'PATCH', path: /^\/webhooks\/\d+\/[^/]+\/messages\/@original$/ },
  /** `POST /webhooks/:app/:token`: followUp. */
  followup: { method: 'POST', path: /^\/webhooks\/\d+\/[^/]+$/ },
  /** `PATCH /channels/:channel/messages/:id`: message.edit through the channel. */
  channelMessageEdit: { method: 'PATCH', path: /^\/channels\/\d+\/messages\/\d+$/ },
  /** `POST /channels/:channel/messages`: channel.send. */
  channelMessageCreate: { method: 'POST', path: /^\/channels\/\d+\/messages$/ },
  /** `PUT /applications/:app/guilds/:guild/commands`: the bulk registration a bot does at start. */
  guildCommandsPut: { method: 'PUT', path: /^\/applications\/\d+\/guilds\/\d+\/commands$/ },
} as const satisfies Record<string, Pick<RestFault, 'method' | 'path'>>;

/** Starts a Discord double on 127.0.0.1 (random port). */
export async function startDiscordDouble<
  C extends string = DefaultChannelKey,
  R extends string = DefaultRoleKey,
  M extends string = DefaultMemberKey,
>(options: DiscordDoubleOptions<C, R, M> = {}): Promise<DiscordDouble<C, R, M>> {
  return new DiscordDouble<C, R, M>(options).listen();
}
