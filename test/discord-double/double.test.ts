import { once } from 'node:events';
import zlib from 'node:zlib';
import {
  ActionRowBuilder,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  ChannelType,
  Client,
  DiscordAPIError,
  EmbedBuilder,
  Events,
  GatewayIntentBits,
  type Interaction,
  MessageFlags,
  ModalBuilder,
  Routes,
  SlashCommandBuilder,
  TextInputBuilder,
  TextInputStyle,
} from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type DiscordDouble, restRoutes, startDiscordDouble } from './index.js';

const commandDefs = [
  new SlashCommandBuilder()
    .setName('status')
    .setDescription('Show the status of a service')
    .addStringOption((o) => o.setName('service').setDescription('Service name').setRequired(true).setAutocomplete(true))
    .addIntegerOption((o) => o.setName('lines').setDescription('Log lines').setMinValue(1).setMaxValue(500))
    .addBooleanOption((o) => o.setName('verbose').setDescription('Verbose output')),
  new SlashCommandBuilder()
    .setName('runbook')
    .setDescription('Runbooks')
    .addSubcommand((s) =>
      s
        .setName('run')
        .setDescription('Run a runbook')
        .addStringOption((o) =>
          o
            .setName('name')
            .setDescription('Runbook')
            .setRequired(true)
            .addChoices({ name: 'Restart', value: 'restart' }, { name: 'Deploy', value: 'deploy' }),
        )
        .addUserOption((o) => o.setName('approver').setDescription('Who approves'))
        .addChannelOption((o) => o.setName('report_to').setDescription('Where to report').addChannelTypes(ChannelType.GuildText)),
    ),
].map((command) => command.toJSON());

type Handler = (interaction: Interaction) => Promise<void>;

interface Setup {
  double: DiscordDouble;
  client: Client;
  /** Errors thrown by the bot's interaction handler. */
  handlerErrors: unknown[];
  /** Replaces the bot's interaction handler. */
  handle(handler: Handler): void;
}

const doubles: DiscordDouble[] = [];
const clients: Client[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.destroy();
  for (const double of doubles.splice(0)) await double.close();
});

async function newClient(double: DiscordDouble): Promise<Client> {
  const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: double.apiUrl } });
  clients.push(client);
  const ready = once(client, Events.ClientReady);
  await client.login(double.token);
  await ready;
  return client;
}

/** A double, a logged-in discord.js client with commands registered, and a swappable handler. */
async function setup(options: Parameters<typeof startDiscordDouble>[0] = {}): Promise<Setup> {
  const double = await startDiscordDouble(options);
  doubles.push(double);
  const client = await newClient(double);
  await client.application?.commands.set(commandDefs, double.guild.id);
  await double.waitForCommands({ names: ['status', 'runbook'] });
  const handlerErrors: unknown[] = [];
  let current: Handler = async () => undefined;
  client.on(Events.InteractionCreate, (interaction) => {
    current(interaction).catch((error: unknown) => handlerErrors.push(error));
  });
  return { double, client, handlerErrors, handle: (handler) => (current = handler) };
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((res) => (resolve = res));
  return { promise, resolve };
}

/** Runs `fn` and returns the DiscordAPIError it throws. */
async function apiError(fn: () => Promise<unknown>): Promise<DiscordAPIError> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof DiscordAPIError) return error;
    throw error;
  }
  throw new Error('expected a DiscordAPIError, but the call succeeded');
}

describe('login and guild', () => {
  it('lets a discord.js client log in and cache the guild with channels, roles and members', async () => {
    const double = await startDiscordDouble();
    doubles.push(double);
    const client = await newClient(double);

    expect(client.user?.id).toBe(double.bot.id);
    expect(client.application?.id).toBe(double.application.id);
    const guild = client.guilds.cache.get(double.guild.id);
    expect(guild?.available).toBe(true);
    expect(guild?.channels.cache.map((c) => c.name).sort()).toEqual(['alerts', 'general']);
    expect(guild?.channels.cache.get(double.channels.alerts)?.isTextBased()).toBe(true);
    expect(guild?.roles.cache.map((r) => r.name).sort()).toEqual(['@everyone', 'approver', 'operator', 'viewer']);
    expect(guild?.roles.everyone.id).toBe(double.guild.id);
    expect(guild?.memberCount).toBe(6);
    const operator = guild?.members.cache.get(double.members.operator.id);
    expect(operator?.user.username).toBe('operator');
    expect(operator?.roles.cache.has(double.roles.operator)).toBe(true);
    expect(operator?.roles.cache.has(double.roles.viewer)).toBe(true);
    expect(guild?.members.cache.get(double.members.norole.id)?.roles.cache.size).toBe(1); // @everyone only
    expect(guild?.members.me?.id).toBe(double.bot.id);

    // discord.js connects with plain JSON: no zlib-stream without zlib-sync installed.
    const [connection] = double.gatewayStats().connections;
    expect(connection?.query).toEqual({ v: '10', encoding: 'json' });
    expect(double.requests.map((r) => `${r.method} ${r.route}`)).toContain('GET /gateway/bot');
    await expect(double.waitForReady()).resolves.toMatchObject({ intents: GatewayIntentBits.Guilds });
    expect(double.violations).toEqual([]);
  });

  it('rejects other tokens: 401 on REST, close code 4004 on the gateway', async () => {
    const double = await startDiscordDouble();
    doubles.push(double);

    const res = await fetch(`${double.apiUrl}/v10/users/@me`, { headers: { Authorization: 'Bot not-the-token' } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ code: 0, message: '401: Unauthorized' });

    const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: double.apiUrl } });
    clients.push(client);
    await expect(client.login('MTIz.bad.token')).rejects.toThrow(/invalid token/i);

    const ws = new WebSocket(`${double.gatewayUrl}?v=10&encoding=json`);
    const hello = (await once(ws, 'message')) as [Buffer];
    expect(JSON.parse(hello[0].toString())).toMatchObject({ op: 10, d: { heartbeat_interval: 41_250 } });
    ws.send(JSON.stringify({ op: 2, d: { token: 'wrong', intents: 1, properties: {} } }));
    const [code] = (await once(ws, 'close')) as [number];
    expect(code).toBe(4004);
    expect(double.violations.map((v) => v.status)).toEqual([401, 401, 4004]);
  });
});

