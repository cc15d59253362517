import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIApplicationCommand, APIMessage } from 'discord-api-types/v10';
import { type ParsedBody, type UploadedFile, parseRequestBody, readRequestBody } from './body.js';
import { ApiError, FormErrors, apiErrors } from './errors.js';
import { Intent } from './gateway.js';
import { CALLBACK_NAMES, CallbackType } from './interactions.js';
import {
  MessageFlag,
  isEmptyMessage,
  isObject,
  validateChoices,
  validateCommand,
  validateCommandList,
  validateMessageBody,
  validateModal,
} from './limits.js';
import type { InteractionRecord, StoredMessage, World } from './state.js';
import type { AutocompleteChoice, RecordedRequest, Snowflake, Violation } from './types.js';

type Json = Record<string, unknown>;

interface Context {
  method: string;
  path: string;
  route: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: ParsedBody;
  /** The body if it is a JSON object, else {}. */
  json: Json;
  /** When the request reached the double (epoch ms): what Discord's edge would time it by. */
  receivedAt: number;
}

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A fault a test injects: the next `times` requests that match get `status` instead of the route's answer. */
export interface RestFault {
  /** HTTP method (`PATCH`); default: any. */
  method?: string;
  /** Matched against the decoded path after `/api/v10`, e.g. `/webhooks/1/tok/messages/@original`. */
  path: RegExp;
  /** 429 (rate limited) or a 5xx. */
  status: number;
  /** How many matching requests fail (default 1). */
  times?: number;
  /** 429 only: the wait Discord asks for (default 1000 ms), sent as `retry-after`, `X-RateLimit-Reset-After` and `retry_after`. */
  retryAfterMs?: number;
  /** 429 only: `X-RateLimit-Scope` (default `user`); `global` also sends `X-RateLimit-Global`. */
  scope?: 'user' | 'global' | 'shared';
  /**
   * 5xx only: the request is carried out first and only its answer is lost, as when a proxy in
   * front of the API times out after the API did the work (a retry then meets what it did).
   */
  afterHandling?: boolean;
}

/** A request a test holds back: it is answered only once the test releases it. */
export interface RestHold {
  /** HTTP method (`PUT`); default: any. */
  method?: string;
  /** Matched against the decoded path after `/api/v10`. */
  path: RegExp;
}

/** A pending hold: `arrived` resolves when the first matching request is waiting; `release()` lets it (and later ones) through. */
export interface RestHoldState {
  readonly hold: Readonly<RestHold>;
  readonly arrived: Promise<void>;
  release(): void;
}

/** An injected fault and what it did so far. */
export interface RestFaultState {
  readonly fault: Readonly<RestFault>;
  /** Requests answered with the fault. */
  hits: number;
  /** Requests still to fail. */
  remaining: number;
}

type Handler = (ctx: Context) => Answer | Promise<Answer>;

interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  keys: string[];
  /** Needs `Authorization: Bot <token>`. */
  auth: boolean;
  handler: Handler;
}

export interface RestOptions {
  ackDeadlineMs: number;
  /** How long a channel message's nonce is remembered for `enforce_nonce`. */
  nonceWindowMs: number;
  interactionTokenTtlMs: number;
  maxFileSize: number;
  gatewayUrl: () => string;
  dispatch: (event: string, data: unknown, intent?: number) => void;
  identifies: () => number;
  onRequest: (request: RecordedRequest) => void;
  onViolation: (violation: Violation) => void;
  onChange: () => void;
}

const ok = (body: unknown, status = 200): Answer => ({ status, body });
const noContent: Answer = { status: 204 };

const missingAccess = (reason: string): ApiError => new ApiError(403, { code: 50001, message: 'Missing Access' }, reason);

/** The REST API under /api/v10: the routes discord.js uses, with Discord's answers to rule breaks. */
export class RestApi {
  readonly #world: World;
  readonly #options: RestOptions;
  readonly #routes: Route[] = [];
  readonly #faults: RestFaultState[] = [];
  readonly #holds: { hold: RestHold; arrive: () => void; released: Promise<void> }[] = [];
  /** The bot's channel messages by nonce, for `enforce_nonce`. */
  readonly #nonces = new Map<string, { messageId: Snowflake; at: number }>();

  constructor(world: World, options: RestOptions) {
    this.#world = world;
    this.#options = options;
    this.#defineRoutes();
  }

  /** Makes the next matching requests fail (see {@link RestFault}); faults are tried oldest first. */
  addFault(fault: RestFault): RestFaultState {
    if (fault.afterHandling === true && fault.status < 500) throw new Error('Discord double: afterHandling is for 5xx faults (a lost answer), not 429');
    const state: RestFaultState = { fault: { ...fault }, hits: 0, remaining: fault.times ?? 1 };
    this.#faults.push(state);
    return state;
  }

