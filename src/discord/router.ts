import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AutocompleteInteraction, ButtonInteraction, ChatInputCommandInteraction, Interaction, APIEmbed, Message } from 'discord.js';
import { MessageFlags } from 'discord.js';
import type { Logger } from 'pino';
import { isUserError } from '../engine/errors.js';
import { ackLatency, interactions } from '../metrics.js';
import type { Role, RunView } from '../engine/view.js';
import { actorOf, type Access } from './access.js';
import { hostServices, type Choice, type Command, type CommandDeps } from './command.js';
import { firstRefusal, hasRole, inAlertsChannel } from './guards.js';
import { deliver, deliverWithFallback, isTransient, postOnce } from './deliver.js';
import { PageCache } from './pages.js';
import { paginate, renderNotice, renderPage, renderView, type RenderedMessage } from './render.js';

type Replyable = ChatInputCommandInteraction | ButtonInteraction;

const BUTTON_KINDS = new Set(['gate', 'page', 'logs', 'offer', 'rollback']);

/**
 * The one entry point for interactions: guards, a fast acknowledgement, the handler, and one
 * way to answer errors (a user error ephemerally; anything else by an id that is in the log).
 * Button handlers are keyed by custom_id prefix and read their state from the store, so a
 * button still works after the bot restarts.
 */
export class Router {
  private readonly commands: Map<string, Command>;
  private readonly pages = new PageCache();
  /** Per interaction, for the metrics: when it arrived and how it ended (default ok). */
  private readonly receivedAt = new WeakMap<Interaction, number>();
  private readonly outcomes = new WeakMap<Interaction, 'refused' | 'user_error' | 'error'>();
  /** Acknowledgements sent and not yet accepted, and who waits for there to be none. */
  private acksInFlight = 0;
  private acksDone: (() => void)[] = [];

  constructor(
    private readonly deps: CommandDeps & { log: Logger; access: () => Access },
    commands: readonly Command[],
  ) {
    this.commands = new Map(commands.map((c) => [c.data.name, c]));
  }

  async handle(i: Interaction): Promise<void> {
    this.receivedAt.set(i, performance.now());
    try {
      if (i.isChatInputCommand()) await this.command(i);
      else if (i.isAutocomplete()) await this.autocomplete(i);
      else if (i.isButton()) await this.button(i);
    } catch (err) {
      this.outcomes.set(i, 'error');
      this.deps.log.error({ err, interaction: i.id }, 'interaction handler crashed');
    }
    interactions.inc({ command: this.metricName(i), outcome: this.outcomes.get(i) ?? 'ok' });
  }

  /** A bounded label: known command names and button kinds only. */
  private metricName(i: Interaction): string {
    if (i.isChatInputCommand()) return this.commands.has(i.commandName) ? i.commandName : 'unknown';
    if (i.isAutocomplete()) return 'autocomplete';
    if (i.isButton()) {
      const kind = i.customId.split(':')[0] ?? '';
      return `button:${BUTTON_KINDS.has(kind) ? kind : 'other'}`;
    }
    return 'other';
  }

  /** Runs an acknowledgement (defer, reply, update) and records how long after arrival Discord took it. */
  private async ack<T>(i: Interaction, kind: 'command' | 'button' | 'autocomplete', send: () => Promise<T>): Promise<T> {
    this.acksInFlight++;
    try {
      const result = await send();
      const at = this.receivedAt.get(i);
      if (at !== undefined) ackLatency.observe({ kind }, (performance.now() - at) / 1000);
      return result;
    } finally {
      if (--this.acksInFlight === 0) for (const done of this.acksDone.splice(0)) done();
    }
  }

