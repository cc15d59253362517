import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startDiscordDouble } from '../discord-double/index.js';
import { readStaging } from '../staging/staging.js';

const run = promisify(execFile);
const tsx = join('node_modules', '.bin', 'tsx');

async function exitOf(file: string, env: Record<string, string>): Promise<{ code: number; stderr: string; stdout: string }> {
  try {
    const { stdout, stderr } = await run(tsx, [file], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 });
    return { code: 0, stderr, stdout };
  } catch (err) {
    const e = err as { code: number; stderr: string; stdout: string };
    return { code: e.code, stderr: e.stderr, stdout: e.stdout };
  }
}

describe('starting the bot process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'opsbot-start-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stops with a non-zero exit naming the missing secret', async () => {
    const res = await exitOf('src/main.ts', { OPSBOT_CONFIG: 'opsbot.example.yaml' });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/DISCORD_TOKEN: is required/);
  });

  it('stops with a non-zero exit naming the invalid key and the reason', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'discord:\n  guildId: "12"\n  alertsChannel: alerts\n  roles: { viewer: v, operator: o, approver: a }\nhosts: []\n');
    const res = await exitOf('src/main.ts', { OPSBOT_CONFIG: file, DISCORD_TOKEN: 'x'.repeat(40) });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/discord\.guildId: must be a Discord snowflake/);
    expect(res.stderr).toMatch(/hosts: needs at least one host/);
    expect(res.stderr).not.toContain('x'.repeat(40));
  });

  it('says which file is missing', async () => {
    const res = await exitOf('src/main.ts', { OPSBOT_CONFIG: join(dir, 'nope.yaml'), DISCORD_TOKEN: 'x'.repeat(40) });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/nope\.yaml.*cannot be read \(ENOENT\)/s);
  });

  it('npm run deploy-commands registers the guild commands', async () => {
    const double = await startDiscordDouble();
    try {
      const staging = readStaging();
      const file = join(dir, 'opsbot.yaml');
      writeFileSync(
        file,
        stringify({
          discord: { guildId: double.guild.id, alertsChannel: 'alerts', roles: { viewer: 'viewer', operator: 'operator', approver: 'approver' } },
          hosts: [{ name: 'staging', address: '127.0.0.1', port: staging.sshPort, user: 'deploy', keyPath: staging.keyPath, hostKeyFingerprint: staging.hostKeyFingerprint, projectDir: staging.projectDir }],
        }),
      );
      const res = await exitOf('src/deploy-commands.ts', { OPSBOT_CONFIG: file, DISCORD_TOKEN: double.token, DISCORD_API_URL: double.apiUrl });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/registered 8 commands/);
      expect(double.commands('guild').map((c) => c.name).sort()).toEqual(['audit', 'logs', 'ps', 'report', 'restart', 'runbook', 'stats', 'top']);
      expect(double.violations).toEqual([]);
    } finally {
      await double.close();
    }
  });
});