describe('application commands', () => {
  it('stores commands registered with application.commands.set, keeping ids on re-registration', async () => {
    const { double, client } = await setup();
    const first = double.commands('guild');
    expect(first.map((c) => c.name)).toEqual(['status', 'runbook']);
    expect(first[0]).toMatchObject({ guild_id: double.guild.id, application_id: double.application.id, type: 1 });

    await client.application?.commands.set(commandDefs, double.guild.id);
    expect(double.commands('guild').map((c) => c.id)).toEqual(first.map((c) => c.id));
    const fetched = await client.application?.commands.fetch({ guildId: double.guild.id });
    expect(fetched?.map((c) => c.name).sort()).toEqual(['runbook', 'status']);
    expect(double.violations).toEqual([]);
  });

  it('rejects commands that break the documented limits', async () => {
    const { double, client } = await setup();
    const error = await apiError(() =>
      client.rest.put(Routes.applicationGuildCommands(double.application.id, double.guild.id), {
        body: [
          { name: 'Bad Name', description: 'x' },
          { name: 'ok', description: 'd'.repeat(101) },
          { name: 'many', description: 'x', options: [{ type: 3, name: 'o', description: 'x', choices: Array.from({ length: 26 }, (_, i) => ({ name: `c${i}`, value: `v${i}` })) }] },
        ],
      }),
    );
    expect(error.code).toBe(50035);
    expect(error.message).toContain('0.name[APPLICATION_COMMAND_INVALID_NAME]');
    expect(error.message).toContain('1.description[BASE_TYPE_BAD_LENGTH]');
    expect(error.message).toContain('2.options[0].choices[BASE_TYPE_MAX_LENGTH]');
    expect(double.commands('guild').map((c) => c.name)).toEqual(['status', 'runbook']);
    expect(double.violations).toHaveLength(1);
  });

  it('refuses to send a command that is not registered, or options that do not fit', async () => {
    const { double } = await setup();
    expect(() => double.sendCommand({ name: 'nope', member: 'operator' })).toThrow(/not registered/);
    expect(() => double.sendCommand({ name: 'status', member: 'operator' })).toThrow(/requires option "service"/);
    expect(() => double.sendCommand({ name: 'status', options: { service: 'api', lines: 1.5 }, member: 'operator' })).toThrow(/integer/);
    expect(() => double.sendCommand({ name: 'runbook run', options: { name: 'reboot' }, member: 'operator' })).toThrow(/choices/);
    expect(() => double.sendCommand({ name: 'runbook', member: 'operator' })).toThrow(/needs a subcommand/);
  });
});