  /**
   * Resolves once no acknowledgement is in flight (at most `maxMs` later). Work that blocks the
   * event loop — the first command loads the SSH and Docker clients, a few hundred ms of module
   * evaluation on a cold start — waits for it, so a burst's acknowledgements are all sent and
   * accepted first: Discord shows "interaction failed" after 3 s, a slow reply only later.
   */
  private acksSettled(maxMs = 300): Promise<void> {
    if (this.acksInFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, maxMs);
      timer.unref();
      this.acksDone.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private actor(i: Interaction) {
    return actorOf(this.deps.access(), i.user, i.member);
  }

  private refuse(i: Interaction, role: Role): string | null {
    const refusal = firstRefusal([inAlertsChannel, hasRole(role)], { channelId: i.channelId, roles: this.actor(i).roles }, this.deps.access());
    if (refusal !== null) this.outcomes.set(i, 'refused');
    return refusal;
  }

  private async command(i: ChatInputCommandInteraction): Promise<void> {
    const cmd = this.commands.get(i.commandName);
    if (!cmd) {
      await i.reply({ ...renderNotice(`This bot has no /${i.commandName} any more. Nothing was run.`), flags: MessageFlags.Ephemeral });
      return;
    }
    const refusal = this.refuse(i, cmd.roleFor?.(i) ?? cmd.role);
    if (refusal) {
      this.deps.log.info({ command: i.commandName, user: i.user.id, channel: i.channelId }, 'command refused by guard');
      await i.reply({ ...renderNotice(refusal), flags: MessageFlags.Ephemeral });
      return;
    }
    try {
      // Bad input is answered to the asker alone, before anything public appears.
      cmd.precheck?.(i, this.deps);
    } catch (err) {
      return this.fail(i, err, { command: i.commandName });
    }
    // What the run will ask the host first (connection, compose configuration) starts as soon as
    // the acknowledgements in flight are accepted, not after this one's round trip; the run
    // itself, which writes to the database (a held lock blocks the event loop), starts once
    // this one is acknowledged and none is in flight.
    const acked = this.ack(i, 'command', () => i.deferReply());
    if (cmd.usesHost?.(i) === true) {
      const host = i.options.getString('host') ?? undefined;
      void this.acksSettled().then(() => this.deps.engine.warm(host));
    }
    await acked;
    await this.acksSettled();
    await this.answer(i, () => cmd.run(i, this.actor(i), this.deps), { command: i.commandName });
  }

  /** Runs a handler after a deferral and edits the deferred reply with its result. */
  private async answer(i: Replyable, work: () => Promise<RunView>, logFields: Record<string, unknown>): Promise<void> {
    let view: RunView;
    try {
      view = await work();
    } catch (err) {
      return this.fail(i, err, logFields, true);
    }
    const channel = i.channel?.isSendable() ? i.channel : undefined;
    const once = postOnce();
    await this.show(i, view, logFields, (m) => i.editReply(m), channel && ((m) => channel.send({ ...m, ...once })), true);
    await this.showNext(i, view, logFields);
  }

  /**
   * The runs a result started that need messages of their own (the next host of a rollout, at
   * its gate), posted in the channel after it, each recorded like any gate message.
   */
  private async showNext(i: Replyable, view: RunView, logFields: Record<string, unknown>): Promise<void> {
    const channel = i.channel?.isSendable() ? i.channel : undefined;
    for (let next = view.next; next; next = next.next) {
      const { next: _later, ...own } = next;
      const once = postOnce();
      await this.show(i, own, { ...logFields, rollout: true }, channel ? (m) => channel.send({ ...m, ...once }) : (m) => i.followUp(m), channel && ((m) => i.followUp(m)));
    }
  }

  /**
   * Shows what a run did. The run already happened: a Discord failure is retried (then sent by
   * another route), never the run; a rule break (4xx) is answered like any other error.
   */
  private async show(
    i: Replyable,
    view: RunView,
    logFields: Record<string, unknown>,
    send: (m: RenderedMessage) => Promise<Message>,
    fallback: ((m: RenderedMessage) => Promise<Message>) | undefined,
    ownReply = false,
  ): Promise<void> {
    const fields = { ...logFields, runId: view.runId };
    try {
      // Rendered anew for each attempt: a gzipped attachment is a stream, read once.
      const msg = await deliverWithFallback(() => send(renderView(view)), fallback && (() => fallback(renderView(view))), { log: this.deps.log, fields });
      if (view.gate) this.recordGateMessage(view.runId, view.gate.stepIdx, msg, fields);
    } catch (err) {
      if (!isTransient(err)) return this.fail(i, err, logFields, ownReply);
      this.deps.log.error({ ...fields, err }, 'could not show a run result on Discord; /audit has it');
    }
  }

  /**
   * Where a gate's message is, so that its buttons can be disabled when it expires. The gate was
   * shown and works without it: a failed write (e.g. a full disk) must not take the message down.
   */
  private recordGateMessage(runId: string, stepIdx: number, msg: Message, fields: Record<string, unknown>): void {
    try {
      this.deps.engine.recordGateMessage(runId, stepIdx, msg.channelId, msg.id);
    } catch (err) {
      this.deps.log.error({ ...fields, err }, 'could not record where a gate message is; its buttons work, but will not be disabled when it expires');
    }
  }

  /** `ownReply`: the deferred reply is a message of its own (not the clicked message) and may go. */
  private async fail(i: Replyable, err: unknown, logFields: Record<string, unknown>, ownReply = false): Promise<void> {
    this.outcomes.set(i, isUserError(err) ? 'user_error' : 'error');
    if (isUserError(err)) {
      this.deps.log.info({ ...logFields, user: i.user.id, code: err.code }, 'user error');
      // The deferred reply is public; a user error belongs to the one who asked.
      if (ownReply && i.deferred) await i.deleteReply().catch(() => undefined);
      if (!i.deferred && !i.replied) return void (await i.reply({ ...renderNotice(err.message), flags: MessageFlags.Ephemeral }));
      await deliver(() => i.followUp({ ...renderNotice(err.message), flags: MessageFlags.Ephemeral }), { log: this.deps.log, fields: logFields, budgetMs: 30_000 });
      return;
    }
    const errorId = `e${randomBytes(4).toString('hex')}`;
    this.deps.log.error({ ...logFields, errorId, user: i.user.id, err }, 'unexpected error');
    const text = `Something went wrong (error ${errorId}). It is in the bot's log; the audit log shows what ran.`;
    // A deferred reply shows "thinking…" to everyone: replace it rather than leave it hanging.
    if (ownReply && i.deferred) await i.editReply({ ...renderNotice(text), embeds: [], components: [] });
    else if (i.deferred || i.replied) await i.followUp({ ...renderNotice(text), flags: MessageFlags.Ephemeral });
    else await i.reply({ ...renderNotice(text), flags: MessageFlags.Ephemeral });
  }

  private async autocomplete(i: AutocompleteInteraction): Promise<void> {
    const focused = i.options.getFocused(true);
    const cmd = this.commands.get(i.commandName);
    let choices: Choice[] = [];
    if (cmd && this.refuse(i, 'viewer') === null) {
      try {
        const candidates = cmd.complete ? cmd.complete(i, focused.name, this.deps) : focused.name === 'service' ? hostServices(i, this.deps) : Promise.resolve([]);
        // Discord drops an autocomplete answered after 3 s: a slow host gets no suggestions, not an error.
        const all = await Promise.race([candidates, sleep(2000).then(() => Promise.reject(new Error(`no suggestions for ${focused.name} within 2 s`)))]);
        const q = String(focused.value).toLowerCase();
        choices = all.map((s) => (typeof s === 'string' ? { name: s, value: s } : s)).filter((c) => c.name.toLowerCase().includes(q) || c.value.toLowerCase().includes(q));
      } catch (err) {
        this.deps.log.warn({ err, option: focused.name }, 'autocomplete could not read suggestions');
      }
    }
    await this.ack(i, 'autocomplete', () => i.respond(choices.slice(0, 25).map((c) => ({ name: c.name.slice(0, 100), value: c.value.slice(0, 100) }))));
  }

  private async button(i: ButtonInteraction): Promise<void> {
    const [kind, ...rest] = i.customId.split(':');
    switch (kind) {
      case 'gate':
        return this.gate(i, rest[0] ?? '', Number(rest[1]), rest[2] === 'confirm' ? 'confirm' : 'cancel', rest[3]);
      case 'page':
        return this.page(i, rest[0] ?? '', Number(rest[1]));
      case 'logs': {
        const refusal = this.refuse(i, 'viewer');
        if (refusal) return void (await i.reply({ ...renderNotice(refusal), flags: MessageFlags.Ephemeral }));
        await this.ack(i, 'button', () => i.deferReply());
        return this.answer(i, () => this.deps.engine.start({ runbook: 'logs', host: rest[0], params: { service: rest[1], lines: 200 }, actor: this.actor(i), channelId: i.channelId }), { button: 'logs' });
      }
      case 'offer': {
        // A runbook the bot proposed (report, alert): the runbook's own role rule, then the usual gates.
        const refusal = this.refuse(i, this.deps.engine.offerRole(rest[0] ?? '') ?? 'operator');
        if (refusal) return void (await i.reply({ ...renderNotice(refusal), flags: MessageFlags.Ephemeral }));
        await this.ack(i, 'button', () => i.deferReply());
        return this.answer(i, () => this.deps.engine.startOffer(rest[0] ?? '', this.actor(i), i.channelId), { button: 'offer' });
      }
      case 'rollback': {
        const refusal = this.refuse(i, 'operator');
        if (refusal) return void (await i.reply({ ...renderNotice(refusal), flags: MessageFlags.Ephemeral }));
        await this.ack(i, 'button', () => i.deferReply());
        return this.answer(i, () => this.deps.engine.rollback(rest[0] ?? '', this.actor(i), i.channelId), { button: 'rollback' });
      }
      default:
        await i.reply({ ...renderNotice('This button belongs to an older version of the bot and does nothing now.'), flags: MessageFlags.Ephemeral });
    }
  }

  private async gate(i: ButtonInteraction, runId: string, stepIdx: number, decision: 'confirm' | 'cancel', planHash: string | undefined): Promise<void> {
    const { engine } = this.deps;
    const wrongChannel = inAlertsChannel({ channelId: i.channelId, roles: [] }, this.deps.access());
    if (wrongChannel) return void (await i.reply({ ...renderNotice(wrongChannel), flags: MessageFlags.Ephemeral }));
    let decided;
    try {
      // Synchronous: a refused or losing click is answered before anything is acknowledged.
      decided = engine.authorize(runId, stepIdx, decision, this.actor(i), planHash);
    } catch (err) {
      if (!isUserError(err)) return this.fail(i, err, { button: 'gate', runId });
      this.outcomes.set(i, 'user_error');
      await i.reply({ ...renderNotice(err.message), flags: MessageFlags.Ephemeral });
      if (err.code === 'gate.expired') {
        await this.showEnded(i, runId);
      }
      return;
    }
    // The click is claimed: it runs even if Discord refuses the acknowledgement, and the result
    // then goes to the message through the channel instead of the interaction.
    const acked = await this.ack(i, 'button', () => i.deferUpdate()).then(
      () => true,
      (err: unknown) => {
        this.deps.log.warn({ err, runId }, 'could not acknowledge a confirmed click; running it anyway');
        return false;
      },
    );
    const viaChannel = (m: RenderedMessage) => i.message.edit(m);
    const progress = this.progressEdits(acked ? (m) => i.editReply(m) : viaChannel, runId);
    let view: RunView;
    try {
      view = await engine.proceed(decided, progress.push);
    } catch (err) {
      await progress.settled();
      if (acked) await this.fail(i, err, { button: 'gate', runId });
      else this.deps.log.error({ err, runId }, 'a confirmed run failed to report');
      await this.showEnded(i, runId);
      return;
    }
    await progress.settled();
    await this.show(i, view, { button: 'gate', runId }, acked ? (m) => i.editReply(m) : viaChannel, acked ? viaChannel : undefined);
    await this.showNext(i, view, { button: 'gate', runId });
  }

  /**
   * Shows a long step's progress on the run's message while it runs: one edit at a time, and
   * only the newest view (Discord rate-limits edits; a skipped middle state loses nothing). An
   * edit that fails is logged and skipped: the final result is shown anyway.
   */
  private progressEdits(send: (m: RenderedMessage) => Promise<Message>, runId: string): { push: (view: RunView) => void; settled: () => Promise<void> } {
    let latest: RunView | undefined;
    let pumping: Promise<void> | undefined;
    let closed = false;
    const pump = async () => {
      while (latest && !closed) {
        const view = latest;
        latest = undefined;
        await send(renderView(view)).catch((err: unknown) => this.deps.log.warn({ err, runId }, 'could not show progress'));
      }
      pumping = undefined;
    };
    return {
      push: (view) => {
        if (closed) return;
        latest = view;
        pumping ??= pump();
      },
      settled: async () => {
        closed = true;
        await pumping;
      },
    };
  }

  /** A run that ended at its gate (expired, failed): its message says so and loses its live buttons. */
  private async showEnded(i: ButtonInteraction, runId: string): Promise<void> {
    try {
      const { embeds, components } = renderView(this.deps.engine.view(runId));
      await i.message.edit({ embeds, components });
    } catch (err) {
      this.deps.log.warn({ err, runId }, 'could not show the ended run on its message');
    }
  }

  private async page(i: ButtonInteraction, outputId: string, page: number): Promise<void> {
    const refusal = this.refuse(i, 'viewer');
    if (refusal) return void (await i.reply({ ...renderNotice(refusal), flags: MessageFlags.Ephemeral }));
    // The whole output is read from the database and split only when its pages are not cached
    // (stored outputs never change, so a cached split stays right).
    let paged = this.pages.get(outputId);
    if (!paged) {
      const out = this.deps.store.getOutput(outputId);
      if (!out) return void (await i.reply({ ...renderNotice('This output is no longer stored; run the command again.'), flags: MessageFlags.Ephemeral }));
      paged = this.pages.set(outputId, paginate(out));
    }
    const { embed, row } = renderPage({ ...paged, outputId }, page);
    // Keep the rest of the message (status embed, action buttons); swap only the page.
    const embeds: APIEmbed[] = i.message.embeds.map((e) => e.toJSON());
    const at = embeds.findIndex((e) => e.footer?.text.startsWith('page ') === true);
    if (at === -1) embeds.push(embed);
    else embeds[at] = embed;
    const rows = i.message.components.map((r) => r.toJSON());
    const rowAt = rows.findIndex((r) => 'components' in r && r.components.some((c) => 'custom_id' in c && c.custom_id.startsWith('pageinfo:')));
    const components = rowAt === -1 ? [...rows, row.toJSON()] : rows.map((r, n) => (n === rowAt ? row.toJSON() : r));
    await this.ack(i, 'button', () => i.update({ embeds, components: components as never }));
  }
}