  clearFaults(): void {
    this.#faults.length = 0;
  }

  /** Holds matching requests back until `release()` (e.g. the bot's command registration, to act in between). */
  addHold(hold: RestHold): RestHoldState {
    let arrive!: () => void;
    let release!: () => void;
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    const entry = { hold: { ...hold }, arrive, released };
    this.#holds.push(entry);
    return {
      hold: entry.hold,
      arrived,
      release: () => {
        release();
        const at = this.#holds.indexOf(entry);
        if (at !== -1) this.#holds.splice(at, 1);
      },
    };
  }

  async #waitForHolds(method: string, path: string): Promise<void> {
    for (const h of [...this.#holds]) {
      if ((h.hold.method === undefined || h.hold.method.toUpperCase() === method) && h.hold.path.test(path)) {
        h.arrive();
        await h.released;
      }
    }
  }

  /** A message's nonce as Discord takes it (an integer or a string of at most 25 characters), as a map key. */
  #nonceOf(json: Record<string, unknown>): string | undefined {
    const nonce = json.nonce;
    if (nonce === undefined || nonce === null) return undefined;
    if ((typeof nonce === 'number' && Number.isInteger(nonce)) || (typeof nonce === 'string' && nonce.length <= 25)) return String(nonce);
    const errors = new FormErrors();
    errors.add(['nonce'], 'BASE_TYPE_BAD_LENGTH', 'Must be an integer or a string of 25 characters or fewer.');
    throw apiErrors.invalidFormBody(errors);
  }

  #takeFault(method: string, path: string, afterHandling: boolean): Answer | undefined {
    const state = this.#faults.find(
      (f) => f.remaining > 0 && (f.fault.afterHandling === true) === afterHandling && (f.fault.method === undefined || f.fault.method.toUpperCase() === method) && f.fault.path.test(path),
    );
    if (!state) return undefined;
    state.remaining -= 1;
    state.hits += 1;
    const { status } = state.fault;
    if (status !== 429) return { status, body: { message: `${status}: ${status === 500 ? 'Internal Server Error' : status === 502 ? 'Bad Gateway' : 'Service Unavailable'}`, code: 0 } };
    const seconds = (state.fault.retryAfterMs ?? 1000) / 1000;
    const scope = state.fault.scope ?? 'user';
    // What Discord sends with a 429: the wait in the header (whole seconds) and the body, and the bucket's state.
    const headers: Record<string, string> = {
      'retry-after': String(Math.ceil(seconds)),
      'x-ratelimit-limit': '5',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': ((Date.now() + seconds * 1000) / 1000).toFixed(3),
      'x-ratelimit-reset-after': seconds.toFixed(3),
      'x-ratelimit-bucket': 'double-fault-bucket',
      'x-ratelimit-scope': scope,
    };
    if (scope === 'global') headers['x-ratelimit-global'] = 'true';
    return { status, headers, body: { message: 'You are being rate limited.', retry_after: seconds, global: scope === 'global', code: 0 } };
  }

  // ------------------------------------------------------------------------------------------
  // HTTP plumbing

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Timed as it arrives, handled one event-loop phase later: requests that reach the double
    // together (a burst of callbacks) are each timed on arrival, not after the double's own work
    // on the ones before it, which Discord's edge, many servers wide, does not queue them behind.
    const receivedAt = Date.now();
    await new Promise<void>((resolve) => setImmediate(resolve));
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    if (url.pathname.startsWith('/attachments/') && method === 'GET') {
      this.#serveAttachment(url.pathname, res);
      return;
    }
    const match = /^\/api\/v(\d+)(\/.*)$/.exec(url.pathname);
    const path = match?.[2] ?? url.pathname;
    const at = Date.now();
    let route = '(unknown route)';
    let answer: Answer;
    let injected = false;
    let body: ParsedBody = { kind: 'none', json: undefined, files: [] };
    try {
      const raw = await readRequestBody(req);
      if (!match) throw apiErrors.notFound(`not an API path: ${url.pathname} (expected /api/v10/...)`);
      if (match[1] !== '10') throw apiErrors.notFound(`API version v${match[1]} is not served by the double (v10 only)`);
      const found = this.#match(method, path);
      if (!found) throw apiErrors.notFound(`no such route in the double: ${method} ${path}`);
      if ('methodNotAllowed' in found) {
        route = found.template;
        throw apiErrors.methodNotAllowed(`${method} is not supported on ${found.template}`);
      }
      route = found.route.template;
      if (found.route.auth) this.#checkAuth(req.headers.authorization);
      body = await parseRequestBody(raw, req.headers['content-type']);
      await this.#waitForHolds(method, safeDecode(path));
      const fault = this.#takeFault(method, safeDecode(path), false);
      if (fault) {
        injected = true;
        answer = fault;
      } else {
        const tooLarge = body.files.find((f) => f.size > this.#options.maxFileSize);
        if (tooLarge) {
          throw apiErrors.entityTooLarge(
            `file "${tooLarge.filename}" is ${tooLarge.size} bytes; the limit is ${this.#options.maxFileSize} bytes`,
          );
        }
        const ctx: Context = {
          method,
          path,
          route,
          params: found.params,
          query: url.searchParams,
          body,
          json: isObject(body.json) ? body.json : {},
          receivedAt,
        };
        answer = await found.route.handler(ctx);
        const lost = this.#takeFault(method, safeDecode(path), true);
        if (lost) {
          injected = true;
          answer = lost;
        }
      }
    } catch (error) {
      if (!(error instanceof ApiError)) {
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        answer = { status: 500, body: { code: 0, message: '500: Internal Server Error' } };
        this.#options.onViolation({ route: `${method} ${route}`, method, path: safeDecode(path), status: 500, code: 0, reason: `double crashed: ${message}`, at });
      } else {
        answer = { status: error.status, body: error.body };
        const violation: Violation = {
          route: `${method} ${route}`,
          method,
          path: safeDecode(path),
          status: error.status,
          code: error.code,
          reason: error.reason,
          at,
        };
        if (error.body.errors) violation.errors = error.body.errors;
        this.#options.onViolation(violation);
      }
    }
    const readablePath = safeDecode(path);
    this.#options.onRequest({
      method,
      path: readablePath,
      route,
      query: Object.fromEntries(url.searchParams),
      body: body.json,
      files: body.files.map((f) => ({ field: f.field, filename: f.filename, contentType: f.contentType, size: f.size, data: f.data })),
      at,
      status: answer.status,
      response: answer.body,
      ...(injected ? { injected: true as const } : {}),
    });
    this.#options.onChange();
    if (res.destroyed) return;
    if (answer.body === undefined) {
      res.writeHead(answer.status, answer.headers).end();
    } else {
      const payload = JSON.stringify(answer.body);
      res.writeHead(answer.status, { ...answer.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }).end(payload);
    }
  }

  #serveAttachment(pathname: string, res: ServerResponse): void {
    const [, , , attachmentId] = pathname.split('/');
    const file = attachmentId ? this.#world.files.get(attachmentId) : undefined;
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
      return;
    }
    res.writeHead(200, { 'content-type': file.contentType, 'content-length': file.size }).end(file.data);
  }

  #checkAuth(header: string | undefined): void {
    if (!header) throw apiErrors.unauthorized('no Authorization header');
    if (header !== `Bot ${this.#world.token}`) throw apiErrors.unauthorized('Authorization is not "Bot <the double\'s token>"');
  }

  #route(method: string, template: string, handler: Handler, auth = true): void {
    const keys: string[] = [];
    const source = template
      .split('/')
      .map((segment) => {
        if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        keys.push(segment.slice(1));
        return '([^/]+)';
      })
      .join('/');
    this.#routes.push({ method, template, pattern: new RegExp(`^${source}/?$`), keys, auth, handler });
  }

  #match(
    method: string,
    path: string,
  ): { route: Route; params: Record<string, string> } | { methodNotAllowed: true; template: string } | undefined {
    let other: Route | undefined;
    for (const route of this.#routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      if (route.method !== method) {
        other ??= route;
        continue;
      }
      const params: Record<string, string> = {};
      route.keys.forEach((key, i) => (params[key] = decodeURIComponent(m[i + 1] ?? '')));
      return { route, params };
    }
    return other ? { methodNotAllowed: true, template: other.template } : undefined;
  }

  // ------------------------------------------------------------------------------------------
  // Routes

  #defineRoutes(): void {
    const world = this.#world;
    const r = this.#route.bind(this);

    r('GET', '/gateway', () => ok({ url: this.#options.gatewayUrl() }), false);
    r('GET', '/gateway/bot', () =>
      ok({
        url: this.#options.gatewayUrl(),
        shards: 1,
        session_start_limit: {
          total: 1000,
          remaining: Math.max(0, 1000 - this.#options.identifies()),
          reset_after: 86_400_000,
          max_concurrency: 1,
        },
      }),
    );

    r('GET', '/users/@me', () => ok(world.bot));
    r('GET', '/users/:user_id', ({ params }) => ok(world.userJson(params.user_id ?? '') ?? throwIt(apiErrors.unknownUser(params.user_id ?? ''))));
    const application = (): Json => ({
      id: world.application.id,
      name: world.application.name,
      icon: null,
      description: '',
      summary: '',
      type: null,
      bot_public: true,
      bot_require_code_grant: false,
      verify_key: '0'.repeat(64),
      flags: world.application.flags,
      team: null,
      owner: { id: world.guild.ownerId, username: 'owner', discriminator: '0', global_name: null, avatar: null },
      bot: world.bot,
      approximate_guild_count: 1,
      install_params: { scopes: ['bot', 'applications.commands'], permissions: world.appPermissions() },
      integration_types_config: { '0': {} },
    });
    r('GET', '/applications/@me', () => ok(application()));
    r('GET', '/oauth2/applications/@me', () => ok(application()));

    // Application commands, global and guild.
    for (const guildScoped of [false, true]) {
      const base = guildScoped ? '/applications/:application_id/guilds/:guild_id/commands' : '/applications/:application_id/commands';
      const scopeOf = (params: Record<string, string>): string => {
        if (params.application_id !== world.application.id) throw apiErrors.unknownApplication(params.application_id ?? '');
        if (!guildScoped) return 'global';
        if (params.guild_id !== world.guild.id) throw missingAccess(`the bot is not in guild ${params.guild_id ?? ''}`);
        return world.guild.id;
      };
      r('GET', base, ({ params }) => ok(world.commandList(scopeOf(params))));
      r('PUT', base, ({ params, body }) => {
        const scope = scopeOf(params);
        const errors = new FormErrors();
        validateCommandList(errors, body.json);
        if (!errors.empty) throw apiErrors.invalidFormBody(errors);
        const previous = world.commandList(scope);
        const next = (body.json as Json[]).map((command) => {
          const type = typeof command.type === 'number' ? command.type : 1;
          return world.storeCommand(scope, command, previous.find((p) => p.name === command.name && p.type === type));
        });
        world.commands.set(scope, next);
        world.commandRegistrations.set(scope, (world.commandRegistrations.get(scope) ?? 0) + 1);
        return ok(next);
      });
      r('POST', base, ({ params, json }) => {
        const scope = scopeOf(params);
        const errors = new FormErrors();
        validateCommand(errors, [], json);
        if (!errors.empty) throw apiErrors.invalidFormBody(errors);
        const list = [...world.commandList(scope)];
        const type = typeof json.type === 'number' ? json.type : 1;
        const index = list.findIndex((c) => c.name === json.name && c.type === type);
        const command = world.storeCommand(scope, json, index >= 0 ? list[index] : undefined);
        if (index >= 0) list[index] = command;
        else list.push(command);
        world.commands.set(scope, list);
        world.commandRegistrations.set(scope, (world.commandRegistrations.get(scope) ?? 0) + 1);
        return ok(command, index >= 0 ? 200 : 201);
      });
      const findCommand = (params: Record<string, string>): { scope: string; list: APIApplicationCommand[]; index: number } => {
        const scope = scopeOf(params);
        const list = [...world.commandList(scope)];
        const index = list.findIndex((c) => c.id === params.command_id);
        if (index < 0) throw apiErrors.unknownCommand(params.command_id ?? '');
        return { scope, list, index };
      };
      r('GET', `${base}/:command_id`, ({ params }) => {
        const { list, index } = findCommand(params);
        return ok(list[index]);
      });
      r('PATCH', `${base}/:command_id`, ({ params, json }) => {
        const { scope, list, index } = findCommand(params);
        const previous = list[index];
        const errors = new FormErrors();
        validateCommand(errors, [], { ...previous, ...json }, true);
        if (!errors.empty) throw apiErrors.invalidFormBody(errors);
        const command = world.storeCommand(scope, { ...(previous as unknown as Json), ...json }, previous);
        list[index] = command;
        world.commands.set(scope, list);
        return ok(command);
      });
      r('DELETE', `${base}/:command_id`, ({ params }) => {
        const { scope, list, index } = findCommand(params);
        list.splice(index, 1);
        world.commands.set(scope, list);
        return noContent;
      });
    }

    // Interactions.
    r('POST', '/interactions/:interaction_id/:token/callback', (ctx) => this.#callback(ctx), false);
    r('GET', '/webhooks/:application_id/:token/messages/:message_id', ({ params }) => {
      const record = this.#interactionWebhook(params);
      return ok(structuredClone(this.#webhookMessage(record, params.message_id ?? '').data));
    }, false);
    r('PATCH', '/webhooks/:application_id/:token/messages/:message_id', ({ params, json, body }) => {
      const record = this.#interactionWebhook(params);
      const stored = this.#webhookMessage(record, params.message_id ?? '');
      this.#validateMessage(json, body.files, []);
      world.editMessage(stored, json, body.files);
      this.#announce('MESSAGE_UPDATE', stored);
      return ok(structuredClone(stored.data));
    }, false);
    r('DELETE', '/webhooks/:application_id/:token/messages/:message_id', ({ params }) => {
      const record = this.#interactionWebhook(params);
      const stored = this.#webhookMessage(record, params.message_id ?? '');
      world.deleteMessage(stored);
      this.#announceDelete(stored);
      return noContent;
    }, false);
    r('POST', '/webhooks/:application_id/:token', (ctx) => this.#followup(ctx), false);

    // Channels and messages.
    const channelOf = (params: Record<string, string>) => {
      const channel = world.channels.get(params.channel_id ?? '');
      if (!channel) throw apiErrors.unknownChannel(params.channel_id ?? '');
      return channel;
    };
    const channelMessage = (params: Record<string, string>): StoredMessage => {
      const channel = channelOf(params);
      const stored = world.messages.get(params.message_id ?? '');
      if (!stored || stored.data.channel_id !== channel.id || ((stored.data.flags ?? 0) & MessageFlag.Ephemeral) !== 0) {
        throw apiErrors.unknownMessage(`no message ${params.message_id ?? ''} in channel ${channel.id} (ephemeral messages are not reachable through channel routes)`);
      }
      return stored;
    };
    r('GET', '/channels/:channel_id', ({ params }) => ok(world.channelJson(channelOf(params))));
    r('GET', '/channels/:channel_id/messages', ({ params, query }) => {
      const channel = channelOf(params);
      const limit = Math.min(100, Math.max(1, Number(query.get('limit') ?? 50) || 50));
      let ids = [...(world.channelMessageIds.get(channel.id) ?? [])].filter((id) => {
        const m = world.messages.get(id);
        return m && ((m.data.flags ?? 0) & MessageFlag.Ephemeral) === 0;
      });
      const before = query.get('before');
      const after = query.get('after');
      if (before) ids = ids.filter((id) => BigInt(id) < BigInt(before));
      if (after) ids = ids.filter((id) => BigInt(id) > BigInt(after)).slice(0, limit);
      const page = ids.slice(-limit).reverse();
      return ok(page.flatMap((id) => world.messageSnapshot(id) ?? []));
    });
    r('POST', '/channels/:channel_id/messages', ({ params, json, body }) => {
      const channel = channelOf(params);
      this.#validateMessage(json, body.files, []);
      const nonce = this.#nonceOf(json);
      // enforce_nonce: the bot's message with this nonce from the last few minutes comes back, and none is created.
      const earlier = json.enforce_nonce === true && nonce !== undefined ? this.#nonces.get(nonce) : undefined;
      if (earlier && Date.now() - earlier.at <= this.#options.nonceWindowMs && world.messages.has(earlier.messageId)) {
        return ok(structuredClone(world.messages.get(earlier.messageId)!.data));
      }
      const flags = typeof json.flags === 'number' ? json.flags & (MessageFlag.SuppressEmbeds | MessageFlag.SuppressNotifications | MessageFlag.IsComponentsV2) : 0;
      const stored = world.createMessage({ channelId: channel.id, body: json, files: body.files, type: 0, flags });
      if (nonce !== undefined) this.#nonces.set(nonce, { messageId: stored.data.id, at: Date.now() });
      this.#announce('MESSAGE_CREATE', stored);
      return ok(structuredClone(stored.data));
    });
    r('GET', '/channels/:channel_id/messages/:message_id', ({ params }) => ok(structuredClone(channelMessage(params).data)));
    r('PATCH', '/channels/:channel_id/messages/:message_id', ({ params, json, body }) => {
      const stored = channelMessage(params);
      if (stored.data.author.id !== world.bot.id) throw apiErrors.cannotEditOthers(`message ${stored.data.id} was not sent by the bot`);
      this.#validateMessage(json, body.files, []);
      world.editMessage(stored, json, body.files);
      this.#announce('MESSAGE_UPDATE', stored);
      return ok(structuredClone(stored.data));
    });
    r('DELETE', '/channels/:channel_id/messages/:message_id', ({ params }) => {
      const stored = channelMessage(params);
      world.deleteMessage(stored);
      this.#announceDelete(stored);
      return noContent;
    });
    r('POST', '/channels/:channel_id/typing', ({ params }) => {
      channelOf(params);
      return noContent;
    });

    // Guilds.
    const guildOf = (params: Record<string, string>): void => {
      if (params.guild_id !== world.guild.id) throw apiErrors.unknownGuild(params.guild_id ?? '');
    };
    r('GET', '/guilds/:guild_id', ({ params, query }) => {
      guildOf(params);
      const guild: Json = { ...world.guildJson() };
      if (query.get('with_counts') === 'true') {
        guild.approximate_member_count = world.members.size;
        guild.approximate_presence_count = 0;
      }
      return ok(guild);
    });
    r('GET', '/guilds/:guild_id/channels', ({ params }) => {
      guildOf(params);
      return ok([...world.channels.values()].map((c) => world.channelJson(c)));
    });
    r('GET', '/guilds/:guild_id/roles', ({ params }) => {
      guildOf(params);
      return ok([...world.roles.values()].map((role) => world.roleJson(role)));
    });
    r('GET', '/guilds/:guild_id/members', ({ params, query }) => {
      guildOf(params);
      const limit = Math.min(1000, Math.max(1, Number(query.get('limit') ?? 1) || 1));
      const after = query.get('after') ?? '0';
      const members = [...world.members.values()]
        .filter((m) => BigInt(m.user.id) > BigInt(after))
        .sort((a, b) => (BigInt(a.user.id) < BigInt(b.user.id) ? -1 : 1))
        .slice(0, limit);
      return ok(members.map((m) => world.memberJson(m)));
    });
    r('GET', '/guilds/:guild_id/members/search', ({ params, query }) => {
      guildOf(params);
      const q = (query.get('query') ?? '').toLowerCase();
      const limit = Math.min(1000, Math.max(1, Number(query.get('limit') ?? 1) || 1));
      const members = [...world.members.values()].filter((m) => m.user.username.toLowerCase().startsWith(q)).slice(0, limit);
      return ok(members.map((m) => world.memberJson(m)));
    });
    r('GET', '/guilds/:guild_id/members/:user_id', ({ params }) => {
      guildOf(params);
      const member = world.members.get(params.user_id ?? '');
      if (!member) throw apiErrors.unknownMember(params.user_id ?? '');
      return ok(world.memberJson(member));
    });
  }

  // ------------------------------------------------------------------------------------------
  // Messages: validation and gateway announcements

  /** 50035 for limit violations (with `prefix` for callback `data`), before anything is stored. */
  #validateMessage(json: Json, files: readonly UploadedFile[], prefix: (string | number)[]): void {
    const errors = new FormErrors();
    validateMessageBody(errors, json, { files: files.length, prefix });
    if (!errors.empty) throw apiErrors.invalidFormBody(errors);
  }

  #guildMessage(stored: StoredMessage): Json {
    const bot = this.#world.members.get(this.#world.bot.id);
    const member = bot ? this.#world.memberJson(bot) : undefined;
    const { user: _user, ...partialMember } = member ?? { user: undefined };
    return { ...structuredClone(stored.data), guild_id: this.#world.guild.id, member: partialMember };
  }

  /** MESSAGE_CREATE/UPDATE to sessions with GUILD_MESSAGES (never for ephemeral messages). */
  #announce(event: 'MESSAGE_CREATE' | 'MESSAGE_UPDATE', stored: StoredMessage): void {
    if (((stored.data.flags ?? 0) & MessageFlag.Ephemeral) !== 0) return;
    this.#options.dispatch(event, this.#guildMessage(stored), Intent.GuildMessages);
  }

  #announceDelete(stored: StoredMessage): void {
    if (((stored.data.flags ?? 0) & MessageFlag.Ephemeral) !== 0) return;
    this.#options.dispatch(
      'MESSAGE_DELETE',
      { id: stored.data.id, channel_id: stored.data.channel_id, guild_id: this.#world.guild.id },
      Intent.GuildMessages,
    );
  }

  // ------------------------------------------------------------------------------------------
  // Interaction callbacks

  #interactionMetadata(record: InteractionRecord, extra: Json = {}): APIMessage['interaction_metadata'] {
    const world = this.#world;
    const user = world.userJson(record.userId);
    const meta: Json = {
      id: record.id,
      type: record.payload.type,
      user,
      authorizing_integration_owners: { '0': world.guild.id },
      ...extra,
    };
    if (record.kind === 'command') {
      meta.name = record.commandName;
      meta.command_type = record.commandType ?? 1;
    }
    if (record.kind === 'component' && record.sourceMessageId) meta.interacted_message_id = record.sourceMessageId;
    return meta as unknown as APIMessage['interaction_metadata'];
  }

  #allowedCallbackTypes(record: InteractionRecord): number[] {
    switch (record.kind) {
      case 'command':
        return [CallbackType.ChannelMessageWithSource, CallbackType.DeferredChannelMessageWithSource, CallbackType.Modal];
      case 'component':
        return [
          CallbackType.ChannelMessageWithSource,
          CallbackType.DeferredChannelMessageWithSource,
          CallbackType.DeferredMessageUpdate,
          CallbackType.UpdateMessage,
          CallbackType.Modal,
        ];
      case 'autocomplete':
        return [CallbackType.ApplicationCommandAutocompleteResult];
      case 'modal':
        return record.sourceMessageId
          ? [
              CallbackType.ChannelMessageWithSource,
              CallbackType.DeferredChannelMessageWithSource,
              CallbackType.DeferredMessageUpdate,
              CallbackType.UpdateMessage,
            ]
          : [CallbackType.ChannelMessageWithSource, CallbackType.DeferredChannelMessageWithSource];
    }
  }

  #callback(ctx: Context): Answer {
    const world = this.#world;
    const now = ctx.receivedAt;
    const record = world.interactions.get(ctx.params.interaction_id ?? '');
    const type = typeof ctx.json.type === 'number' ? ctx.json.type : undefined;
    if (!record || record.token !== ctx.params.token) {
      throw apiErrors.unknownInteraction(`no interaction ${ctx.params.interaction_id ?? ''} with that token`);
    }
    try {
      const answer = this.#applyCallback(ctx, record, type, now);
      record.attempts.push({ type, at: now, status: answer.status });
      return answer;
    } catch (error) {
      if (error instanceof ApiError) {
        record.attempts.push({ type, at: now, status: error.status, code: error.code, reason: error.reason });
      }
      throw error;
    }
  }

  #applyCallback(ctx: Context, record: InteractionRecord, type: number | undefined, now: number): Answer {
    const world = this.#world;
    if (record.ack) {
      throw apiErrors.alreadyAcknowledged(
        `interaction ${record.id} (${record.label}) was already acknowledged with type ${record.ack.type} ${CALLBACK_NAMES[record.ack.type] ?? ''} ${now - record.ack.at} ms earlier`,
      );
    }
    const elapsed = now - record.createdAt;
    if (elapsed > this.#options.ackDeadlineMs) {
      throw apiErrors.unknownInteraction(
        `interaction ${record.id} (${record.label}) acknowledged ${elapsed} ms after dispatch; the deadline is ${this.#options.ackDeadlineMs} ms`,
      );
    }
    const allowed = this.#allowedCallbackTypes(record);
    if (type === undefined || !allowed.includes(type)) {
      const errors = new FormErrors();
      errors.add(
        ['type'],
        'INTERACTION_CALLBACK_TYPE_INVALID',
        `Callback type ${type ?? '(missing)'} is not valid for a ${record.kind} interaction (allowed: ${allowed.join(', ')})`,
      );
      throw apiErrors.invalidFormBody(errors);
    }
    const data = isObject(ctx.json.data) ? ctx.json.data : undefined;
    const files = ctx.body.files;
    let resource: Json | undefined;
    const messageType = record.kind === 'command' ? 20 : 0;
    const ephemeralOf = (flags: unknown): number => (typeof flags === 'number' ? flags & MessageFlag.Ephemeral : 0);

    switch (type) {
      case CallbackType.ChannelMessageWithSource: {
        const body = data ?? {};
        this.#validateMessage(body, files, ['data']);
        const flags =
          typeof body.flags === 'number'
            ? body.flags & (MessageFlag.Ephemeral | MessageFlag.SuppressEmbeds | MessageFlag.SuppressNotifications | MessageFlag.IsComponentsV2)
            : 0;
        const stored = world.createMessage({
          channelId: record.channelId,
          body,
          files,
          type: messageType,
          flags,
          webhook: true,
          interaction: record,
          interactionMetadata: this.#interactionMetadata(record),
        });
        record.replyMessageId = stored.data.id;
        record.originalMessageId = stored.data.id;
        this.#announce('MESSAGE_CREATE', stored);
        resource = { type, message: structuredClone(stored.data) };
        break;
      }
      case CallbackType.DeferredChannelMessageWithSource: {
        const flags = ephemeralOf(data?.flags) | MessageFlag.Loading;
        const stored = world.createMessage({
          channelId: record.channelId,
          body: {},
          files: [],
          type: messageType,
          flags,
          webhook: true,
          interaction: record,
          interactionMetadata: this.#interactionMetadata(record),
        });
        record.replyMessageId = stored.data.id;
        record.originalMessageId = stored.data.id;
        this.#announce('MESSAGE_CREATE', stored);
        resource = { type };
        break;
      }
      case CallbackType.DeferredMessageUpdate: {
        if (record.sourceMessageId !== undefined) record.originalMessageId = record.sourceMessageId;
        resource = { type };
        break;
      }
      case CallbackType.UpdateMessage: {
        const source = record.sourceMessageId ? world.messages.get(record.sourceMessageId) : undefined;
        if (!source) throw apiErrors.unknownMessage(`the message of ${record.label} no longer exists`);
        const body = data ?? {};
        this.#validateMessage(body, files, ['data']);
        world.editMessage(source, body, files);
        record.originalMessageId = source.data.id;
        this.#announce('MESSAGE_UPDATE', source);
        resource = { type, message: structuredClone(source.data) };
        break;
      }
      case CallbackType.ApplicationCommandAutocompleteResult: {
        const errors = new FormErrors();
        validateChoices(errors, ['data', 'choices'], data?.choices, { required: true });
        if (!errors.empty) throw apiErrors.invalidFormBody(errors);
        record.choices = structuredClone(data?.choices) as AutocompleteChoice[];
        break;
      }
      case CallbackType.Modal: {
        const errors = new FormErrors();
        validateModal(errors, ['data'], data);
        if (!errors.empty) throw apiErrors.invalidFormBody(errors);
        record.modal = structuredClone(data) as Json;
        break;
      }
      default:
        break;
    }
    record.ack = { type, at: now, handledAt: Date.now() };

    if (ctx.query.get('with_response') !== 'true') return noContent;
    const interaction: Json = { id: record.id, type: record.payload.type };
    const message = record.originalMessageId ? world.messages.get(record.originalMessageId) : undefined;
    if (message && (type === CallbackType.ChannelMessageWithSource || type === CallbackType.DeferredChannelMessageWithSource || type === CallbackType.UpdateMessage)) {
      interaction.response_message_id = message.data.id;
      interaction.response_message_loading = ((message.data.flags ?? 0) & MessageFlag.Loading) !== 0;
      interaction.response_message_ephemeral = ((message.data.flags ?? 0) & MessageFlag.Ephemeral) !== 0;
    }
    return ok(resource ? { interaction, resource } : { interaction });
  }

  // ------------------------------------------------------------------------------------------
  // Interaction webhooks (original response, follow-ups)

  #interactionWebhook(params: Record<string, string>): InteractionRecord {
    const world = this.#world;
    if (params.application_id !== world.application.id) {
      throw apiErrors.unknownWebhook(`webhook id ${params.application_id ?? ''} is not the application id ${world.application.id}`);
    }
    const record = world.interactionsByToken.get(params.token ?? '');
    if (!record) throw apiErrors.invalidWebhookToken('no interaction has this token');
    const age = Date.now() - record.createdAt;
    if (age > this.#options.interactionTokenTtlMs) {
      throw apiErrors.invalidWebhookToken(
        `the token of interaction ${record.id} (${record.label}) expired: ${age} ms old, valid for ${this.#options.interactionTokenTtlMs} ms`,
      );
    }
    if (!record.ack || record.ack.type === CallbackType.ApplicationCommandAutocompleteResult) {
      throw apiErrors.unknownWebhook(
        `interaction ${record.id} (${record.label}) ${record.ack ? 'is an autocomplete' : 'was never acknowledged'}; its webhook does not exist`,
      );
    }
    return record;
  }

  #webhookMessage(record: InteractionRecord, messageId: string): StoredMessage {
    const world = this.#world;
    const id = messageId === '@original' ? record.originalMessageId : messageId;
    const stored = id ? world.messages.get(id) : undefined;
    if (!stored) {
      throw apiErrors.unknownMessage(
        messageId === '@original'
          ? `interaction ${record.id} (${record.label}) has no original response (acknowledged with type ${record.ack?.type ?? '-'})`
          : `no message ${messageId}`,
      );
    }
    const own =
      stored.data.id === record.originalMessageId ||
      stored.data.id === record.replyMessageId ||
      stored.data.id === record.sourceMessageId ||
      record.followupIds.includes(stored.data.id) ||
      (stored.data.webhook_id === world.application.id && stored.data.channel_id === record.channelId);
    if (!own) throw apiErrors.unknownMessage(`message ${messageId} does not belong to this interaction webhook`);
    return stored;
  }

  #followup(ctx: Context): Answer {
    const world = this.#world;
    const record = this.#interactionWebhook(ctx.params);
    const body = ctx.json;
    this.#validateMessage(body, ctx.body.files, []);
    const original = record.originalMessageId ? world.messages.get(record.originalMessageId) : undefined;
    let stored: StoredMessage;
    if (
      record.ack?.type === CallbackType.DeferredChannelMessageWithSource &&
      original &&
      ((original.data.flags ?? 0) & MessageFlag.Loading) !== 0 &&
      record.followupIds.length === 0 &&
      !record.followupReplacedDeferred
    ) {
      // Discord: the first follow-up after a deferral replaces the "thinking" message (keeping its ephemerality).
      if (isEmptyMessage({ ...body, attachments: ctx.body.files })) throw apiErrors.emptyMessage();
      world.editMessage(original, body, ctx.body.files);
      record.followupReplacedDeferred = true;
      stored = original;
      this.#announce('MESSAGE_UPDATE', stored);
    } else {
      const flags =
        typeof body.flags === 'number'
          ? body.flags & (MessageFlag.Ephemeral | MessageFlag.SuppressEmbeds | MessageFlag.SuppressNotifications | MessageFlag.IsComponentsV2)
          : 0;
      const extra: Json = {};
      if (record.originalMessageId) extra.original_response_message_id = record.originalMessageId;
      stored = world.createMessage({
        channelId: record.channelId,
        body,
        files: ctx.body.files,
        type: 0,
        flags,
        webhook: true,
        interaction: record,
        interactionMetadata: this.#interactionMetadata(record, extra),
      });
      record.followupIds.push(stored.data.id);
      this.#announce('MESSAGE_CREATE', stored);
    }
    // Without ?wait=true Discord answers 204 (discord.js always sends wait=true).
    if (ctx.query.get('wait') !== 'true') return noContent;
    return ok(structuredClone(stored.data));
  }
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function throwIt(error: Error): never {
  throw error;
}