describe('interactions', () => {
  it('delivers a slash command with typed options and member, and records an embed reply', async () => {
    const { double, handle, handlerErrors } = await setup();
    const seen = deferred<Record<string, unknown>>();
    handle(async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      const member = interaction.guild?.members.cache.get(interaction.user.id);
      seen.resolve({
        command: interaction.commandName,
        service: interaction.options.getString('service'),
        lines: interaction.options.getInteger('lines'),
        verbose: interaction.options.getBoolean('verbose'),
        channel: interaction.channelId,
        roles: member ? [...member.roles.cache.keys()].sort() : null,
      });
      await interaction.reply({
        embeds: [new EmbedBuilder().setTitle('api: healthy').setDescription('All 3 containers up').addFields({ name: 'uptime', value: '3d' })],
      });
    });

    const interaction = double.sendCommand({
      name: 'status',
      options: { service: 'api', lines: 50, verbose: true },
      member: 'operator',
      channel: 'alerts',
    });
    const reply = await interaction.waitForReply();

    expect(await seen.promise).toEqual({
      command: 'status',
      service: 'api',
      lines: 50,
      verbose: true,
      channel: double.channels.alerts,
      roles: [double.guild.id, double.roles.operator, double.roles.viewer].sort(),
    });
    expect(reply.embeds[0]).toMatchObject({ title: 'api: healthy', description: 'All 3 containers up', fields: [{ name: 'uptime', value: '3d' }] });
    expect(reply.author.id).toBe(double.bot.id);
    expect(reply.channel_id).toBe(double.channels.alerts);
    expect(reply.interaction_metadata).toMatchObject({ id: interaction.id, user: { id: double.members.operator.id } });
    const ack = await interaction.acknowledged();
    expect(ack.type).toBe(4);
    expect(ack.latencyMs).toBeGreaterThanOrEqual(0);
    expect(ack.latencyMs).toBeLessThan(3000);
    expect(double.channelMessages('alerts').map((m) => m.id)).toEqual([reply.id]);
    expect(handlerErrors).toEqual([]);
    expect(double.violations).toEqual([]);
  });

  it('resolves subcommands, choices, users and channels from the registered definition', async () => {
    const { double, handle } = await setup();
    const seen = deferred<unknown[]>();
    handle(async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      seen.resolve([
        interaction.options.getSubcommand(),
        interaction.options.getString('name'),
        interaction.options.getUser('approver')?.username,
        interaction.options.getMember('approver') !== null,
        interaction.options.getChannel('report_to')?.id,
      ]);
      await interaction.reply({ content: 'queued', flags: MessageFlags.Ephemeral });
    });
    const interaction = double.sendCommand({
      name: 'runbook run',
      options: { name: 'restart', approver: 'approver', report_to: 'general' },
      member: 'operator',
    });
    expect(await seen.promise).toEqual(['run', 'restart', 'approver', true, double.channels.general]);
    const reply = await interaction.waitForReply();
    expect(reply.flags).toBe(MessageFlags.Ephemeral);
    expect(double.channelMessages('alerts')).toEqual([]);
    expect(double.channelMessages('alerts', { includeEphemeral: true })).toHaveLength(1);
  });

  it('records a deferred reply and the editReply that completes it', async () => {
    const { double, handle } = await setup();
    handle(async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
      await new Promise((resolve) => setTimeout(resolve, 50));
      await interaction.editReply({ content: 'done: 3 containers restarted' });
    });
    const interaction = double.sendCommand({ name: 'status', options: { service: 'api' }, member: 'operator' });
    expect((await interaction.acknowledged()).type).toBe(5);
    const reply = await interaction.waitForReply();
    expect(reply.content).toBe('done: 3 containers restarted');
    expect(reply.flags).toBe(MessageFlags.Ephemeral);
    const history = double.messageHistory(reply.id);
    expect(history.map((m) => m.flags)).toEqual([MessageFlags.Ephemeral | MessageFlags.Loading, MessageFlags.Ephemeral]);
    expect(double.violations).toEqual([]);
  });

  it('answers ?with_response=true with the interaction callback response discord.js expects', async () => {
    const { double, handle } = await setup();
    const seen = deferred<unknown[]>();
    handle(async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      const response = await interaction.reply({ content: 'pong', withResponse: true });
      seen.resolve([response.interaction.id, response.interaction.responseMessageId, response.resource?.message?.content]);
    });
    const interaction = double.sendCommand({ name: 'status', options: { service: 'db' }, member: 'viewer' });
    const reply = await interaction.waitForReply();
    expect(await seen.promise).toEqual([interaction.id, reply.id, 'pong']);
  });

  it('lets a member click a button, sees interaction.update, and refuses disabled buttons', async () => {
    const { double, handle } = await setup();
    const clickedBy = deferred<string>();
    handle(async (interaction) => {
      if (interaction.isChatInputCommand()) {
        const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
          new ButtonBuilder().setCustomId('approve:42').setLabel('Approve').setStyle(ButtonStyle.Success),
          new ButtonBuilder().setCustomId('locked:42').setLabel('Locked').setStyle(ButtonStyle.Secondary).setDisabled(true),
          new ButtonBuilder().setURL('https://example.com/runbook').setLabel('Docs').setStyle(ButtonStyle.Link),
        );
        await interaction.reply({ content: 'Restart api?', components: [row] });
      } else if (interaction.isButton()) {
        clickedBy.resolve(`${interaction.customId} by ${interaction.user.username}`);
        await interaction.update({ content: `Approved by ${interaction.user.username}`, components: [] });
      }
    });
    const command = double.sendCommand({ name: 'runbook run', options: { name: 'restart' }, member: 'operator' });
    const message = await command.waitForReply();

    expect(() => double.clickButton({ message, customId: 'locked:42', member: 'approver' })).toThrow(/disabled/);
    expect(() => double.clickButton({ message, customId: 'nope', member: 'approver' })).toThrow(/no component/);

    const click = double.clickButton({ message, customId: 'approve:42', member: 'approver' });
    const updated = await click.waitForUpdate((m) => m.components?.length === 0);
    expect(await clickedBy.promise).toBe('approve:42 by approver');
    expect(updated.content).toBe('Approved by approver');
    expect(updated.id).toBe(message.id);
    expect((await click.acknowledged()).type).toBe(7);
    expect(command.message()?.content).toBe('Approved by approver');

    // The button is gone now; a stale client can still send the click with force.
    expect(() => double.clickButton({ message, customId: 'approve:42', member: 'approver' })).toThrow(/no component/);
    const stale = double.clickButton({ message, customId: 'locked:42', member: 'approver', force: true });
    expect(stale.payload.type).toBe(3);
    expect(double.violations).toEqual([]);
  });

  it('stores a follow-up with a .txt attachment whose content can be read back', async () => {
    const { double, handle } = await setup();
    handle(async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      await interaction.reply('Collecting logs…');
      await interaction.followUp({
        content: 'Logs attached',
        files: [new AttachmentBuilder(Buffer.from('line 1\nline 2\n'), { name: 'api.log.txt' })],
      });
    });
    const interaction = double.sendCommand({ name: 'status', options: { service: 'api' }, member: 'operator' });
    const followup = await interaction.waitForFollowup();
    expect(followup.content).toBe('Logs attached');
    const [attachment] = followup.attachments;
    expect(attachment).toMatchObject({ filename: 'api.log.txt', size: 14 });
    expect(double.file(attachment!)?.text()).toBe('line 1\nline 2\n');
    expect(await (await fetch(attachment!.url)).text()).toBe('line 1\nline 2\n');
    const request = double.requests.find((r) => r.route === '/webhooks/:application_id/:token');
    expect(request?.files.map((f) => f.filename)).toEqual(['api.log.txt']);
    expect(interaction.followups()).toHaveLength(1);
    expect(double.violations).toEqual([]);
  });

  it('handles deferUpdate + editReply on a button, and an ephemeral follow-up', async () => {
    const { double, handle } = await setup();
    handle(async (interaction) => {
      if (interaction.isChatInputCommand()) {
        const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
          new ButtonBuilder().setCustomId('rollback').setLabel('Roll back').setStyle(ButtonStyle.Danger),
        );
        await interaction.reply({ content: 'Deploy finished', components: [row] });
      } else if (interaction.isButton()) {
        await interaction.deferUpdate();
        await interaction.editReply({ content: 'Rolling back…', components: [] });
        await interaction.followUp({ content: 'Only you can see this', flags: MessageFlags.Ephemeral });
      }
    });
    const message = await double.sendCommand({ name: 'status', options: { service: 'api' }, member: 'operator' }).waitForReply();
    const click = double.clickButton({ message, customId: 'rollback', member: 'operator2' });
    expect((await click.waitForUpdate()).content).toBe('Rolling back…');
    expect((await click.acknowledged()).type).toBe(6);
    const followup = await click.waitForFollowup();
    expect(followup.flags).toBe(MessageFlags.Ephemeral);
    expect(followup.interaction_metadata).toMatchObject({ id: click.id, interacted_message_id: message.id });
    expect(double.violations).toEqual([]);
  });

  it('replaces the "thinking" message with the first follow-up after a deferral, as Discord does', async () => {
    const { double, handle } = await setup();
    handle(async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      await interaction.deferReply();
      await interaction.followUp('first');
      await interaction.followUp('second');
    });
    const interaction = double.sendCommand({ name: 'status', options: { service: 'api' }, member: 'operator' });
    expect((await interaction.waitForReply()).content).toBe('first');
    expect((await interaction.waitForFollowup()).content).toBe('second');
    expect(interaction.followups()).toHaveLength(1);
  });

  it('delivers string select menus', async () => {
    const { double, handle } = await setup();
    handle(async (interaction) => {
      if (interaction.isChatInputCommand()) {
        await interaction.reply({
          content: 'Pick hosts',
          components: [
            {
              type: 1,
              components: [
                { type: 3, custom_id: 'hosts', min_values: 1, max_values: 2, options: ['a', 'b', 'c'].map((v) => ({ label: v, value: v })) },
              ],
            },
          ],
        });
      } else if (interaction.isStringSelectMenu()) {
        await interaction.update({ content: `picked ${interaction.values.join(',')}`, components: [] });
      }
    });
    const message = await double.sendCommand({ name: 'status', options: { service: 'api' }, member: 'operator' }).waitForReply();
    expect(() => double.selectMenu({ message, customId: 'hosts', values: ['z'], member: 'operator' })).toThrow(/not an option/);
    const select = double.selectMenu({ message, customId: 'hosts', values: ['a', 'c'], member: 'operator' });
    expect((await select.waitForUpdate()).content).toBe('picked a,c');
  });

  it('records messages the bot posts to a channel, and dispatches MESSAGE_CREATE to GUILD_MESSAGES clients', async () => {
    const double = await startDiscordDouble();
    doubles.push(double);
    const client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages], rest: { api: double.apiUrl } });
    clients.push(client);
    const ready = once(client, Events.ClientReady);
    await client.login(double.token);
    await ready;
    const created = once(client, Events.MessageCreate);
    const channel = client.channels.cache.get(double.channels.alerts);
    if (!channel?.isSendable()) throw new Error('alerts is not sendable');
    const sent = await channel.send({ embeds: [new EmbedBuilder().setTitle('Disk 91% on staging').setColor(0xff0000)] });
    const stored = await double.waitForChannelMessage('alerts', (m) => m.embeds[0]?.title?.startsWith('Disk') === true);
    expect(stored.id).toBe(sent.id);
    expect(stored.embeds[0]).toMatchObject({ type: 'rich', color: 0xff0000 });
    const [event] = (await created) as [{ id: string }];
    expect(event.id).toBe(sent.id);
    await sent.edit('resolved');
    expect(double.message(sent.id)).toMatchObject({ content: 'resolved', embeds: [expect.objectContaining({ title: 'Disk 91% on staging' })] });
    expect((await channel.messages.fetch(sent.id)).content).toBe('resolved');
    expect(double.violations).toEqual([]);
  });

  it('describes what it received when a wait times out', async () => {
    const { double } = await setup();
    const interaction = double.sendCommand({ name: 'status', options: { service: 'api' }, member: 'operator' });
    await expect(interaction.waitForReply(undefined, { timeoutMs: 100 })).rejects.toThrow(
      /Timed out after 100 ms waiting for the reply to interaction \d+ \(\/status by operator\)[\s\S]*callbacks: none/,
    );
    await expect(double.waitForChannelMessage('general', undefined, { timeoutMs: 50 })).rejects.toThrow(/#general has 0 message/);
  });

  it('edits a follow-up by id and deletes the original response through the interaction webhook', async () => {
    const { double, handle } = await setup();
    const done = deferred<void>();
    handle(async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      await interaction.reply('working');
      const followup = await interaction.followUp('step 1');
      await interaction.editReply({ message: followup.id, content: 'step 1 ✓' });
      await interaction.deleteReply();
      done.resolve();
    });
    const interaction = double.sendCommand({ name: 'status', options: { service: 'api' }, member: 'operator', channel: 'general' });
    await done.promise;
    expect(interaction.message()).toBeUndefined();
    expect(interaction.followups().map((m) => m.content)).toEqual(['step 1 ✓']);
    expect(double.channelMessages('general').map((m) => m.content)).toEqual(['step 1 ✓']);
    expect(double.requests.filter((r) => r.path.includes('/messages/@original')).map((r) => r.method)).toEqual(['DELETE']);
    expect(double.violations).toEqual([]);
  });

  it('sends autocomplete and records the choices', async () => {
    const { double, handle } = await setup();
    handle(async (interaction) => {
      if (!interaction.isAutocomplete()) return;
      const typed = interaction.options.getFocused();
      await interaction.respond(['api', 'app', 'db'].filter((s) => s.startsWith(typed)).map((s) => ({ name: s, value: s })));
    });
    const interaction = double.sendAutocomplete({ name: 'status', focused: 'service', value: 'a', member: 'viewer' });
    expect(await interaction.waitForChoices()).toEqual([
      { name: 'api', value: 'api' },
      { name: 'app', value: 'app' },
    ]);
    expect((await interaction.acknowledged()).type).toBe(8);
  });

  it('shows a modal and submits it', async () => {
    const { double, handle } = await setup();
    handle(async (interaction) => {
      if (interaction.isChatInputCommand()) {
        await interaction.showModal(
          new ModalBuilder()
            .setCustomId('reason')
            .setTitle('Why?')
            .addComponents(
              new ActionRowBuilder<TextInputBuilder>().addComponents(
                new TextInputBuilder().setCustomId('why').setLabel('Reason').setStyle(TextInputStyle.Short),
              ),
            ),
        );
      } else if (interaction.isModalSubmit()) {
        await interaction.reply(`reason: ${interaction.fields.getTextInputValue('why')}`);
      }
    });
    const command = double.sendCommand({ name: 'status', options: { service: 'api' }, member: 'operator' });
    expect(await command.waitForModal()).toMatchObject({ custom_id: 'reason', title: 'Why?' });
    const submit = command.submitModal({ fields: { why: 'disk full' } });
    expect((await submit.waitForReply()).content).toBe('reason: disk full');
    expect(double.violations).toEqual([]);
  });
});

