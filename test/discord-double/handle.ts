import type { APIInteraction, APIMessage } from 'discord-api-types/v10';
import { CALLBACK_NAMES } from './interactions.js';
import { MessageFlag, isEmptyMessage, isObject } from './limits.js';
import type { InteractionRecord, World } from './state.js';
import type { Acknowledgement, AutocompleteChoice, MessagePredicate, Violation, WaitOptions } from './types.js';
import { type ChangeFeed, type Found, waitUntil } from './wait.js';

/** What a handle needs from the double. */
export interface HandleHost {
  readonly world: World;
  readonly feed: ChangeFeed;
  readonly defaultTimeoutMs: number;
  readonly violations: readonly Violation[];
  submitModalFor(record: InteractionRecord, input: { fields: Readonly<Record<string, string>>; member?: string }): InteractionHandle;
}

/** A short, readable description of a message for error messages. */
export function summarizeMessage(message: APIMessage | undefined): string {
  if (!message) return '(none)';
  const parts: string[] = [`#${message.id}`];
  const flags = message.flags ?? 0;
  const flagNames = [
    (flags & MessageFlag.Ephemeral) !== 0 ? 'ephemeral' : '',
    (flags & MessageFlag.Loading) !== 0 ? 'loading ("is thinking…")' : '',
  ].filter(Boolean);
  if (flagNames.length > 0) parts.push(`[${flagNames.join(', ')}]`);
  if (message.content) {
    const content = message.content.length > 200 ? `${message.content.slice(0, 200)}…` : message.content;
    parts.push(`content=${JSON.stringify(content)}`);
  }
  if (message.embeds.length > 0) {
    parts.push(
      `embeds=[${message.embeds
        .map((e) => JSON.stringify(e.title ?? e.description?.slice(0, 60) ?? '(untitled)'))
        .join(', ')}]`,
    );
  }
  const buttons: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (!isObject(value)) return;
    if (typeof value.custom_id === 'string' || typeof value.url === 'string') {
      buttons.push(`${String(value.custom_id ?? value.url)}${value.disabled === true ? ' (disabled)' : ''}`);
    }
    walk(value.components);
    walk(value.component);
    walk(value.accessory);
  };
  walk(message.components);
  if (buttons.length > 0) parts.push(`components=[${buttons.join(', ')}]`);
  if (message.attachments.length > 0) parts.push(`attachments=[${message.attachments.map((a) => a.filename).join(', ')}]`);
  if (message.edited_timestamp) parts.push('(edited)');
  return parts.join(' ');
}

/** A message counts as a reply once it is no longer "thinking" and has something in it. */
function isComplete(message: APIMessage): boolean {
  return ((message.flags ?? 0) & MessageFlag.Loading) === 0 && !isEmptyMessage(message);
}

/**
 * One interaction the test sent (slash command, autocomplete, button click, select, modal submit),
 * and what the bot did with it.
 */
export class InteractionHandle {
  readonly #host: HandleHost;
  readonly #record: InteractionRecord;

  constructor(host: HandleHost, record: InteractionRecord) {
    this.#host = host;
    this.#record = record;
  }

  get id(): string {
    return this.#record.id;
  }

  get token(): string {
    return this.#record.token;
  }

  get kind(): InteractionRecord['kind'] {
    return this.#record.kind;
  }

  /** The INTERACTION_CREATE payload as dispatched. */
  get payload(): APIInteraction {
    return structuredClone(this.#record.payload);
  }

  /** Every callback attempt (accepted or not), in order. */
  callbacks(): InteractionRecord['attempts'] {
    return structuredClone(this.#record.attempts);
  }

  #timeout(options: WaitOptions | undefined): number {
    return options?.timeoutMs ?? this.#host.defaultTimeoutMs;
  }

  #snapshot(id: string | undefined): APIMessage | undefined {
    return id === undefined ? undefined : this.#host.world.messageSnapshot(id);
  }

