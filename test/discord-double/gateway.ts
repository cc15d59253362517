import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import type { GatewayReadyDispatchData } from 'discord-api-types/v10';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { isObject } from './limits.js';
import { sessionId as newSessionId } from './snowflake.js';
import type { World } from './state.js';
import type { GatewayConnectionInfo, GatewayStats, Violation } from './types.js';

export const GatewayOp = {
  Dispatch: 0,
  Heartbeat: 1,
  Identify: 2,
  PresenceUpdate: 3,
  VoiceStateUpdate: 4,
  Resume: 6,
  Reconnect: 7,
  RequestGuildMembers: 8,
  InvalidSession: 9,
  Hello: 10,
  HeartbeatAck: 11,
} as const;

export const GatewayClose = {
  UnknownError: 4000,
  UnknownOpcode: 4001,
  DecodeError: 4002,
  NotAuthenticated: 4003,
  AuthenticationFailed: 4004,
  AlreadyAuthenticated: 4005,
  InvalidSeq: 4007,
  InvalidShard: 4010,
  InvalidAPIVersion: 4012,
  InvalidIntents: 4013,
} as const;

export const Intent = {
  Guilds: 1 << 0,
  GuildMembers: 1 << 1,
  GuildMessages: 1 << 9,
} as const;

interface DispatchPayload {
  op: 0;
  t: string;
  s: number;
  d: unknown;
}

/** A gateway session: survives its socket so a client can RESUME and get missed events replayed. */
class Session {
  seq = 0;
  readonly buffer: DispatchPayload[] = [];
  connection: Connection | undefined;
  invalidated = false;

  constructor(
    readonly id: string,
    readonly intents: number,
    readonly shard: [number, number],
  ) {}

  /** Assigns the next sequence number, keeps the event for replay, sends it if connected. */
  dispatch(t: string, d: unknown): void {
    this.seq += 1;
    const payload: DispatchPayload = { op: 0, t, s: this.seq, d };
    this.buffer.push(payload);
    if (this.buffer.length > 5000) this.buffer.splice(0, this.buffer.length - 5000);
    this.connection?.send(payload);
  }
}

/** One WebSocket. Sends plain JSON text, zlib-stream binary frames, or (identify compress) zlib'd frames. */
class Connection {
  session: Session | undefined;
  identifyCompress = false;
  closedByServer = false;
  #queue: Promise<void> = Promise.resolve();
  #deflate: zlib.Deflate | undefined;
  #deflated: Buffer[] = [];

  constructor(
    readonly ws: WebSocket,
    readonly transportCompression: boolean,
  ) {
    if (transportCompression) {
      this.#deflate = zlib.createDeflate({ chunkSize: 65535 });
      this.#deflate.on('data', (chunk: Buffer) => this.#deflated.push(chunk));
    }
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(payload: object): void {
    const json = JSON.stringify(payload);
    this.#queue = this.#queue.then(() => this.#write(json)).catch(() => undefined);
  }

  close(code: number, reason: string): void {
    this.closedByServer = true;
    this.#queue = this.#queue.then(() => {
      if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code, reason);
    });
  }

  terminate(): void {
    this.closedByServer = true;
    this.ws.terminate();
  }

  async #write(json: string): Promise<void> {
    if (!this.open) return;
    if (this.#deflate) {
      const deflate = this.#deflate;
      await new Promise<void>((resolve) => {
        deflate.write(json);
        deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve());
      });
      const frame = Buffer.concat(this.#deflated.splice(0));
      if (this.open) this.ws.send(frame);
    } else if (this.identifyCompress) {
      this.ws.send(zlib.deflateSync(json));
    } else {
      this.ws.send(json);
    }
  }

  dispose(): void {
    this.#deflate?.destroy();
  }
}

export interface GatewayOptions {
  heartbeatIntervalMs: number;
  /** ws://127.0.0.1:port/gateway, known once the server listens. */
  url: () => string;
  onViolation: (violation: Violation) => void;
  onChange: () => void;
}

export interface DropOptions {
  /** `close` (default): close frame with `code`; `terminate`: drop the TCP connection (1006); `reconnect`: send op 7. */
  mode?: 'close' | 'terminate' | 'reconnect';
  /** Close code for mode `close` (default 4000, which discord.js resumes after). */
  code?: number;
  /** false: forget the sessions, so the client's RESUME gets INVALID_SESSION and it re-identifies. */
  resumable?: boolean;
}

