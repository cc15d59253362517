import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/app.js';
import { configSchema } from '../../src/config/schema.js';
import { startDiscordDouble, type DiscordDouble } from '../discord-double/index.js';
import { readStaging, resetStaging } from '../staging/staging.js';
import { buttonId, isEphemeral, textOf } from './util.js';

/**
 * Another guild: other channel and role names, roles given by id, other members. The bot must
 * follow its configuration, not the names the other tests happen to use.
 */
describe('a guild laid out differently', () => {
  let double: DiscordDouble<'ops-alerts' | 'random', 'sre' | 'oncall' | 'lead', 'sam' | 'olga' | 'lee' | 'guest'>;
  let app: App;
  const dir = mkdtempSync(join(tmpdir(), 'opsbot-layout-'));

  beforeAll(async () => {
    await resetStaging();
    const staging = readStaging();
    double = await startDiscordDouble({
      channels: ['ops-alerts', 'random'],
      roles: { sre: { name: 'SRE read-only' }, oncall: { name: 'On-call' }, lead: { name: 'Ops lead' } },
      members: { sam: { roles: ['sre'] }, olga: { roles: ['oncall'] }, lee: { roles: ['lead'] }, guest: {} },
    });
    const config = configSchema.parse({
      discord: {
        guildId: double.guild.id,
        alertsChannel: double.channels['ops-alerts'],
        roles: { viewer: double.roles.sre, operator: 'on-call', approver: double.roles.lead },
      },
      hosts: [{ name: 'vps-1', address: staging.sshHost, port: staging.sshPort, user: staging.user, keyPath: staging.keyPath, hostKeyFingerprint: staging.hostKeyFingerprint, projectDir: staging.projectDir, composeFiles: staging.composeFiles }],
      database: { path: join(dir, 'opsbot.db') },
      http: { listen: '127.0.0.1:0' },
    });
    app = await startApp(config, { DISCORD_TOKEN: double.token, DISCORD_API_URL: double.apiUrl, OPSBOT_CONFIG: '' }, pino({ level: 'silent' }));
  });
  afterAll(async () => {
    await app?.stop();
    await double?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the configured channel and roles', async () => {
    const ps = double.sendCommand({ name: 'ps', member: 'sam', channel: 'ops-alerts' });
    expect(textOf(await ps.waitForReply())).toMatch(/all 5 services running/);
    const elsewhere = double.sendCommand({ name: 'ps', member: 'sam', channel: 'random' });
    const refusal = await elsewhere.waitForReply();
    expect(isEphemeral(refusal)).toBe(true);
    expect(refusal.content).toContain(`<#${double.channels['ops-alerts']}>`);
    const guest = double.sendCommand({ name: 'ps', member: 'guest', channel: 'ops-alerts' });
    expect((await guest.waitForReply()).content).toContain(`<@&${double.roles.sre}>`);
  });

  it('ranks roles by configuration: the read-only role cannot restart, on-call can ask', async () => {
    const denied = double.sendCommand({ name: 'restart', options: { service: 'nextjs' }, member: 'sam', channel: 'ops-alerts' });
    expect((await denied.waitForReply()).content).toContain(`<@&${double.roles.oncall}>`);
    const asked = double.sendCommand({ name: 'restart', options: { service: 'nextjs' }, member: 'olga', channel: 'ops-alerts' });
    const gate = await asked.waitForReply((m) => (m.components ?? []).length > 0);
    expect(textOf(gate)).toMatch(/This will run on `vps-1`/);
    const cancel = double.clickButton({ message: gate, customId: buttonId(gate, 'Cancel'), member: 'lee' });
    expect(textOf(await cancel.waitForUpdate())).toMatch(/cancelled by lee/);
    expect(double.violations).toEqual([]);
  });
});
