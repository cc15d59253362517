import { createServer } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DoubleMessage } from '../discord-double/index.js';
import { commandsLogMark, commandsLogSince, readStaging, startStagingFleet, type StagingEnv } from '../staging/staging.js';
import { stagingHostSettings } from './harness.js';
import { useBot } from './suite.js';
import { buttonId, buttonsOf, textOf } from './util.js';

/**
 * A runbook that changes hosts, on a group: a rollout, one host at a time (canary first), each
 * host's run an ordinary run behind its own gate. Four configured hosts: `staging` (the main
 * staging host), `staging-2` and `staging-3` (separate hosts of test/staging/parts/fleet, each its
 * own sshd, user and engine), and `staging-4` (the main host under another name; never started
 * here). Group web = staging, staging-2; group broken = staging, staging-3 (its adonisjs health
 * check points at a closed port: its Verify fails), staging-4.
 */
let deadPort = 0;
let members: StagingEnv[] = [];
const member = (k: number): StagingEnv => {
  const m = members[k];
  if (!m) throw new Error('the fleet members are not up');
  return m;
};

beforeAll(async () => {
  members = await startStagingFleet(2);
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  deadPort = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
}, 180_000);

const restarts = (lines: string[], service: string) => lines.filter((l) => new RegExp(`compose.*\\brestart\\b.*${service}`).test(l));