export interface ReadySession {
  sessionId: string;
  intents: number;
  at: number;
}

/** The gateway: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME with replay, dispatches. */
export class Gateway {
  readonly #world: World;
  readonly #options: GatewayOptions;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #sessions = new Map<string, Session>();
  readonly #connections = new Set<Connection>();
  readonly connectionLog: GatewayConnectionInfo[] = [];
  readonly readySessions: ReadySession[] = [];
  identifies = 0;
  resumes = 0;
  heartbeats = 0;
  /** Connection attempts refused while the gateway was down. */
  refused = 0;
  #down = false;

  constructor(world: World, options: GatewayOptions) {
    this.#world = world;
    this.#options = options;
  }

  stats(): GatewayStats {
    const sessions = [...this.#sessions.values()].filter((s) => !s.invalidated);
    return {
      connections: [...this.connectionLog],
      identifies: this.identifies,
      resumes: this.resumes,
      heartbeats: this.heartbeats,
      activeSessions: sessions.length,
      connectedSessions: sessions.filter((s) => s.connection?.open).length,
      refused: this.refused,
    };
  }

  /** True when at least one session can receive events (now, or by replay after RESUME). */
  get hasSession(): boolean {
    return [...this.#sessions.values()].some((s) => !s.invalidated);
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', this.#options.url());
    if (url.pathname.replace(/\/+$/, '') !== '/gateway') {
      socket.destroy();
      return;
    }
    if (this.#down) {
      // What a client sees of a Discord gateway outage: the edge answers, the upgrade fails.
      this.refused += 1;
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      this.#options.onChange();
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, url));
  }

  /** Sends a dispatch to every live or resumable session (optionally only those with `intent`). */
  dispatch(t: string, d: unknown, intent?: number): number {
    let count = 0;
    for (const session of this.#sessions.values()) {
      if (session.invalidated) continue;
      if (intent !== undefined && (session.intents & intent) === 0) continue;
      session.dispatch(t, d);
      count += 1;
    }
    return count;
  }

  /** Drops every gateway connection (see {@link DropOptions}); returns how many were dropped. */
  drop(options: DropOptions = {}): number {
    const mode = options.mode ?? 'close';
    if (options.resumable === false) for (const session of this.#sessions.values()) session.invalidated = true;
    let count = 0;
    for (const connection of this.#connections) {
      count += 1;
      if (mode === 'terminate') connection.terminate();
      else if (mode === 'reconnect') connection.send({ op: GatewayOp.Reconnect, d: null, s: null, t: null });
      else connection.close(options.code ?? GatewayClose.UnknownError, 'Discord double dropped the connection');
    }
    return count;
  }

  /**
   * Sends op 9 INVALID_SESSION on every authenticated connection. `resumable: false` also forgets
   * the sessions, so the client has to IDENTIFY again; `true` lets it RESUME.
   */
  invalidSession(resumable: boolean): number {
    let count = 0;
    for (const connection of this.#connections) {
      const session = connection.session;
      if (!session) continue;
      count += 1;
      if (!resumable) session.invalidated = true;
      // The connection is no longer authenticated: the client may RESUME or IDENTIFY on it.
      connection.session = undefined;
      if (session.connection === connection) session.connection = undefined;
      connection.send({ op: GatewayOp.InvalidSession, d: resumable, s: null, t: null });
    }
    return count;
  }

  /** An outage: drops every connection (TCP, no close frame) and refuses new ones until {@link up}. */
  down(): number {
    this.#down = true;
    let count = 0;
    for (const connection of this.#connections) {
      count += 1;
      connection.terminate();
    }
    this.#options.onChange();
    return count;
  }

  up(): void {
    this.#down = false;
    this.#options.onChange();
  }

  get isDown(): boolean {
    return this.#down;
  }

  close(): void {
    for (const connection of this.#connections) connection.terminate();
    this.#connections.clear();
    this.#wss.close();
  }

  #violation(code: number, op: number | string, reason: string): void {
    this.#options.onViolation({
      route: `GATEWAY op ${op}`,
      method: 'WS',
      path: '/gateway',
      status: code,
      code,
      reason,
      at: Date.now(),
    });
  }

