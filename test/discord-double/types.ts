import type { APIMessage } from 'discord-api-types/v10';

export type Snowflake = string;

/** A key of a named object or any other string (a raw id), without losing the keys' autocompletion. */
export type KeyOrId<K extends string> = K | (string & Record<never, never>);

export type DefaultChannelKey = 'alerts' | 'general';
export type DefaultRoleKey = 'viewer' | 'operator' | 'approver';
export type DefaultMemberKey = 'viewer' | 'operator' | 'operator2' | 'approver' | 'norole';

export interface ChannelSpec {
  /** Channel name; defaults to the key. */
  name?: string;
  topic?: string | null;
}

export interface RoleSpec {
  /** Role name; defaults to the key. */
  name?: string;
  /** Permission bits granted by the role (default 0). */
  permissions?: bigint | number | string;
  color?: number;
  hoist?: boolean;
  mentionable?: boolean;
}

export interface MemberSpec<R extends string> {
  /** Role keys of this member. */
  roles?: readonly R[];
  /** Username; defaults to the key. */
  username?: string;
  globalName?: string | null;
  nick?: string | null;
}

export interface DiscordDoubleOptions<C extends string, R extends string, M extends string> {
  guild?: { id?: Snowflake; name?: string };
  /** Text channels, by key (default `alerts`, `general`). */
  channels?: readonly C[] | { readonly [K in C]: ChannelSpec };
  /** Roles besides @everyone, by key (default `viewer`, `operator`, `approver`). */
  roles?: readonly R[] | { readonly [K in R]: RoleSpec };
  /** Members, by key, with role keys. */
  members?: { readonly [K in M]: MemberSpec<NoInfer<R>> };
  /** Permission bits of @everyone (default: view, send, read history, embed, attach, reactions, use app commands). */
  everyonePermissions?: bigint | number | string;
  /** Bot user name (default `opsbot`). */
  botUsername?: string;
  /** The bot token the double accepts (default: a generated, valid-looking one). */
  token?: string;
  /** HELLO heartbeat_interval (default 41250). */
  heartbeatIntervalMs?: number;
  /** How long after dispatch an interaction may be acknowledged (Discord: 3000). */
  ackDeadlineMs?: number;
  /** How long an interaction token (webhook) stays valid (Discord: 15 min). */
  interactionTokenTtlMs?: number;
  /** How long `enforce_nonce` finds an earlier message by its nonce (Discord: "the past few minutes"; default 5 min). */
  nonceWindowMs?: number;
  /** Largest accepted file (default 10 MiB). */
  maxFileSize?: number;
  /** Default timeout of the test API's waits (default 10 s). */
  defaultTimeoutMs?: number;
}

export interface DoubleGuild {
  id: Snowflake;
  name: string;
  ownerId: Snowflake;
}

export interface DoubleUser {
  id: Snowflake;
  username: string;
}

/** A guild member as the test sees it. */
export interface DoubleMember extends DoubleUser {
  key: string;
  globalName: string | null;
  /** Role ids (without @everyone). */
  roles: Snowflake[];
}

export interface DoubleApplication {
  id: Snowflake;
  flags: number;
}

/** A message as the double would return it (a snapshot; call again for the latest state). */
export type DoubleMessage = APIMessage;

/** A file attached to a stored message. */
export interface DoubleFile {
  attachmentId: Snowflake;
  messageId: Snowflake;
  filename: string;
  contentType: string;
  size: number;
  data: Buffer;
  /** The content decoded as UTF-8. */
  text(): string;
}

export interface RecordedFile {
  field: string;
  filename: string;
  contentType: string;
  size: number;
  data: Buffer;
}

/** One REST request the double answered. */
export interface RecordedRequest {
  method: string;
  /** Path after `/api/v10`, e.g. `/channels/123/messages`. */
  path: string;
  /** Route template, e.g. `/channels/:channel_id/messages`. */
  route: string;
  query: Record<string, string>;
  /** JSON body (or `payload_json` of a multipart body). */
  body: unknown;
  files: RecordedFile[];
  /** ms since the Unix epoch. */
  at: number;
  status: number;
  response: unknown;
  /** The answer was a fault the test injected (`double.failRest`), not the route's. */
  injected?: true;
}

/** A rule the bot broke, with the answer it got. */
export interface Violation {
  /** `POST /channels/:channel_id/messages`, or `GATEWAY op 2` for gateway violations. */
  route: string;
  method: string;
  path: string;
  status: number;
  code: number;
  reason: string;
  /** Discord's nested `errors` object of a 50035. */
  errors?: unknown;
  at: number;
}

export interface GatewayConnectionInfo {
  url: string;
  query: Record<string, string>;
  at: number;
}

export interface GatewayStats {
  connections: GatewayConnectionInfo[];
  identifies: number;
  resumes: number;
  heartbeats: number;
  /** Sessions that can still receive events (live or resumable). */
  activeSessions: number;
  /** Sessions with a live socket. */
  connectedSessions: number;
  /** Connection attempts refused during a gateway outage. */
  refused: number;
}

export interface WaitOptions {
  /** Default: the double's `defaultTimeoutMs` (10 s). */
  timeoutMs?: number;
}

export type MessagePredicate = (message: DoubleMessage) => boolean;

/** Option values a test passes: strings, numbers, booleans; users/channels/roles as key or id. */
export type OptionValue = string | number | boolean;

export interface Acknowledgement {
  /** Interaction callback type (4, 5, 6, 7, 8, 9). */
  type: number;
  at: Date;
  /** ms between dispatch and the accepted callback's arrival at the double. */
  latencyMs: number;
  /** ms between dispatch and the double having handled the callback (its own queue included). */
  handledMs: number;
}

export interface AutocompleteChoice {
  name: string;
  value: string | number;
  name_localizations?: Record<string, string | null> | null;
}