describe('rule breaks are answered like Discord and recorded', () => {
  it('rejects a second acknowledgement with 40060', async () => {
    const { double, client, handle } = await setup();
    const second = deferred<DiscordAPIError>();
    handle(async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      await interaction.reply('first');
      second.resolve(
        await apiError(() =>
          client.rest.post(Routes.interactionCallback(interaction.id, interaction.token), {
            body: { type: 4, data: { content: 'second' } },
            auth: false,
          }),
        ),
      );
    });
    const interaction = double.sendCommand({ name: 'status', options: { service: 'api' }, member: 'operator' });
    const error = await second.promise;
    expect(error.code).toBe(40060);
    expect(error.status).toBe(400);
    expect(error.message).toBe('Interaction has already been acknowledged.');
    expect(double.violations).toEqual([
      expect.objectContaining({ route: 'POST /interactions/:interaction_id/:token/callback', status: 400, code: 40060 }),
    ]);
    expect(interaction.callbacks().map((c) => c.status)).toEqual([204, 400]);
  });

  it('rejects an acknowledgement after the deadline with 10062', async () => {
    const { double, handle } = await setup({ ackDeadlineMs: 150 });
    const late = deferred<DiscordAPIError>();
    handle(async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      await new Promise((resolve) => setTimeout(resolve, 300));
      late.resolve(await apiError(() => interaction.reply('too late')));
    });
    const interaction = double.sendCommand({ name: 'status', options: { service: 'api' }, member: 'operator' });
    const error = await late.promise;
    expect(error.code).toBe(10062);
    expect(error.status).toBe(404);
    expect(double.violations.map((v) => v.code)).toEqual([10062]);
    await expect(interaction.acknowledged({ timeoutMs: 50 })).rejects.toThrow(/404 code 10062/);
  });

  it('times a callback by its arrival: one the double handles late (held here) counts, and meets the deadline, from when it came', async () => {
    const { double, handle } = await setup({ ackDeadlineMs: 150 });
    const hold = double.holdRest({ method: 'POST', path: /^\/interactions\/\d+\/[^/]+\/callback$/ });
    const deferredOk = deferred<void>();
    handle(async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      await interaction.deferReply();
      deferredOk.resolve();
    });
    const interaction = double.sendCommand({ name: 'status', options: { service: 'api' }, member: 'operator' });
    await hold.arrived;
    await new Promise((resolve) => setTimeout(resolve, 300));
    hold.release();
    await deferredOk.promise;
    const ack = await interaction.acknowledged();
    expect(ack.type).toBe(5);
    expect(ack.latencyMs).toBeLessThan(150);
    expect(ack.handledMs).toBeGreaterThanOrEqual(300);
    expect(double.violations).toEqual([]);
  });

  it('rejects an over-limit embed sent through raw REST with 50035 and records it', async () => {
    const { double, client } = await setup();
    const error = await apiError(() =>
      client.rest.post(Routes.channelMessages(double.channels.alerts), {
        body: { embeds: [{ title: 't'.repeat(257), fields: [{ name: 'n', value: 'v'.repeat(1025) }] }] },
      }),
    );
    expect(error.code).toBe(50035);
    expect(error.message).toContain('embeds[0].title[BASE_TYPE_MAX_LENGTH]: Must be 256 or fewer in length.');
    expect(error.rawError).toMatchObject({
      code: 50035,
      message: 'Invalid Form Body',
      errors: { embeds: { 0: { title: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH' }] }, fields: { 0: { value: { _errors: [{ code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be between 1 and 1024 in length.' }] } } } } } },
    });
    expect(double.violations).toEqual([
      expect.objectContaining({ route: 'POST /channels/:channel_id/messages', status: 400, code: 50035 }),
    ]);
    expect(double.channelMessages('alerts')).toEqual([]);

    const total = await apiError(() =>
      client.rest.post(Routes.channelMessages(double.channels.alerts), {
        body: { embeds: [{ description: 'x'.repeat(4000) }, { description: 'y'.repeat(2001) }] },
      }),
    );
    expect(total.message).toContain('MAX_EMBED_SIZE_EXCEEDED');
  });

  it('rejects 6 action rows, 6 buttons in a row and a select menu sharing a row', async () => {
    const { double, client } = await setup();
    const button = (id: string) => ({ type: 2, style: 1, label: id, custom_id: id });
    const rows = Array.from({ length: 6 }, (_, i) => ({ type: 1, components: [button(`b${i}`)] }));
    const tooManyRows = await apiError(() => client.rest.post(Routes.channelMessages(double.channels.alerts), { body: { content: 'x', components: rows } }));
    expect(tooManyRows.code).toBe(50035);
    expect(tooManyRows.message).toContain('components[BASE_TYPE_MAX_LENGTH]: Must be 5 or fewer in length.');

    const wide = { type: 1, components: Array.from({ length: 6 }, (_, i) => button(`w${i}`)) };
    const tooWide = await apiError(() => client.rest.post(Routes.channelMessages(double.channels.alerts), { body: { content: 'x', components: [wide] } }));
    expect(tooWide.message).toContain('components[0].components[5][COMPONENT_LAYOUT_WIDTH_EXCEEDED]');

    const select = { type: 3, custom_id: 'pick', options: [{ label: 'a', value: 'a' }] };
    const shared = await apiError(() =>
      client.rest.post(Routes.channelMessages(double.channels.alerts), { body: { content: 'x', components: [{ type: 1, components: [button('b'), select] }] } }),
    );
    expect(shared.message).toContain('components[0].components[1][COMPONENT_LAYOUT_WIDTH_EXCEEDED]');
    expect(double.violations.map((v) => v.code)).toEqual([50035, 50035, 50035]);
  });

  it('rejects a custom_id of 101 characters, and link/non-link button mistakes', async () => {
    const { double, client } = await setup();
    const error = await apiError(() =>
      client.rest.post(Routes.channelMessages(double.channels.alerts), {
        body: {
          content: 'x',
          components: [
            {
              type: 1,
              components: [
                { type: 2, style: 1, label: 'Too long', custom_id: 'c'.repeat(101) },
                { type: 2, style: 5, label: 'Link', url: 'https://example.com', custom_id: 'nope' },
                { type: 2, style: 2, label: 'No id' },
                { type: 2, style: 2, label: 'l'.repeat(81), custom_id: 'long-label' },
              ],
            },
          ],
        },
      }),
    );
    expect(error.code).toBe(50035);
    expect(error.message).toContain('components[0].components[0].custom_id[BASE_TYPE_BAD_LENGTH]: Must be between 1 and 100 in length.');
    expect(error.message).toContain('components[0].components[1].custom_id[BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED]');
    expect(error.message).toContain('components[0].components[2].custom_id[BASE_TYPE_REQUIRED]');
    expect(error.message).toContain('components[0].components[3].label[BASE_TYPE_MAX_LENGTH]');
  });

  it('rejects 26 autocomplete choices', async () => {
    const { double, handle } = await setup();
    const result = deferred<DiscordAPIError>();
    handle(async (interaction) => {
      if (!interaction.isAutocomplete()) return;
      const choices = Array.from({ length: 26 }, (_, i) => ({ name: `service-${i}`, value: `service-${i}` }));
      result.resolve(await apiError(() => interaction.respond(choices)));
    });
    double.sendAutocomplete({ name: 'status', focused: 'service', member: 'operator' });
    const error = await result.promise;
    expect(error.code).toBe(50035);
    expect(error.message).toContain('data.choices[BASE_TYPE_MAX_LENGTH]: Must be 25 or fewer in length.');
    expect(double.violations).toEqual([expect.objectContaining({ code: 50035, route: 'POST /interactions/:interaction_id/:token/callback' })]);
  });

  it('rejects an empty message (50006), 2001 characters (50035) and a file over the size limit (40005)', async () => {
    const { double, client } = await setup({ maxFileSize: 1024 });
    const channel = client.channels.cache.get(double.channels.alerts);
    if (!channel?.isSendable()) throw new Error('alerts is not sendable');
    const empty = await apiError(() => client.rest.post(Routes.channelMessages(double.channels.alerts), { body: { content: '' } }));
    expect([empty.status, empty.code, empty.message]).toEqual([400, 50006, 'Cannot send an empty message']);
    const long = await apiError(() => channel.send('x'.repeat(2001)));
    expect(long.message).toContain('content[BASE_TYPE_MAX_LENGTH]: Must be 2000 or fewer in length.');
    const big = await apiError(() => channel.send({ files: [new AttachmentBuilder(Buffer.alloc(1025), { name: 'big.bin' })] }));
    expect([big.status, big.code]).toEqual([413, 40005]);
    const fine = await channel.send({ content: 'ok', files: [new AttachmentBuilder(Buffer.from('small'), { name: 'small.txt' })] });
    expect(double.file(fine.attachments.first()!.id)?.text()).toBe('small');
    expect(double.violations.map((v) => v.code)).toEqual([50006, 50035, 40005]);
  });

  it('answers webhook calls for an interaction that was never acknowledged with 10015', async () => {
    const { double, handle } = await setup();
    const result = deferred<DiscordAPIError>();
    handle(async (interaction) => {
      if (interaction.isChatInputCommand()) result.resolve(await apiError(() => interaction.webhook.send('no ack')));
    });
    double.sendCommand({ name: 'status', options: { service: 'api' }, member: 'operator' });
    const error = await result.promise;
    expect([error.status, error.code]).toEqual([404, 10015]);
  });

  it('expires interaction webhooks after the token lifetime (50027)', async () => {
    const { double, handle } = await setup({ interactionTokenTtlMs: 200 });
    const late = deferred<DiscordAPIError>();
    handle(async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      await interaction.deferReply();
      await new Promise((resolve) => setTimeout(resolve, 300));
      late.resolve(await apiError(() => interaction.editReply('finally')));
    });
    double.sendCommand({ name: 'status', options: { service: 'api' }, member: 'operator' });
    const error = await late.promise;
    expect([error.status, error.code]).toEqual([401, 50027]);
  });
});