  #closeWith(connection: Connection, code: number, op: number | string, reason: string): void {
    this.#violation(code, op, reason);
    connection.close(code, reason.slice(0, 120));
  }

  #onConnection(ws: WebSocket, url: URL): void {
    const query = Object.fromEntries(url.searchParams);
    this.connectionLog.push({ url: url.toString(), query, at: Date.now() });
    const connection = new Connection(ws, query.compress === 'zlib-stream');
    this.#connections.add(connection);
    ws.on('message', (data, isBinary) => this.#onMessage(connection, data, isBinary));
    ws.on('close', (code) => this.#onClose(connection, code));
    ws.on('error', () => undefined);
    this.#options.onChange();

    connection.send({ op: GatewayOp.Hello, d: { heartbeat_interval: this.#options.heartbeatIntervalMs }, s: null, t: null });
    if (query.v !== '10') {
      this.#closeWith(connection, GatewayClose.InvalidAPIVersion, 'connect', `unsupported gateway version v=${query.v ?? '(none)'}`);
      return;
    }
    if ((query.encoding ?? 'json') !== 'json') {
      this.#closeWith(connection, GatewayClose.DecodeError, 'connect', `encoding=${query.encoding} is not supported by the double (json only)`);
      return;
    }
    if (query.compress !== undefined && query.compress !== 'zlib-stream') {
      this.#closeWith(connection, GatewayClose.DecodeError, 'connect', `unsupported compress=${query.compress}`);
    }
  }

  #onClose(connection: Connection, code: number): void {
    this.#connections.delete(connection);
    connection.dispose();
    const session = connection.session;
    if (session && session.connection === connection) {
      session.connection = undefined;
      // Closing with 1000/1001 invalidates the session on Discord; other codes keep it resumable.
      if (!connection.closedByServer && (code === 1000 || code === 1001)) session.invalidated = true;
    }
    this.#options.onChange();
  }

  #onMessage(connection: Connection, data: RawData, isBinary: boolean): void {
    const raw = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    let payload: unknown;
    try {
      payload = JSON.parse(isBinary ? zlib.inflateSync(raw).toString('utf8') : raw.toString('utf8'));
    } catch {
      this.#closeWith(connection, GatewayClose.DecodeError, '?', 'payload is not valid JSON');
      return;
    }
    if (!isObject(payload) || typeof payload.op !== 'number') {
      this.#closeWith(connection, GatewayClose.DecodeError, '?', 'payload has no numeric op');
      return;
    }
    const op = payload.op;
    const d = payload.d;
    switch (op) {
      case GatewayOp.Heartbeat:
        this.heartbeats += 1;
        connection.send({ op: GatewayOp.HeartbeatAck, d: null, s: null, t: null });
        return;
      case GatewayOp.Identify:
        this.#identify(connection, d);
        return;
      case GatewayOp.Resume:
        this.#resume(connection, d);
        return;
      default:
        break;
    }
    if (!connection.session) {
      this.#closeWith(connection, GatewayClose.NotAuthenticated, op, `op ${op} sent before IDENTIFY/RESUME`);
      return;
    }
    switch (op) {
      case GatewayOp.PresenceUpdate:
      case GatewayOp.VoiceStateUpdate:
        return;
      case GatewayOp.RequestGuildMembers:
        this.#requestGuildMembers(connection.session, d);
        return;
      default:
        this.#closeWith(connection, GatewayClose.UnknownOpcode, op, `unknown opcode ${op}`);
    }
  }

  #identify(connection: Connection, d: unknown): void {
    if (connection.session) {
      this.#closeWith(connection, GatewayClose.AlreadyAuthenticated, GatewayOp.Identify, 'IDENTIFY sent twice on one connection');
      return;
    }
    if (!isObject(d) || d.token !== this.#world.token) {
      this.#closeWith(connection, GatewayClose.AuthenticationFailed, GatewayOp.Identify, 'IDENTIFY with an invalid token');
      return;
    }
    const intents = d.intents;
    if (typeof intents !== 'number' || !Number.isInteger(intents) || intents < 0 || intents >= 1 << 26) {
      this.#closeWith(connection, GatewayClose.InvalidIntents, GatewayOp.Identify, `invalid intents ${String(intents)}`);
      return;
    }
    let shard: [number, number] = [0, 1];
    if (d.shard !== undefined) {
      const s = d.shard;
      if (!Array.isArray(s) || s.length !== 2 || typeof s[0] !== 'number' || typeof s[1] !== 'number' || s[0] < 0 || s[0] >= s[1]) {
        this.#closeWith(connection, GatewayClose.InvalidShard, GatewayOp.Identify, `invalid shard ${JSON.stringify(s)}`);
        return;
      }
      shard = [s[0], s[1]];
    }
    connection.identifyCompress = d.compress === true && !connection.transportCompression;
    const session = new Session(newSessionId(), intents, shard);
    session.connection = connection;
    connection.session = session;
    this.#sessions.set(session.id, session);
    this.identifies += 1;

    const world = this.#world;
    const ready: GatewayReadyDispatchData & Record<string, unknown> = {
      v: 10,
      user: { ...world.bot },
      guilds: [{ id: world.guild.id, unavailable: true }],
      session_id: session.id,
      resume_gateway_url: this.#options.url(),
      shard,
      application: { id: world.application.id, flags: world.application.flags, flags_new: String(world.application.flags) },
      user_settings: {},
      private_channels: [],
      presences: [],
      relationships: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
      auth: {},
      session_type: 'normal',
      _trace: ['["discord-double",{"micros":0}]'],
    };
    session.dispatch('READY', ready);
    // One guild, so it belongs to shard 0 of any shard count... only send it to the shard owning it.
    const guildShard = Number((BigInt(world.guild.id) >> 22n) % BigInt(shard[1]));
    if (guildShard === shard[0]) session.dispatch('GUILD_CREATE', world.guildCreateJson());
    this.readySessions.push({ sessionId: session.id, intents, at: Date.now() });
    this.#options.onChange();
  }

  #resume(connection: Connection, d: unknown): void {
    if (connection.session) {
      this.#closeWith(connection, GatewayClose.AlreadyAuthenticated, GatewayOp.Resume, 'RESUME on an authenticated connection');
      return;
    }
    if (!isObject(d) || d.token !== this.#world.token) {
      this.#closeWith(connection, GatewayClose.AuthenticationFailed, GatewayOp.Resume, 'RESUME with an invalid token');
      return;
    }
    const session = typeof d.session_id === 'string' ? this.#sessions.get(d.session_id) : undefined;
    const seq = typeof d.seq === 'number' ? d.seq : -1;
    if (!session || session.invalidated || seq < 0 || seq > session.seq) {
      // Discord answers an unresumable session with INVALID_SESSION (d: false); the client re-identifies.
      connection.send({ op: GatewayOp.InvalidSession, d: false, s: null, t: null });
      return;
    }
    if (session.connection && session.connection !== connection) {
      session.connection.close(GatewayClose.UnknownError, 'session resumed elsewhere');
    }
    session.connection = connection;
    connection.session = session;
    for (const event of session.buffer) if (event.s > seq) connection.send(event);
    this.resumes += 1;
    session.dispatch('RESUMED', { _trace: ['["discord-double",{"micros":0}]'] });
    this.#options.onChange();
  }

  #requestGuildMembers(session: Session, d: unknown): void {
    if (!isObject(d) || d.guild_id !== this.#world.guild.id) return;
    const world = this.#world;
    const all = [...world.members.values()];
    let members = all;
    const notFound: string[] = [];
    if (Array.isArray(d.user_ids) || typeof d.user_ids === 'string') {
      const ids = (Array.isArray(d.user_ids) ? d.user_ids : [d.user_ids]).map(String);
      members = all.filter((m) => ids.includes(m.user.id));
      for (const id of ids) if (!world.members.has(id)) notFound.push(id);
    } else {
      const query = typeof d.query === 'string' ? d.query.toLowerCase() : '';
      const limit = typeof d.limit === 'number' ? d.limit : 0;
      if (query === '' && (session.intents & Intent.GuildMembers) === 0) {
        this.#violation(0, GatewayOp.RequestGuildMembers, 'requesting the whole member list needs the GUILD_MEMBERS intent');
      }
      members = all.filter((m) => m.user.username.toLowerCase().startsWith(query));
      if (limit > 0) members = members.slice(0, limit);
    }
    const chunk: Record<string, unknown> = {
      guild_id: world.guild.id,
      members: members.map((m) => world.memberJson(m)),
      chunk_index: 0,
      chunk_count: 1,
    };
    if (notFound.length > 0) chunk.not_found = notFound;
    if (d.presences === true) chunk.presences = [];
    if (typeof d.nonce === 'string') chunk.nonce = d.nonce;
    session.dispatch('GUILD_MEMBERS_CHUNK', chunk);
  }
}
