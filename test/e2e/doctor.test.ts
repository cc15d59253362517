import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { stagingConfig } from '../staging/config.js';
import { readStaging } from '../staging/staging.js';

const bin = join(process.cwd(), 'bin', 'opsbot.js');
/** Shaped like a bot token (id.timestamp.hmac), for the token check; it opens nothing. */
const TOKEN = `${Buffer.from('100000000000000001').toString('base64url')}.GabcdE.${'x'.repeat(38)}`;

function doctor(config: Record<string, unknown>, env: NodeJS.ProcessEnv = { DISCORD_TOKEN: TOKEN }): Promise<{ code: number; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'opsbot-doctor-'));
  const file = join(dir, 'opsbot.yaml');
  writeFileSync(file, stringify({ ...config, database: { path: join(dir, 'opsbot.db') } }));
  return new Promise((resolve) => {
    execFile(bin, ['doctor', '--config', file], { env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 90_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

const hostWith = (change: Record<string, unknown>, drop?: string) => {
  const c = stagingConfig();
  const [h] = c.hosts as Record<string, unknown>[];
  const host: Record<string, unknown> = { ...h, ...change };
  if (drop) delete host[drop];
  return { ...c, hosts: [host] };
};

describe('opsbot doctor against the staging host', () => {
  it('all ✔ for a correct setup (exit 0); ✘ with the fix and exit 1 for a wrong pin, a missing project dir, no pin yet', async () => {
    const s = readStaging();
    const [good, wrongPin, noDir, unpinned] = await Promise.all([
      doctor(stagingConfig()),
      doctor(hostWith({ hostKeyFingerprint: `SHA256:${'B'.repeat(43)}` })),
      doctor(hostWith({ projectDir: '/srv/no-such-project' }), {}),
      doctor(hostWith({}, 'hostKeyFingerprint')),
    ]);

    expect(good.code, good.out).toBe(0);
    for (const check of ['ssh reachable', 'host key', 'project dir', 'host guard', 'docker', 'compose', 'compose files', 'services', 'health adonisjs']) {
      expect(good.out).toMatch(new RegExp(`^✔ staging +${check} `, 'm'));
    }
    expect(good.out).toMatch(/^✔ staging +host key +matches SHA256:/m);
    expect(good.out).toMatch(/^✔ staging +services +5: adonisjs, mongo, nextjs, reverse-proxy, watchtower, all running$/m);
    expect(good.out).toMatch(/^✔ staging +health adonisjs +http:\/\/127\.0\.0\.1:\d+\/health: HTTP 200$/m);
    expect(good.out).toMatch(/^✔ database +writable /m);
    expect(good.out).toMatch(/^✔ discord +token +shaped like a bot token for application 100000000000000001$/m);
    expect(good.out).not.toContain('✘');
    expect(good.out).toMatch(/All \d+ checks passed\./);

    // The key the host really presents, ready to paste, and nothing else tried on that host.
    expect(wrongPin.code, wrongPin.out).toBe(1);
    expect(wrongPin.out).toMatch(new RegExp(`^✘ staging +host key +the host presents ${s.hostKeyFingerprint.replace(/[+/]/g, '\\$&')}, the configuration pins SHA256:B{43}$`, 'm'));
    expect(wrongPin.out).toContain(`hostKeyFingerprint: ${s.hostKeyFingerprint}`);
    expect(wrongPin.out).not.toMatch(/staging +docker/);

    expect(noDir.code, noDir.out).toBe(1);
    expect(noDir.out).toMatch(/^✔ staging +host key /m);
    expect(noDir.out).toMatch(/^✘ staging +project dir +\/srv\/no-such-project: opsbot-guard: refused: cd: \/srv\/no-such-project is not in OPSBOT_GUARD_PROJECT_DIRS$/m);
    expect(noDir.out).toMatch(/fix: projectDir is not a directory the host guard allows: fix projectDir, or add it to OPSBOT_GUARD_PROJECT_DIRS/);
    expect(noDir.out).toMatch(/^✘ discord +token +DISCORD_TOKEN is not set$/m);
    expect(noDir.out).toMatch(/\d+ of \d+ checks failed\./);

    expect(unpinned.code, unpinned.out).toBe(1);
    expect(unpinned.out).toMatch(/^✘ config +valid +hosts\.0\.hostKeyFingerprint: /m);
    expect(unpinned.out).toMatch(new RegExp(`^✘ staging +host key +not pinned; the host presents ${s.hostKeyFingerprint.replace(/[+/]/g, '\\$&')}$`, 'm'));
    expect(unpinned.out).toContain(`hostKeyFingerprint: ${s.hostKeyFingerprint}`);
  }, 120_000);
});