describe('gateway', () => {
  it('lets the client resume after a dropped connection, replaying missed interactions', async () => {
    const { double, handle } = await setup();
    handle(async (interaction) => {
      if (interaction.isChatInputCommand()) await interaction.reply(`ok ${interaction.options.getString('service')}`);
    });
    expect(double.dropGateway()).toBe(1);
    // Sent while the bot is disconnected: replayed on RESUME.
    const missed = double.sendCommand({ name: 'status', options: { service: 'missed' }, member: 'operator' });
    await double.waitForResume();
    expect((await missed.waitForReply()).content).toBe('ok missed');
    const after = double.sendCommand({ name: 'status', options: { service: 'after' }, member: 'operator' });
    expect((await after.waitForReply()).content).toBe('ok after');
    expect(double.gatewayStats()).toMatchObject({ identifies: 1, resumes: 1, connectedSessions: 1 });

    // Op 7 RECONNECT: the client closes with 4200 and resumes too.
    double.dropGateway({ mode: 'reconnect' });
    await double.waitForResume();
    const third = double.sendCommand({ name: 'status', options: { service: 'third' }, member: 'operator' });
    expect((await third.waitForReply()).content).toBe('ok third');
    expect(double.gatewayStats()).toMatchObject({ identifies: 1, resumes: 2 });
    expect(double.violations).toEqual([]);
  });

  it('makes the client identify again when the session cannot be resumed', async () => {
    const { double, client, handle } = await setup();
    handle(async (interaction) => {
      if (interaction.isChatInputCommand()) await interaction.reply('still here');
    });
    double.dropGateway({ resumable: false });
    await once(client, Events.ShardReady);
    expect(double.gatewayStats()).toMatchObject({ identifies: 2, resumes: 0 });
    const interaction = double.sendCommand({ name: 'status', options: { service: 'api' }, member: 'operator' });
    expect((await interaction.waitForReply()).content).toBe('still here');
  });

  it('speaks zlib-stream transport compression to clients that ask for it', async () => {
    const double = await startDiscordDouble({ heartbeatIntervalMs: 1000 });
    doubles.push(double);
    const ws = new WebSocket(`${double.gatewayUrl}?v=10&encoding=json&compress=zlib-stream`);
    const inflate = zlib.createInflate();
    const payloads: { op: number; t?: string | null; s?: number | null; d: unknown }[] = [];
    let text = '';
    inflate.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    ws.on('message', (data: Buffer) => {
      inflate.write(data);
      inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        if (text) payloads.push(JSON.parse(text) as (typeof payloads)[number]);
        text = '';
      });
    });
    await once(ws, 'open');
    const until = async (predicate: () => boolean) => {
      while (!predicate()) await new Promise((resolve) => setTimeout(resolve, 10));
    };
    await until(() => payloads.length > 0);
    expect(payloads[0]).toMatchObject({ op: 10, d: { heartbeat_interval: 1000 } });
    ws.send(JSON.stringify({ op: 2, d: { token: double.token, intents: 1, properties: {} } }));
    ws.send(JSON.stringify({ op: 1, d: null }));
    await until(() => payloads.some((p) => p.t === 'GUILD_CREATE') && payloads.some((p) => p.op === 11));
    expect(payloads.filter((p) => p.op === 0).map((p) => [p.t, p.s])).toEqual([
      ['READY', 1],
      ['GUILD_CREATE', 2],
    ]);
    ws.close(1000);
    await once(ws, 'close');
  });
});

