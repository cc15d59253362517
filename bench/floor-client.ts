/**
 * The least a bot can do with an interaction, as a process of its own, for the acknowledgement
 * floor of bench/ack-floor.ts: log in, register /ps, defer every command, then edit the deferred
 * reply to "ok". No opsbot code runs.
 *
 *   floor-client.js discordjs   discord.js, as opsbot uses it (Guilds intent, deferReply/editReply)
 *   floor-client.js raw         no Discord library: the gateway over `ws`, REST over node:http
 *
 * Reads DISCORD_TOKEN, DISCORD_API_URL and GUILD_ID; prints {"msg":"opsbot started"} once /ps is
 * registered, as the bot does, so the bench waits for both the same way.
 */
import { request, Agent } from 'node:http';
import { Client, Events, GatewayIntentBits, SlashCommandBuilder } from 'discord.js';
import WebSocket from 'ws';

const token = process.env.DISCORD_TOKEN ?? '';
const api = (process.env.DISCORD_API_URL ?? '').replace(/\/+$/, '');
const guildId = process.env.GUILD_ID ?? '';
const PS = new SlashCommandBuilder().setName('ps').setDescription('Containers of the stack').toJSON();
const started = (): void => void process.stdout.write('{"msg":"opsbot started"}\n');

async function discordjs(): Promise<void> {
  const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api } });
  client.on(Events.InteractionCreate, (i) => {
    if (!i.isChatInputCommand()) return;
    void i
      .deferReply()
      .then(() => i.editReply('ok'))
      .catch((err: unknown) => process.stderr.write(`${String(err)}\n`));
  });
  client.once(Events.ClientReady, () => {
    void client.guilds
      .fetch(guildId)
      .then((guild) => guild.commands.set([PS]))
      .then(started);
  });
  await client.login(token);
}

const agent = new Agent({ keepAlive: true });

/** One JSON request to the API; resolves with the parsed answer (or null for 204). */
function call(method: string, path: string, body: unknown, auth = true): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth) headers.authorization = `Bot ${token}`;
    if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
    const req = request(`${api}/v10${path}`, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 500) >= 400) reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
        else resolve(text.length > 0 ? (JSON.parse(text) as unknown) : null);
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

interface Packet {
  op: number;
  s: number | null;
  t: string | null;
  d: Record<string, unknown> & { heartbeat_interval?: number; id?: string; token?: string; application?: { id: string } };
}

async function raw(): Promise<void> {
  const { url } = (await call('GET', '/gateway/bot', undefined)) as { url: string };
  const ws = new WebSocket(`${url}/?v=10&encoding=json`);
  let seq: number | null = null;
  let applicationId = '';
  ws.on('message', (data: Buffer) => {
    const p = JSON.parse(data.toString('utf8')) as Packet;
    if (p.s !== null) seq = p.s;
    if (p.op === 10) {
      setInterval(() => ws.send(JSON.stringify({ op: 1, d: seq })), p.d.heartbeat_interval ?? 41_250).unref();
      ws.send(JSON.stringify({ op: 2, d: { token, intents: GatewayIntentBits.Guilds, properties: { os: 'linux', browser: 'floor', device: 'floor' } } }));
    } else if (p.t === 'READY') {
      applicationId = p.d.application?.id ?? '';
      void call('PUT', `/applications/${applicationId}/guilds/${guildId}/commands`, [PS]).then(started);
    } else if (p.t === 'INTERACTION_CREATE') {
      const { id, token: itoken } = p.d as { id: string; token: string };
      void call('POST', `/interactions/${id}/${itoken}/callback`, { type: 5 }, false)
        .then(() => call('PATCH', `/webhooks/${applicationId}/${itoken}/messages/@original`, { content: 'ok' }, false))
        .catch((err: unknown) => process.stderr.write(`${String(err)}\n`));
    }
  });
}

await (process.argv[2] === 'raw' ? raw() : discordjs());
