import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { DoubleMessage } from '../discord-double/index.js';
import { commandsLogMark, commandsLogSince, hostDocker, readStaging, serviceContainerIds, waitForServices } from '../staging/staging.js';
import { useBot } from './suite.js';
import { buttonId, buttonsOf, isEphemeral, mutatingCommands, textOf } from './util.js';

/**
 * deploy, watchtower and rolling-update against the staging registry (test/staging/parts/registry):
 * the host's `latest` of adonisjs and nextjs starts as 1.0.0, the registry's `latest` is 1.1.0, and
 * 1.2.0-rc.1 is a broken release (error at start, adonisjs unhealthy).
 */
const REGISTRY_PART = fileURLToPath(new URL('../staging/parts/registry', import.meta.url));
const registry = (...args: string[]) => promisify(execFile)('bash', [REGISTRY_PART, ...args], { timeout: 120_000 });
const REPO = '127.0.0.1:5000/brainbytes';
const BROKEN = '1.2.0-rc.1';

/** The image id a service's (newest) container runs, as Docker on the host says. */
async function runningImageId(service: string): Promise<string> {
  const [id] = await serviceContainerIds(service);
  return (await hostDocker(['inspect', '--format', '{{.Image}}', id ?? 'none'])).trim();
}
const imageIdOf = async (ref: string) => (await hostDocker(['image', 'inspect', '--format', '{{.Id}}', ref])).trim();
/** The version adonisjs serves on its index page. */
const servedVersion = async () => ((await (await fetch(`http://127.0.0.1:${readStaging().ports.adonisjs}/`)).json()) as { version: string }).version;