describe('faults a test injects', () => {
  it('op 9 INVALID_SESSION: not resumable → the client identifies again; resumable → it resumes', async () => {
    const { double, handle } = await setup();
    handle(async (interaction) => {
      if (interaction.isChatInputCommand()) await interaction.reply('here');
    });
    expect(double.sendInvalidSession()).toBe(1);
    await double.waitForIdentify({ after: 1 });
    expect(double.gatewayStats()).toMatchObject({ identifies: 2, resumes: 0 });
    expect(double.sendInvalidSession({ resumable: true })).toBe(1);
    await double.waitForResume({ after: 0 });
    expect(double.gatewayStats()).toMatchObject({ identifies: 2, resumes: 1 });
    const after = double.sendCommand({ name: 'status', options: { service: 'api' }, member: 'operator' });
    expect((await after.waitForReply()).content).toBe('here');
    expect(double.violations).toEqual([]);
  });

  it('a gateway outage refuses connections until it ends; then the client resumes', async () => {
    const { double, handle } = await setup();
    handle(async (interaction) => {
      if (interaction.isChatInputCommand()) await interaction.reply('back');
    });
    double.forceResume();
    await double.waitForResume({ after: 0 });
    const outage = double.gatewayOutage(1500);
    expect(double.gatewayIsDown).toBe(true);
    await outage;
    expect(double.gatewayStats().refused).toBeGreaterThan(0);
    await double.waitForConnected();
    expect(double.gatewayStats().identifies).toBe(1);
    const after = double.sendCommand({ name: 'status', options: { service: 'api' }, member: 'operator' });
    expect((await after.waitForReply()).content).toBe('back');
  });

  it('REST 429 with retry-after: discord.js waits and retries; 5xx past its retries reaches the caller', async () => {
    const { double, handle, handlerErrors } = await setup();
    const edited = deferred<number>();
    handle(async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      await interaction.deferReply();
      const started = Date.now();
      await interaction.editReply(`done ${interaction.options.getString('service')}`);
      edited.resolve(Date.now() - started);
    });
    const limited = double.failRest({ ...restRoutes.originalEdit, status: 429, retryAfterMs: 1000 });
    const first = double.sendCommand({ name: 'status', options: { service: 'a' }, member: 'operator' });
    expect((await first.waitForReply()).content).toBe('done a');
    expect(await edited.promise).toBeGreaterThanOrEqual(900);
    expect(limited).toMatchObject({ hits: 1, remaining: 0 });
    const answers = double.requests.filter((r) => r.method === 'PATCH');
    expect(answers.map((r) => [r.status, r.injected ?? false])).toEqual([[429, true], [200, false]]);
    expect(answers[0]!.response).toMatchObject({ message: 'You are being rate limited.', retry_after: 1, global: false });

    double.failRest({ ...restRoutes.originalEdit, status: 502, times: 4 });
    const second = double.sendCommand({ name: 'status', options: { service: 'b' }, member: 'operator' });
    await second.acknowledged();
    await expect.poll(() => handlerErrors.length).toBe(1);
    expect(String(handlerErrors[0])).toMatch(/502|Bad Gateway/);
    expect(double.requests.filter((r) => r.injected && r.status === 502)).toHaveLength(4);
    expect(double.violations).toEqual([]);
  });
  it('a lost answer (afterHandling): the message exists, discord.js retries; enforce_nonce returns it instead of a second one', async () => {
    const double = await startDiscordDouble({ nonceWindowMs: 1500 });
    doubles.push(double);
    const client = await newClient(double);
    const channel = client.channels.cache.get(double.channels.alerts);
    if (!channel?.isSendable()) throw new Error('alerts is not sendable');
    const alerts = () => double.channelMessages('alerts').filter((m) => m.content.startsWith('disk'));

    // Without a nonce, discord.js's retry after a lost answer posts the message twice.
    double.failRest({ ...restRoutes.channelMessageCreate, status: 502, afterHandling: true });
    await channel.send('disk 91%');
    expect(alerts().map((m) => m.content)).toEqual(['disk 91%', 'disk 91%']);

    double.failRest({ ...restRoutes.channelMessageCreate, status: 502, afterHandling: true });
    const sent = await channel.send({ content: 'disk 92%', nonce: 'alert-1', enforceNonce: true });
    expect(alerts().filter((m) => m.content === 'disk 92%').map((m) => m.id)).toEqual([sent.id]);
    expect(double.requests.filter((r) => r.method === 'POST' && /\/messages$/.test(r.path)).map((r) => [r.status, r.injected ?? false])).toEqual([[502, true], [200, false], [502, true], [200, false]]);
    // The same nonce without enforce_nonce, or another nonce, is a new message.
    expect((await channel.send({ content: 'disk 92%', nonce: 'alert-1' })).id).not.toBe(sent.id);
    expect((await channel.send({ content: 'disk 92%', nonce: 'alert-2', enforceNonce: true })).id).not.toBe(sent.id);
    // Past the window the nonce is free again.
    await new Promise((r) => setTimeout(r, 1600));
    expect((await channel.send({ content: 'disk 92%', nonce: 'alert-1', enforceNonce: true })).id).not.toBe(sent.id);
    const tooLong = await apiError(() => channel.send({ content: 'x', nonce: 'n'.repeat(26), enforceNonce: true }));
    expect(tooLong).toMatchObject({ status: 400, code: 50035 });
    expect(() => double.failRest({ ...restRoutes.channelMessageCreate, status: 429, afterHandling: true })).toThrow(/5xx/);
  });

  it('holds a REST request until the test releases it (e.g. the command registration after READY)', async () => {
    const double = await startDiscordDouble();
    doubles.push(double);
    const client = await newClient(double);
    const hold = double.holdRest(restRoutes.guildCommandsPut);
    let registered = false;
    const registering = client.application!.commands.set(commandDefs, double.guild.id).then(() => (registered = true));
    await hold.arrived;
    await new Promise((r) => setTimeout(r, 200));
    expect(registered).toBe(false);
    expect(double.commands('guild')).toEqual([]);
    hold.release();
    await registering;
    expect(double.commands('guild').map((c) => c.name)).toEqual(expect.arrayContaining(['status', 'runbook']));
    expect(double.violations).toEqual([]);
  });
});
