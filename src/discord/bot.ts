import { Client, DefaultRestOptions, Events, GatewayIntentBits, MessageFlags, Status, type Guild, type Interaction } from 'discord.js';
import type { Logger } from 'pino';
import { preconnectAgent } from './preconnect.js';
import type { Config } from '../config/schema.js';
import type { Engine } from '../engine/engine.js';
import { observeGateway } from '../metrics.js';
import type { Store } from '../store/store.js';
import { resolveAccess, type Access } from './access.js';
import type { Command } from './command.js';
import { renderNotice, renderView } from './render.js';
import { Router } from './router.js';

export interface DiscordBot {
  client: Client;
  guild: Guild;
  access: Access;
  /** The gateway connection for /healthz and /metrics: ready (every shard), and the heartbeat latency. */
  gateway(): { connected: boolean; pingMs: number };
  /** Stops taking interactions (and expiring gates) but stays connected to report what is running. */
  pause(): void;
  stop(): Promise<void>;
}

/** Discord drops an interaction unanswered after 3 s: one still waiting for the router after this is told to retry. */
const START_WAIT_MS = 2000;
export const STARTING_TEXT = 'opsbot is starting, try again in a few seconds; nothing was run.';
export const RESTARTING_TEXT = 'opsbot is restarting; nothing was run, try again in a minute.';

/** Answers an interaction without running anything (the bot is starting or stopping). */
async function answerIdle(i: Interaction, text: string): Promise<void> {
  if (i.isAutocomplete()) await i.respond([]);
  else if (i.isRepliable()) await i.reply({ ...renderNotice(text), flags: MessageFlags.Ephemeral });
}

/**
 * Logs in (Guilds intent only: slash commands need no message content), resolves the alerts
 * channel and roles, registers the guild's commands, routes interactions, and disables the
 * buttons of gates that expire. Every interaction from READY on is answered: queued while the
 * bot gets ready, refused with a clear word while it stops.
 */
export async function startDiscordBot(opts: {
  token: string;
  apiUrl: string | undefined;
  config: Config;
  engine: Engine;
  store: Store;
  commands: Command[];
  log: Logger;
  sweepIntervalMs?: number;
}): Promise<DiscordBot> {
  const { config, engine, log } = opts;
  // Mentions in what the bot shows (who asked, who confirmed) must never notify anyone.
  const api = opts.apiUrl ?? DefaultRestOptions.api;
  const pre = config.discord.preconnect > 0 ? preconnectAgent(api, { size: config.discord.preconnect }) : undefined;
  const client = new Client({ intents: [GatewayIntentBits.Guilds], allowedMentions: { parse: [] }, rest: { api, ...(pre ? { agent: pre.agent } : {}) } });
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  client.on(Events.Error, (err) => log.error({ err }, 'discord client error'));

  // Listening from the start: a Confirm pressed while the bot (re)starts must not fail silently.
  const state: { router?: Router; paused: boolean } = { paused: false };
  const waiting = new Set<Interaction>();
  const idle = (i: Interaction, text: string) =>
    answerIdle(i, text).catch((err: unknown) => log.warn({ err, interaction: i.id }, 'could not answer an interaction while starting or stopping'));
  const onInteraction = (i: Interaction) => {
    if (state.paused) return void idle(i, RESTARTING_TEXT);
    if (state.router) return void state.router.handle(i);
    waiting.add(i);
    setTimeout(() => {
      if (waiting.delete(i)) void idle(i, STARTING_TEXT);
    }, START_WAIT_MS).unref();
  };
  client.on(Events.InteractionCreate, onInteraction);

  let guild: Guild;
  let access: Access;
  try {
    await client.login(opts.token);
    await ready;
    guild = client.guilds.cache.get(config.discord.guildId) ?? (await client.guilds.fetch(config.discord.guildId));
    access = resolveAccess(guild, config.discord);
    await guild.commands.set(opts.commands.map((c) => c.data));
  } catch (err) {
    await client.destroy();
    await pre?.close();
    throw err;
  }
  log.info({ guild: guild.id, commands: opts.commands.map((c) => c.data.name), queued: waiting.size }, 'discord ready, commands registered');
  const router = new Router({ engine, store: opts.store, log: log.child({ component: 'router' }), access: () => access }, opts.commands);
  state.router = router;
  for (const i of waiting) void router.handle(i);
  waiting.clear();
  // After the start-up's own requests, so that they do not wait behind the handshakes.
  void pre?.fill();

  const gateway = () => ({
    connected: client.ws.shards.size > 0 && client.ws.shards.every((s) => s.status === Status.Ready),
    pingMs: client.ws.ping,
  });
  const unobserve = observeGateway(gateway);

  const sweep = setInterval(() => {
    let due: ReturnType<Engine['expireDue']>;
    try {
      due = engine.expireDue();
    } catch (err) {
      // SQLITE_BUSY/FULL: try again at the next tick rather than take the process down.
      return void log.error({ err }, 'gate expiry sweep failed; retrying at the next tick');
    }
    for (const { gate, view } of due) {
      if (gate.channel_id === null || gate.message_id === null) continue;
      const { embeds, components } = renderView(view);
      client.channels
        .fetch(gate.channel_id)
        .then((ch) => (ch?.isTextBased() ? ch.messages.edit(gate.message_id!, { embeds, components }) : undefined))
        .catch((err: unknown) => log.warn({ err, runId: gate.run_id }, 'could not disable the buttons of an expired gate'));
    }
  }, opts.sweepIntervalMs ?? 2000);

  return {
    client,
    guild,
    access,
    gateway,
    pause() {
      clearInterval(sweep);
      state.paused = true;
    },
    async stop() {
      clearInterval(sweep);
      unobserve();
      await client.destroy();
      await pre?.close();
    },
  };
}