describe('deploy, watchtower and rolling-update pull real tags from the staging registry', () => {
  const h = useBot();
  let v100: string;
  let v110: string;

  beforeEach(async () => {
    await registry('reset');
    await waitForServices();
    v100 ??= await imageIdOf(`${REPO}/adonisjs:1.0.0`);
    v110 ??= await imageIdOf(`${REPO}/adonisjs:1.1.0`);
    expect(await runningImageId('adonisjs')).toBe(v100);
  });
  afterAll(async () => {
    await registry('start');
    await registry('reset');
  });

  const ask = (subcommand: string, options: Record<string, string | number>, member = 'operator') => h.double.sendCommand({ name: 'runbook', subcommand, options, member, channel: 'alerts' });
  const gateOf = (subcommand: string, options: Record<string, string | number>) => ask(subcommand, options).waitForReply((m) => buttonsOf(m).length > 0 || /Failed/.test(textOf(m)), { timeoutMs: 60_000 });
  const click = (m: DoubleMessage, label: string, member = 'operator') => h.double.clickButton({ message: m, customId: buttonId(m, label), member });
  /** Confirms a gate and waits until the run has ended (succeeded or failed). */
  const confirm = (gate: DoubleMessage) => click(gate, 'Confirm').waitForUpdate((m) => /run \S+ · /.test(textOf(m)) && buttonsOf(m).every((b) => b.label !== 'Confirm') && !/⏳/.test(textOf(m)), { timeoutMs: 120_000 });
  const rollBack = async (done: DoubleMessage) => {
    const rbGate = await click(done, 'Roll back').waitForReply((m) => buttonsOf(m).length > 0, { timeoutMs: 60_000 });
    return { rbGate, back: await confirm(rbGate) };
  };
  const secretsShown = () => {
    const all = [...h.double.world.messages.values()].flatMap((m) => m.history.map((x) => textOf(x as DoubleMessage))).join('\n');
    return Object.values(readStaging().secrets).filter((s) => all.includes(s));
  };

  it('deploy: a viewer cannot confirm; confirmed, the new digest runs and serves 1.1.0; Roll back returns to the recorded digest', async () => {
    const gate = await gateOf('deploy', { service: 'adonisjs', version: '1.1.0' });
    const shown = textOf(gate);
    expect(shown).toMatch(/✅ \*\*Record the running image\*\* — .*version 1\.0\.0/);
    expect(shown).toContain(`docker pull ${REPO}/adonisjs:1.1.0`);
    expect(shown).toContain(`docker tag ${REPO}/adonisjs:1.1.0 ${REPO}/adonisjs:latest`);
    expect(shown).toContain('docker-compose -f docker/compose.prod.yml up -d --no-deps adonisjs');
    expect(shown).toContain(v100);

    const refused = await click(gate, 'Confirm', 'viewer').waitForReply();
    expect(refused.content).toMatch(/Only members with the operator role can confirm this/);
    expect(await runningImageId('adonisjs')).toBe(v100);

    const done = await confirm(gate);
    expect(textOf(done)).toMatch(/✅ \*\*Health gate\*\* — healthy · version 1\.1\.0/);
    expect(await runningImageId('adonisjs')).toBe(v110);
    expect(await servedVersion()).toBe('1.1.0');

    const { rbGate, back } = await rollBack(done);
    expect(textOf(rbGate)).toContain(`docker tag ${v100} ${REPO}/adonisjs:latest`);
    expect(textOf(back)).toMatch(/✅ \*\*Health gate\*\* — healthy · version 1\.0\.0/);
    expect(await runningImageId('adonisjs')).toBe(v100);
    expect(await servedVersion()).toBe('1.0.0');
  });

  it('deploy: a broken release fails its health gate, the run says so and offers Roll back, which restores the recorded digest', async () => {
    const done = await confirm(await gateOf('deploy', { service: 'adonisjs', version: BROKEN }));
    const body = textOf(done);
    expect(body).toMatch(/❌ \*\*Health gate\*\* — failed: .*healthcheck: unhealthy.*HTTP 404.*error line/);
    expect(body).toMatch(/\*\*Failed:\*\* step 3 \(Health gate\) failed/);
    expect(buttonsOf(done).map((b) => b.label)).toContain('Roll back');
    expect(await servedVersion()).toBe(BROKEN);

    const { back } = await rollBack(done);
    expect(textOf(back)).toMatch(/✅ \*\*Health gate\*\* — healthy · version 1\.0\.0/);
    expect(await runningImageId('adonisjs')).toBe(v100);
  });

  it('deploy: a version the registry does not have is refused to the asker before any gate, naming the versions the host has; nothing runs', async () => {
    const mark = await commandsLogMark();
    // Like an unknown service: checked against the host after the acknowledgement, then the
    // "thinking…" goes and the refusal is the asker's alone.
    const refused = await ask('deploy', { service: 'adonisjs', version: '9.9.9' }).waitForFollowup(undefined, { timeoutMs: 30_000 });
    expect(isEphemeral(refused)).toBe(true);
    expect(textOf(refused)).toMatch(/There is no version "9\.9\.9" of 127\.0\.0\.1:\d+\/brainbytes\/adonisjs in the registry\. Nothing was run\..*1\.2\.0-rc\.1, 1\.1\.0, 1\.0\.0/);
    expect(buttonsOf(refused)).toEqual([]);
    // The host was only asked about the manifest: no pull, no tag, no recreate.
    const lines = await commandsLogSince(mark);
    expect(lines.filter((l) => /docker manifest inspect --insecure \S+adonisjs:9\.9\.9$/.test(l))).toHaveLength(1);
    expect(mutatingCommands(lines)).toEqual([]);
    expect(lines.filter((l) => /docker (pull|tag)\b/.test(l))).toEqual([]);
    expect(await runningImageId('adonisjs')).toBe(v100);
  });

  it('deploy: versions are suggested from the host, newest first, the running one marked; with the registry down a deploy is refused before any gate', async () => {
    const choices = await (await h.double.sendAutocomplete({ name: 'runbook', subcommand: 'deploy', options: { service: 'adonisjs', version: '' }, focused: 'version', member: 'operator', channel: 'alerts' })).waitForChoices();
    expect(choices.map((c) => c.value)).toEqual(['1.2.0-rc.1', '1.1.0', '1.0.0']);
    expect(choices.find((c) => c.value === '1.0.0')?.name).toMatch(/^1\.0\.0 · built \d{4}-\d\d-\d\d · running now$/);
    expect(choices.find((c) => c.value === '1.1.0')?.name).not.toMatch(/running now/);

    await registry('stop');
    try {
      const refused = await ask('deploy', { service: 'adonisjs', version: '1.1.0' }).waitForFollowup(undefined, { timeoutMs: 60_000 });
      expect(isEphemeral(refused)).toBe(true);
      expect(textOf(refused)).toMatch(/Could not check that \S+adonisjs:1\.1\.0 exists in the registry \(docker manifest inspect on the host: .*(refused|connect).*\)\. Nothing was run\./);
    } finally {
      await registry('start');
    }
    expect(await runningImageId('adonisjs')).toBe(v100);
  });

  it("watchtower: state, the stored login (no token shown), then pull + recreate brings the registry's latest; with the registry down it stops at the login check", async () => {
    const gate = await gateOf('watchtower', { service: 'adonisjs' });
    const shown = textOf(gate);
    expect(shown).toMatch(/✅ \*\*Watchtower state and last logs\*\* — watchtower running since/);
    expect(shown).toMatch(/✅ \*\*Registry login\*\* — the host's stored login to 127\.0\.0\.1:5000 works/);
    expect(shown).toContain('docker-compose -f docker/compose.prod.yml pull adonisjs');
    const done = await confirm(gate);
    expect(textOf(done)).toMatch(/✅ \*\*Health gate\*\* — healthy · version 1\.1\.0/);
    expect(await runningImageId('adonisjs')).toBe(v110);
    expect(secretsShown()).toEqual([]);

    await registry('stop');
    try {
      const down = await gateOf('watchtower', { service: 'nextjs' });
      expect(textOf(down)).toMatch(/❌ \*\*Registry login\*\* — the host cannot log in to 127\.0\.0\.1:5000 .*connection refused/);
      expect(buttonsOf(down).map((b) => b.label)).not.toContain('Roll back');
      expect(buttonsOf(down).map((b) => b.label)).not.toContain('Confirm');
    } finally {
      await registry('start');
    }
  });

  it('rolling-update: saves the config (0600), pulls, updates one service at a time with progress, all healthy', async () => {
    const guardMark = (await stat(readStaging().guardLog)).size;
    const gate = await gateOf('rolling-update', {});
    const shown = textOf(gate);
    expect(shown).toMatch(/✅ \*\*Services to update\*\* — 2 services, in this order: adonisjs, nextjs/);
    const file = /tee (backup-config-\d{8}-\d{6}\.yml)/.exec(shown)?.[1];
    expect(file).toBeDefined();
    expect(shown).toContain('docker-compose -f docker/compose.prod.yml pull adonisjs nextjs');
    const done = await confirm(gate);
    expect(textOf(done)).toMatch(/✅ \*\*Save the config, pull, update one service at a time\*\* — 2 services updated one at a time/);
    expect(await runningImageId('adonisjs')).toBe(v110);
    expect(await runningImageId('nextjs')).toBe(await imageIdOf(`${REPO}/nextjs:1.1.0`));
    expect((await stat(`${readStaging().projectDir}/${file ?? ''}`)).mode & 0o777).toBe(0o600);
    // The message showed the update while it ran, one service after the other.
    const history = h.double.world.messages.get(gate.id)?.history.map((m) => textOf(m as DoubleMessage)) ?? [];
    expect(history.some((t) => /adonisjs ✅ .*· nextjs ⏳/.test(t))).toBe(true);
    // Every command it sent is a shape deploy/opsbot-guard (the key's forced command) allows.
    const guardLog = (await readFile(readStaging().guardLog, 'utf8')).slice(guardMark);
    expect(guardLog).toMatch(/ ran: cd \S+ && exec tee backup-config-/);
    expect(guardLog).not.toMatch(/ refused /);
  });

  it('rolling-update: a service failing its health gate is rolled back automatically and the update stops; Roll back returns the rest', async () => {
    await registry('point', 'nextjs', BROKEN);
    const v100next = await imageIdOf(`${REPO}/nextjs:1.0.0`);
    const done = await confirm(await gateOf('rolling-update', {}));
    const body = textOf(done);
    expect(body).toMatch(/❌ \*\*Save the config, pull, update one service at a time\*\* — nextjs failed its health gate: .*error line.*rolled back to image/);
    expect(body).toMatch(/adonisjs: ✅ version 1\.1\.0/);
    expect(await runningImageId('nextjs')).toBe(v100next);
    expect(await runningImageId('adonisjs')).toBe(v110);

    const { back } = await rollBack(done);
    expect(textOf(back)).toMatch(/✅ \*\*Return every service to its recorded image\*\* — 2 services back on their recorded images, healthy/);
    expect(await runningImageId('adonisjs')).toBe(v100);
    expect(await runningImageId('nextjs')).toBe(v100next);
  });

  it('rolling-update holds the whole project: a /restart or deploy waits for it, and it waits for a pending /restart; nothing runs', async () => {
    const mark = await commandsLogMark();
    const gate = await gateOf('rolling-update', {});
    expect(buttonsOf(gate).map((b) => b.label)).toContain('Confirm');
    const restart = await h.double.sendCommand({ name: 'restart', options: { service: 'adonisjs' }, member: 'approver', channel: 'alerts' }).waitForFollowup();
    expect(isEphemeral(restart)).toBe(true);
    expect(textOf(restart)).toMatch(/operator is already running rolling-update on staging:rolling-update \(run \S+, awaiting confirmation, [^)]*\), which changes every service on staging\. Wait for it to finish or cancel it; nothing was run\./);
    const deploy = await ask('deploy', { service: 'nextjs', version: '1.1.0' }, 'approver').waitForFollowup(undefined, { timeoutMs: 30_000 });
    expect(textOf(deploy)).toMatch(/is already running rolling-update .*, which changes every service on staging/);
    await click(gate, 'Cancel').waitForUpdate();

    const restartGate = await h.double.sendCommand({ name: 'restart', options: { service: 'adonisjs' }, member: 'operator', channel: 'alerts' }).waitForReply((m) => buttonsOf(m).length > 0);
    const rolling = await ask('rolling-update', {}, 'approver').waitForFollowup(undefined, { timeoutMs: 30_000 });
    expect(isEphemeral(rolling)).toBe(true);
    expect(textOf(rolling)).toMatch(/operator is already running restart on staging:service:adonisjs \(run \S+, awaiting confirmation, [^)]*\), and rolling-update changes every service on staging\. Wait for it to finish or cancel it; nothing was run\./);
    await click(restartGate, 'Cancel').waitForUpdate();

    // Nothing changed on the host: no pull, no recreate, no restart.
    expect(mutatingCommands(await commandsLogSince(mark))).toEqual([]);
    expect(await runningImageId('adonisjs')).toBe(v100);
  });
});