describe('a runbook that changes hosts, on a group: one host at a time, each behind its own gate', () => {
  const h = useBot({
    hostCount: 4,
    hostConfig: (n) =>
      [
        () => ({ groups: ['web', 'broken'] }),
        () => ({ groups: ['web'], ...stagingHostSettings(member(0)) }),
        () => ({ groups: ['broken'], ...stagingHostSettings(member(1)), healthChecks: { adonisjs: { url: `http://127.0.0.1:${deadPort}/health` } } }),
        () => ({ groups: ['broken'] }),
      ][n]?.() ?? {},
  });

  const rolloutIdIn = (m: DoubleMessage) => /rollout (u[\w-]+) · restart over group/.exec(textOf(m))?.[1];
  /** The gate message of `host` in the rollout: a new message in the channel, posted after the host before it succeeded. */
  const gateOf = (rollout: string, host: string) =>
    h.double.waitForChannelMessage('alerts', (m) => rolloutIdIn(m) === rollout && (m.embeds?.[0]?.footer?.text ?? '').includes(` · ${host} · `) && buttonsOf(m).some((b) => b.label === 'Confirm' && b.disabled !== true), { timeoutMs: 60_000 });

  async function startRollout(service: string, group: string) {
    const handle = h.double.sendCommand({ name: 'restart', options: { service, host: group }, member: 'operator', channel: 'alerts' });
    const canary = await handle.waitForReply((m) => buttonsOf(m).length > 0, { timeoutMs: 60_000 });
    return { canary, rollout: rolloutIdIn(canary)! };
  }

  it('/restart adonisjs host:web: the canary gate, then the next host gate once the canary succeeded; each host restarted once, on its own; two runs in the audit, linked to the rollout', async () => {
    const main = readStaging();
    const mark = await commandsLogMark();
    const mark2 = await commandsLogMark(member(0));
    const { canary, rollout } = await startRollout('adonisjs', 'web');
    expect(rollout).toBeDefined();
    expect(textOf(canary)).toContain('🚦 **Rollout over group web · host 1 of 2:** ⏸️ staging (canary) → ▫️ staging-2');
    expect(textOf(canary)).toContain('docker-compose -f docker/compose.prod.yml restart adonisjs');
    expect(restarts(await commandsLogSince(mark), 'adonisjs')).toEqual([]);

    const click = await h.double.clickButton({ message: canary, customId: buttonId(canary, 'Confirm'), member: 'operator' });
    const done = await click.waitForUpdate((m) => /✅ \*\*Verify\*\*/.test(textOf(m)), { timeoutMs: 90_000 });
    expect(textOf(done)).toContain('✅ staging (canary) → ⏸️ staging-2');
    expect(textOf(done)).toContain('Next: staging-2 (its own confirmation).');
    expect(restarts(await commandsLogSince(mark, main), 'adonisjs')).toHaveLength(1);
    // The next host is not touched before its own gate is confirmed.
    expect(restarts(await commandsLogSince(mark2, member(0)), 'adonisjs')).toEqual([]);

    const second = await gateOf(rollout, 'staging-2');
    expect(textOf(second)).toContain('host 2 of 2:** ✅ staging (canary) → ⏸️ staging-2');
    expect(textOf(second)).toContain(`Requested by <@${h.double.members.operator.id}>`);
    const click2 = await h.double.clickButton({ message: second, customId: buttonId(second, 'Confirm'), member: 'operator' });
    const done2 = await click2.waitForUpdate((m) => /✅ \*\*Verify\*\*/.test(textOf(m)), { timeoutMs: 90_000 });
    expect(textOf(done2)).toContain('Rollout done: all 2 hosts succeeded.');
    expect(restarts(await commandsLogSince(mark, main), 'adonisjs')).toHaveLength(1);
    expect(restarts(await commandsLogSince(mark2, member(0)), 'adonisjs')).toHaveLength(1);

    const runs = h.app.store.recentRuns(2);
    expect(runs.map((r) => [r.runbook, r.host, r.status]).sort()).toEqual([
      ['restart', 'staging', 'succeeded'],
      ['restart', 'staging-2', 'succeeded'],
    ]);
    for (const r of runs) expect(r.origin).toBe(`rollout ${rollout} · restart over group web`);
    const audit = h.double.sendCommand({ name: 'audit', options: { run: runs[0]!.id }, member: 'viewer', channel: 'alerts' });
    expect(textOf(await audit.waitForReply((m) => m.embeds.length > 1))).toContain(`Started from rollout ${rollout} · restart over group web`);
  }, 240_000);

  it('a host whose health check fails stops the rollout there, the rest not started, and offers Roll back', async () => {
    const mark = await commandsLogMark();
    const mark3 = await commandsLogMark(member(1));
    const { canary, rollout } = await startRollout('adonisjs', 'broken');
    const click = await h.double.clickButton({ message: canary, customId: buttonId(canary, 'Confirm'), member: 'operator' });
    await click.waitForUpdate((m) => /✅ \*\*Verify\*\*/.test(textOf(m)), { timeoutMs: 90_000 });
    const second = await gateOf(rollout, 'staging-3');
    const click2 = await h.double.clickButton({ message: second, customId: buttonId(second, 'Confirm'), member: 'operator' });
    const failed = await click2.waitForUpdate((m) => /❌ \*\*Verify\*\*/.test(textOf(m)), { timeoutMs: 120_000 });
    expect(textOf(failed)).toContain('✅ staging (canary) → ❌ staging-3 → ▫️ staging-4');
    expect(textOf(failed)).toContain('**Rollout stopped:** staging-3 failed; not started: staging-4.');
    expect(buttonsOf(failed).map((b) => b.label)).toContain('Roll back');
    // staging restarted once (canary) and staging-3 once; staging-4 (the main host's name again) never.
    expect(restarts(await commandsLogSince(mark), 'adonisjs')).toHaveLength(1);
    expect(restarts(await commandsLogSince(mark3, member(1)), 'adonisjs')).toHaveLength(1);
    expect(h.app.store.recentRuns(5).filter((r) => r.origin?.includes(rollout)).map((r) => r.host).sort()).toEqual(['staging', 'staging-3']);
  }, 300_000);

  it('a canary gate confirmed after the bot restarted still carries the rollout on to the next host', async () => {
    const { canary, rollout } = await startRollout('nextjs', 'web');
    await h.restartBot();
    const click = await h.double.clickButton({ message: canary, customId: buttonId(canary, 'Confirm'), member: 'operator' });
    await click.waitForUpdate((m) => /✅ \*\*Verify\*\*/.test(textOf(m)), { timeoutMs: 90_000 });
    const second = await gateOf(rollout, 'staging-2');
    expect(textOf(second)).toContain('host 2 of 2:** ✅ staging (canary) → ⏸️ staging-2');
    const cancel = await h.double.clickButton({ message: second, customId: buttonId(second, 'Cancel'), member: 'operator' });
    expect(textOf(await cancel.waitForUpdate())).toContain('**Rollout stopped:** staging-2 cancelled.');
  }, 240_000);

  it('cancelling a gate stops the rollout: nothing restarts, the next host is not started', async () => {
    const mark = await commandsLogMark();
    const mark2 = await commandsLogMark(member(0));
    const { canary, rollout } = await startRollout('nextjs', 'web');
    const click = await h.double.clickButton({ message: canary, customId: buttonId(canary, 'Cancel'), member: 'operator' });
    const cancelled = await click.waitForUpdate();
    expect(textOf(cancelled)).toContain('🚫 staging (canary) → ▫️ staging-2');
    expect(textOf(cancelled)).toContain('**Rollout stopped:** staging cancelled; not started: staging-2.');
    expect(restarts(await commandsLogSince(mark), 'nextjs')).toEqual([]);
    expect(restarts(await commandsLogSince(mark2, member(0)), 'nextjs')).toEqual([]);
    expect(h.app.store.recentRuns(5).filter((r) => r.origin?.includes(rollout)).map((r) => r.host)).toEqual(['staging']);
  }, 120_000);
});