  /** Resolves once the bot's callback was accepted: its type, when, and ms since dispatch. */
  acknowledged(options?: WaitOptions): Promise<Acknowledgement> {
    const record = this.#record;
    return waitUntil(this.#host.feed, {
      what: `an accepted callback to interaction ${record.id} (${record.label})`,
      describe: () => this.describe(),
      timeoutMs: this.#timeout(options),
      check: () =>
        record.ack
          ? { value: { type: record.ack.type, at: new Date(record.ack.at), latencyMs: record.ack.at - record.createdAt, handledMs: record.ack.handledAt - record.createdAt } }
          : undefined,
    });
  }

  /**
   * Resolves with the original response once it has content, embeds, components or files: after a
   * type 4 callback, or once a deferred (type 5) response was edited. Optionally waits for `predicate`.
   */
  waitForReply(predicate?: MessagePredicate, options?: WaitOptions): Promise<APIMessage> {
    const record = this.#record;
    return waitUntil(this.#host.feed, {
      what: `the reply to interaction ${record.id} (${record.label})${predicate ? ' matching the predicate' : ''}`,
      describe: () => this.describe(),
      timeoutMs: this.#timeout(options),
      check: () => {
        const message = this.#snapshot(record.replyMessageId);
        if (!message || !isComplete(message)) return undefined;
        return !predicate || predicate(message) ? { value: message } : undefined;
      },
    });
  }

  /** Latest state of the original response (`@original`), if there is one. */
  message(): APIMessage | undefined {
    return this.#snapshot(this.#record.originalMessageId ?? this.#record.replyMessageId);
  }

  /** Latest states of the follow-up messages, oldest first. */
  followups(): APIMessage[] {
    return this.#record.followupIds.flatMap((id) => this.#snapshot(id) ?? []);
  }

  /** Resolves with the first follow-up (latest state) matching `predicate`. */
  waitForFollowup(predicate?: MessagePredicate, options?: WaitOptions): Promise<APIMessage> {
    const record = this.#record;
    return waitUntil(this.#host.feed, {
      what: `a follow-up to interaction ${record.id} (${record.label})${predicate ? ' matching the predicate' : ''}`,
      describe: () => this.describe(),
      timeoutMs: this.#timeout(options),
      check: () => {
        const found = this.followups().find((m) => !predicate || predicate(m));
        return found ? { value: found } : undefined;
      },
    });
  }

  /**
   * For component interactions (and modals opened from one): resolves with the latest state of the
   * message the component was on once it changed after the click (type 7 UPDATE_MESSAGE, or an edit
   * after type 6) and matches `predicate`.
   */
  waitForUpdate(predicate?: MessagePredicate, options?: WaitOptions): Promise<APIMessage> {
    const record = this.#record;
    const sourceId = record.sourceMessageId;
    if (sourceId === undefined) {
      return Promise.reject(new Error(`Discord double: interaction ${record.id} (${record.label}) is not on a message; use waitForReply()`));
    }
    return waitUntil(this.#host.feed, {
      what: `an update of message ${sourceId} by interaction ${record.id} (${record.label})${predicate ? ' matching the predicate' : ''}`,
      describe: () => this.describe(),
      timeoutMs: this.#timeout(options),
      check: (): Found<APIMessage> | undefined => {
        const stored = this.#host.world.messages.get(sourceId);
        if (!stored || stored.revision <= record.sourceRevision) return undefined;
        const message = structuredClone(stored.data);
        return !predicate || predicate(message) ? { value: message } : undefined;
      },
    });
  }

  /** For autocomplete: resolves with the choices the bot responded with. */
  waitForChoices(options?: WaitOptions): Promise<AutocompleteChoice[]> {
    const record = this.#record;
    return waitUntil(this.#host.feed, {
      what: `autocomplete choices for interaction ${record.id} (${record.label})`,
      describe: () => this.describe(),
      timeoutMs: this.#timeout(options),
      check: () => (record.choices ? { value: structuredClone(record.choices) } : undefined),
    });
  }

  /** Resolves with the modal the bot showed (type 9 callback data). */
  waitForModal(options?: WaitOptions): Promise<Record<string, unknown>> {
    const record = this.#record;
    return waitUntil(this.#host.feed, {
      what: `a modal for interaction ${record.id} (${record.label})`,
      describe: () => this.describe(),
      timeoutMs: this.#timeout(options),
      check: () => (record.modal ? { value: structuredClone(record.modal) } : undefined),
    });
  }

  /** Submits the modal this interaction opened; `fields` maps text input custom_id → value. */
  submitModal(input: { fields: Readonly<Record<string, string>>; member?: string }): InteractionHandle {
    return this.#host.submitModalFor(this.#record, input);
  }

  /** Everything the double knows about this interaction, for assertion messages. */
  describe(): string {
    const record = this.#record;
    const world = this.#host.world;
    const since = (at: number): string => `+${at - record.createdAt} ms`;
    const lines = [`Interaction ${record.id}: ${record.label} (${record.kind}), dispatched ${new Date(record.createdAt).toISOString()}`];
    if (record.attempts.length === 0) {
      lines.push(`  callbacks: none (${Date.now() - record.createdAt} ms since dispatch)`);
    } else {
      for (const a of record.attempts) {
        const name = a.type === undefined ? '(no type)' : `type ${a.type} ${CALLBACK_NAMES[a.type] ?? ''}`;
        const outcome = a.status < 300 ? `${a.status}` : `${a.status} code ${a.code ?? '?'}: ${a.reason ?? ''}`;
        lines.push(`  callback: ${name} at ${since(a.at)} → ${outcome}`);
      }
    }
    const reply = record.replyMessageId ? world.messageSnapshot(record.replyMessageId) : undefined;
    lines.push(`  reply: ${summarizeMessage(reply)}`);
    if (record.originalMessageId && record.originalMessageId !== record.replyMessageId) {
      lines.push(`  @original: ${summarizeMessage(world.messageSnapshot(record.originalMessageId))}`);
    }
    if (record.followupReplacedDeferred) {
      lines.push('  note: the first follow-up after the deferral replaced the "thinking" message (it is the reply, not a follow-up)');
    }
    const followups = this.followups();
    lines.push(`  follow-ups: ${followups.length === 0 ? 'none' : ''}`);
    for (const f of followups) lines.push(`    ${summarizeMessage(f)}`);
    if (record.sourceMessageId) {
      const stored = world.messages.get(record.sourceMessageId);
      lines.push(
        `  component message: ${summarizeMessage(stored?.data)} (revision ${stored?.revision ?? '?'}, was ${record.sourceRevision} at dispatch)`,
      );
    }
    if (record.choices) lines.push(`  choices: ${JSON.stringify(record.choices)}`);
    if (record.modal) lines.push(`  modal: ${JSON.stringify(record.modal).slice(0, 300)}`);
    const violations = this.#host.violations.filter((v) => v.path.includes(record.id) || v.path.includes(record.token));
    for (const v of violations) lines.push(`  violation: ${v.route} → ${v.status}/${v.code}: ${v.reason}`);
    return lines.join('\n');
  }
}
