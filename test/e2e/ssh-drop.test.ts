import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandsLogMark, commandsLogSince, resetStaging, waitForServices } from '../staging/staging.js';
import { startHarness, type Harness } from './harness.js';
import { buttonId, buttonsOf, textOf } from './util.js';

/** Kills every session process of the staging sshd (its descendants, found by parent pid). */
function killSshSessions(stagingDir: string): number {
  const main = readFileSync(join(stagingDir, 'sshd.pid'), 'utf8').trim();
  const descendants = (pid: string): string[] => {
    let kids: string[] = [];
    try {
      kids = execFileSync('pgrep', ['-P', pid], { encoding: 'utf8' }).split('\n').filter(Boolean);
    } catch {
      return [];
    }
    return kids.flatMap((k) => [k, ...descendants(k)]);
  };
  const pids = descendants(main);
  for (const p of pids) {
    try {
      process.kill(Number(p), 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  return pids.length;
}

describe('a dead SSH link', () => {
  let h: Harness;
  beforeAll(async () => {
    await resetStaging();
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.stop();
    await resetStaging();
  });

  it('killing the SSH session mid-command fails clearly, is audited, and the next command reconnects', async () => {
    const handle = await h.double.sendCommand({ name: 'restart', options: { service: 'watchtower' }, member: 'operator', channel: 'alerts' });
    const gate = await handle.waitForReply((m) => buttonsOf(m).length > 0);
    const mark = await commandsLogMark();
    const click = await h.double.clickButton({ message: gate, customId: buttonId(gate, 'Confirm'), member: 'operator' });
    // watchtower takes a few seconds to stop: kill the session while compose restart runs.
    const deadline = Date.now() + 15_000;
    while (!(await commandsLogSince(mark)).some((l) => /restart watchtower/.test(l))) {
      if (Date.now() > deadline) throw new Error('restart never reached the host');
      await sleep(50);
    }
    await sleep(300);
    expect(killSshSessions(h.staging.stagingDir)).toBeGreaterThan(0);
    const failed = await click.waitForUpdate((m) => /❌/.test(textOf(m)), { timeoutMs: 30_000 });
    expect(textOf(failed)).toMatch(/SSH connection to host "staging" was lost while `docker-compose -f docker\/compose.prod.yml restart watchtower` was running/);

    const audit = await h.double.sendCommand({ name: 'audit', member: 'viewer', channel: 'alerts' });
    expect(textOf(await audit.waitForReply())).toMatch(/restart service=watchtower\s+failed/);
    const run = h.app.store.recentRuns(5).find((r) => r.runbook === 'restart');
    expect(run?.status).toBe('failed');
    expect(h.app.store.stepsOf(run!.id).find((s) => s.title === 'Restart')?.summary).toMatch(/SSH connection .* was lost/);

    const ps = await h.double.sendCommand({ name: 'ps', member: 'viewer', channel: 'alerts' });
    expect(textOf(await ps.waitForReply())).toMatch(/watchtower/);

    // The daemon may still be finishing the restart the killed command asked for: let it settle
    // first, as an operator would, so the rollback doesn't race it.
    await waitForServices();

    // The failed run offers its rollback, gated like any change.
    const rollback = await h.double.clickButton({ message: failed, customId: buttonId(failed, 'Roll back'), member: 'operator' });
    const rbGate = await rollback.waitForReply((m) => buttonsOf(m).length > 0);
    expect(textOf(rbGate)).toContain('docker-compose -f docker/compose.prod.yml up -d --no-deps --force-recreate watchtower');
    const before = await commandsLogMark();
    const confirm = await h.double.clickButton({ message: rbGate, customId: buttonId(rbGate, 'Confirm'), member: 'operator' });
    // After a restart cut off mid-way, compose may or may not manage the recreate; either way the
    // bot runs exactly the planned command once and reports its outcome with the output.
    const outcome = await confirm.waitForUpdate((m) => /[✅❌] \*\*Recreate from the compose file\*\* — /.test(textOf(m)), { timeoutMs: 30_000 });
    expect(textOf(outcome)).toMatch(/compose up output/);
    expect((await commandsLogSince(before)).filter((l) => /up -d --no-deps --force-recreate watchtower/.test(l))).toHaveLength(1);
    expect(h.double.violations).toEqual([]);
  });
});
