import { Client, Events, GatewayIntentBits, type Guild, type Interaction } from 'discord.js';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Engine } from '../engine/engine.js';
import type { Store } from '../store/store.js';
import { resolveAccess, type Access } from './access.js';
import type { Command } from './command.js';
import { renderView } from './render.js';
import { Router } from './router.js';

export interface DiscordBot {
  client: Client;
  guild: Guild;
  access: Access;
  /** Stops taking interactions (and expiring gates) but stays connected to report what is running. */
  pause(): void;
  stop(): Promise<void>;
}

/**
 * Logs in (Guilds intent only: slash commands need no message content), resolves the alerts
 * channel and roles, registers the guild's commands, routes interactions, and disables the
 * buttons of gates that expire.
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
  const client = new Client({ intents: [GatewayIntentBits.Guilds], ...(opts.apiUrl ? { rest: { api: opts.apiUrl } } : {}) });
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  client.on(Events.Error, (err) => log.error({ err }, 'discord client error'));
  await client.login(opts.token);
  await ready;
  const guild = client.guilds.cache.get(config.discord.guildId) ?? (await client.guilds.fetch(config.discord.guildId));
  const access = resolveAccess(guild, config.discord);
  await guild.commands.set(opts.commands.map((c) => c.data));
  log.info({ guild: guild.id, commands: opts.commands.map((c) => c.data.name) }, 'discord ready, commands registered');

  const router = new Router({ engine, store: opts.store, log: log.child({ component: 'router' }), access: () => access }, opts.commands);
  const onInteraction = (i: Interaction) => void router.handle(i);
  client.on(Events.InteractionCreate, onInteraction);

  const sweep = setInterval(() => {
    for (const { gate, view } of engine.expireDue()) {
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
    pause() {
      clearInterval(sweep);
      client.off(Events.InteractionCreate, onInteraction);
    },
    async stop() {
      clearInterval(sweep);
      await client.destroy();
    },
  };
}
