import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandsLogMark, commandsLogSince, dialStdioPids, hostDocker, killStagingSshSessions, resetStaging, serviceContainerIds, waitForServices } from '../staging/staging.js';
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

describe('a link dropped in the middle of a Docker API stream', () => {
  let h: Harness;
  let id = '';
  beforeAll(async () => {
    await resetStaging();
    h = await startHarness();
    // A large log to stream: ~60,000 lines of ~120 bytes in nextjs's log.
    id = (await serviceContainerIds('nextjs'))[0]!;
    await hostDocker(['exec', id, 'sh', '-c', `seq 1 60000 | sed 's/^/flood-line ${'x'.repeat(100)} /' > /proc/1/fd/1`]);
    const deadline = Date.now() + 30_000;
    while (!(await hostDocker(['logs', '--tail', '1', id])).includes('flood-line')) {
      if (Date.now() > deadline) throw new Error('the flood never reached the log');
      await sleep(200);
    }
  });
  afterAll(async () => {
    await h?.stop();
    await resetStaging();
  });

  it('/logs cut off mid-stream fails clearly and promptly, and the next command reconnects', async () => {
    // Warm the Docker API streams, then note how much each has written so far.
    expect(textOf(await (await h.double.sendCommand({ name: 'ps', member: 'viewer', channel: 'alerts' })).waitForReply())).toMatch(/nextjs/);
    const written = (pid: number): number => {
      try {
        return Number(/^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
      } catch {
        return 0;
      }
    };
    const before = new Map(dialStdioPids().map((pid) => [pid, written(pid)]));
    const started = Date.now();
    const logs = await h.double.sendCommand({ name: 'logs', options: { service: 'nextjs', since: '2020-01-01' }, member: 'viewer', channel: 'alerts' });
    // Once a stream has sent 256 KiB of the log, freeze it there (so the cut is surely mid-way),
    // then drop the SSH link under it.
    let frozen: number | undefined;
    const deadline = Date.now() + 20_000;
    while (frozen === undefined) {
      if (Date.now() > deadline) throw new Error('the log never started streaming');
      frozen = dialStdioPids().find((pid) => written(pid) - (before.get(pid) ?? 0) > 256 * 1024);
      if (frozen === undefined) await sleep(5);
    }
    process.kill(frozen, 'SIGSTOP');
    expect(killStagingSshSessions()).toBeGreaterThan(0);
    try {
      process.kill(frozen, 'SIGKILL');
    } catch {
      // went with its session
    }

    const answer = await Promise.any([logs.waitForReply(undefined, { timeoutMs: 60_000 }), logs.waitForFollowup(undefined, { timeoutMs: 60_000 })]);
    const body = textOf(answer);
    expect(body).toMatch(/SSH connection to host "staging" was lost during a Docker API call/);
    expect(body).not.toMatch(/Something went wrong|Internal error|flood-line/);
    // Not a hang until some long timeout: the drop is noticed as it happens.
    expect(Date.now() - started).toBeLessThan(20_000);

    // The next commands reconnect and work, the Docker API included.
    expect(textOf(await (await h.double.sendCommand({ name: 'ps', member: 'viewer', channel: 'alerts' })).waitForReply(undefined, { timeoutMs: 30_000 }))).toContain('all 5 services running');
    const again = await h.double.sendCommand({ name: 'logs', options: { service: 'nextjs', lines: 5 }, member: 'viewer', channel: 'alerts' });
    expect(textOf(await again.waitForReply(undefined, { timeoutMs: 30_000 }))).toMatch(/5 lines/);
    await waitForServices();
    expect(h.double.violations).toEqual([]);
  });
});
