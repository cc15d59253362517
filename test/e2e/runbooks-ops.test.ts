import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { DoubleMessage } from '../discord-double/index.js';
import { commandsLogMark, commandsLogSince, hostDocker, readStaging, resetStaging, serviceContainerIds, serviceStates } from '../staging/staging.js';
import { useBot } from './suite.js';
import { buttonId, buttonsOf, textOf } from './util.js';

/** ssl-renew, restore and bootstrap end to end: real certbot against pebble, the mongo stand-in, the staging engine's images. */
describe('/runbook ssl-renew, restore, bootstrap', () => {
  const h = useBot();
  const env = readStaging();
  const PEBBLE = fileURLToPath(new URL('../staging/parts/pebble', import.meta.url));
  afterAll(async () => {
    execFileSync('bash', [PEBBLE, 'start'], { stdio: 'ignore' });
    await resetStaging();
  });

  const ask = (subcommand: string, options: Record<string, string | number | boolean>, member: string) =>
    h.double.sendCommand({ name: 'runbook', subcommand, options: options as Record<string, string | number>, member, channel: 'alerts' });
  const gateOf = (m: DoubleMessage) => buttonsOf(m).some((b) => /^(Confirm|Approve)/.test(b.label ?? '') && !b.disabled);
  /** Clicks the gate's Confirm/Approve as `member` and waits until the message says `until`. */
  const confirm = (m: DoubleMessage, member: string, until: RegExp) =>
    h.double.clickButton({ message: m, customId: buttonId(m, /^(Confirm|Approve)/), member }).waitForUpdate((u) => until.test(textOf(u)), { timeoutMs: 120_000 });
  const refusal = async (m: DoubleMessage, member: string) => (await h.double.clickButton({ message: m, customId: buttonId(m, /^(Confirm|Approve)/), member }).waitForReply()).content ?? '';

  /** Days until the live certificate's notAfter, read from the file on the host. */
  const daysLeft = (domain: string) => {
    const out = execFileSync('openssl', ['x509', '-noout', '-enddate', '-in', join(env.projectDir, 'letsencrypt/live', domain, 'cert.pem')], { encoding: 'utf8' });
    return Math.floor((Date.parse(out.replace('notAfter=', '').trim()) - Date.now()) / 86_400_000);
  };
  const [due, notDue] = env.certificates as [{ domain: string; expiresInDays: number }, { domain: string; expiresInDays: number }];
  const mongoLog = async () => hostDocker(['logs', '--tail', '300', (await serviceContainerIds('mongo'))[0]!]);

  it('ssl-renew: status and dry run, renew and SIGHUP behind gates, new expiry in the files; the rollback puts the previous files back', async () => {
    await resetStaging();
    const gate = await ask('ssl-renew', {}, 'operator').waitForReply(gateOf, { timeoutMs: 120_000 });
    const shown = textOf(gate);
    expect(shown).toContain(`✅ **Certificate status** — 2 certificates; due within 30 days: ${due.domain} (10 days)`);
    expect(shown).toContain(`✅ **Renewal dry run** — simulated renewal succeeded: ${due.domain}`);
    expect(shown).toContain('docker-compose -f docker/compose.prod.yml exec -T reverse-proxy certbot renew --no-random-sleep-on-renew');
    expect(await refusal(gate, 'viewer')).toMatch(/Only members with the operator role can confirm this/);
    expect(daysLeft(due.domain)).toBe(due.expiresInDays);
    // The run holds the proxy: a /restart of it meanwhile is refused, names the run, restarts nothing.
    const proxyBefore = await serviceContainerIds('reverse-proxy');
    const restart = await h.double.sendCommand({ name: 'restart', options: { service: 'reverse-proxy' }, member: 'operator', channel: 'alerts' }).waitForFollowup(undefined, { timeoutMs: 30_000 });
    expect(restart.content).toMatch(/is already running ssl-renew on staging:service:reverse-proxy \(run \S+, awaiting confirmation, .*\)\. Wait for it to finish or cancel it; nothing was run\./);
    expect(buttonsOf(restart)).toEqual([]);

    const reload = await confirm(gate, 'operator', /kill -s SIGHUP reverse-proxy/);
    expect(textOf(reload)).toContain(`✅ **Renew** — renewed: ${due.domain}`);
    expect(daysLeft(due.domain)).toBeGreaterThan(1000); // pebble's certificates last five years
    expect(daysLeft(notDue.domain)).toBe(notDue.expiresInDays);
    const done = await confirm(reload, 'operator', /\*\*Verify the new expiry\*\*/);
    expect(textOf(done)).toMatch(/✅ \*\*Reload the reverse proxy\*\* — SIGHUP sent/);
    expect(textOf(done)).toMatch(/✅ \*\*Verify the new expiry\*\* — every certificate is valid for more than 30 days/);
    expect(await hostDocker(['logs', (await serviceContainerIds('reverse-proxy'))[0]!])).toContain('received SIGHUP');
    expect(await serviceContainerIds('reverse-proxy')).toEqual(proxyBefore); // reloaded, never restarted

    const rb = await h.double.clickButton({ message: done, customId: buttonId(done, 'Restore the previous certificates'), member: 'operator' }).waitForReply(gateOf, { timeoutMs: 60_000 });
    expect(textOf(rb)).toContain(`docker exec brainbytes_reverse-proxy_1 ln -sfn ../../archive/${due.domain}/cert1.pem /etc/letsencrypt/live/${due.domain}/cert.pem`);
    await confirm(rb, 'operator', /✅ \*\*Point the live certificates at the previous files\*\*/);
    expect(daysLeft(due.domain)).toBe(due.expiresInDays);
  }, 180_000);

  it('ssl-renew: a certbot error (the ACME server down) ends the run at Renew, offers the rollback, leaves the files', async () => {
    await resetStaging();
    const gate = await ask('ssl-renew', { certificate: due.domain }, 'operator').waitForReply(gateOf, { timeoutMs: 120_000 });
    execFileSync('bash', [PEBBLE, 'stop'], { stdio: 'ignore' });
    try {
      const failed = await confirm(gate, 'operator', /\*\*Renew\*\* — /);
      expect(textOf(failed)).toMatch(/❌ \*\*Renew\*\* — certbot renew exited 1; roll back to put the previous certificate files back/);
      expect(textOf(failed)).not.toContain('Reload the reverse proxy** —');
      expect(buttonsOf(failed).map((b) => b.label)).toContain('Restore the previous certificates');
      expect(daysLeft(due.domain)).toBe(due.expiresInDays);
    } finally {
      execFileSync('bash', [PEBBLE, 'start'], { stdio: 'ignore' });
    }
  }, 120_000);

  it('restore: backups autocompleted newest first with age and size; four-eyes refusals; stop, mongorestore, up, verify', async () => {
    await resetStaging();
    const choices = await (await h.double.sendAutocomplete({ name: 'runbook', subcommand: 'restore', options: { backup: 'brain' }, focused: 'backup', member: 'operator', channel: 'alerts' })).waitForChoices();
    // latest.dump (a link, shown with its target) first, then the dumps, newest first.
    expect(choices[0]).toEqual({ value: 'latest.dump', name: expect.stringMatching(/^latest\.dump → brainbytes-.*\.dump\.gz \(.+ old, \d+ B\)$/) });
    const dumps = choices.slice(1).map((c) => c.value);
    expect(dumps).toHaveLength(3);
    expect([...dumps].sort().reverse()).toEqual(dumps);
    expect(choices[1]!.name).toMatch(/^brainbytes-.*\.dump\.gz \(.+ old, \d+ B\)$/);
    const chosen = dumps[1]!;

    const mark = await commandsLogMark();
    const gate = await ask('restore', { backup: chosen }, 'operator').waitForReply(gateOf, { timeoutMs: 60_000 });
    expect(textOf(gate)).toContain(`previous: ${dumps[2]}`);
    expect(textOf(gate)).toContain('docker-compose -f docker/compose.prod.yml stop adonisjs');
    expect(await refusal(gate, 'operator')).toMatch(/you requested it, so someone else with the approver role must confirm/);
    expect(await refusal(gate, 'operator2')).toMatch(/needs a confirmation by a member with the approver role/);
    expect(await refusal(gate, 'viewer')).toMatch(/approver role/);
    expect((await serviceStates()).adonisjs?.state).toBe('running');

    const restoreGate = await confirm(gate, 'approver', /mongorestore --drop --gzip/);
    expect((await serviceStates()).adonisjs?.state).not.toBe('running');
    const upGate = await confirm(restoreGate, 'approver', /✅ \*\*Restore the database\*\* — 1342 document/);
    const done = await confirm(upGate, 'approver', /\*\*Verify\*\* — /);
    expect(textOf(done)).toContain(`✅ **Verify** — mongo logged the restore of ${chosen}`);
    expect(await mongoLog()).toContain(`restoring from /backups/${chosen}`);
    expect((await serviceStates()).adonisjs?.state).toBe('running');
    expect((await commandsLogSince(mark)).filter((l) => l.includes('mongorestore'))).toEqual([expect.stringContaining(`mongorestore --drop --gzip --archive=/backups/${chosen}`)]);
  }, 120_000);

  it('restore: a corrupt backup fails the restore and offers the previous one, which restores and brings the services back', async () => {
    await resetStaging();
    const corrupt = 'brainbytes-2099-01-01T0300.dump.gz';
    writeFileSync(join(env.projectDir, 'backups', corrupt), 'not a gzip archive\n');
    const gate = await ask('restore', { backup: corrupt }, 'operator').waitForReply(gateOf, { timeoutMs: 60_000 });
    const restoreGate = await confirm(gate, 'approver', /mongorestore --drop --gzip/);
    const failed = await confirm(restoreGate, 'approver', /\*\*Restore the database\*\* — /);
    expect(textOf(failed)).toMatch(/❌ \*\*Restore the database\*\* — mongorestore exited 1: .*is not a gzip archive/);
    const previous = textOf(gate).match(/previous: (\S+\.dump\.gz)/)?.[1];
    expect(previous).toMatch(/^brainbytes-\d{4}-\d\d-\d\dT0300\.dump\.gz$/);

    const rb = await h.double.clickButton({ message: failed, customId: buttonId(failed, 'Restore the previous backup'), member: 'operator' }).waitForReply(gateOf, { timeoutMs: 60_000 });
    expect(textOf(rb)).toContain(`mongorestore --drop --gzip --archive=/backups/${previous}`);
    const up = await confirm(rb, 'approver', /✅ \*\*Restore the previous backup\*\*/);
    await confirm(up, 'approver', /✅ \*\*Start the services\*\*/);
    expect(await mongoLog()).toContain(`restoring from /backups/${previous}`);
    expect((await serviceStates()).adonisjs?.state).toBe('running');
  }, 120_000);

  it('bootstrap: logs, .env key names only, disk; the prune gate lists the image it removes, and it is gone afterwards', async () => {
    await resetStaging();
    const dockerEnv = { ...process.env, DOCKER_HOST: env.dockerHost };
    const empty = execFileSync('tar', ['-cf', '-', '-T', '/dev/null']);
    const dangling = execFileSync('docker', ['import', '-m', 'first', '-', 'opsbot-test/prune-me:1'], { input: empty, env: dockerEnv, encoding: 'utf8' }).trim();
    execFileSync('docker', ['import', '-m', 'second', '-', 'opsbot-test/prune-me:1'], { input: empty, env: dockerEnv });
    const short = dangling.replace(/^sha256:/, '').slice(0, 12);

    const gate = await ask('bootstrap', { service: 'adonisjs' }, 'operator').waitForReply(gateOf, { timeoutMs: 120_000 });
    const shown = textOf(gate);
    expect(shown).toMatch(/✅ \*\*Last 100 log lines\*\*/);
    // The staging .env.example names a key .env lacks (config-drift's drift): a finding, by name only.
    expect(shown).toContain('✅ **Required .env keys** — ⚠️ missing: SENTRY_DSN');
    expect(shown).toMatch(/✅ \*\*Disk space\*\* — project filesystem \d+% used/);
    expect(shown).toContain(short);
    expect(shown).toContain('docker image prune -f');
    for (const secret of Object.values(env.secrets)) expect(shown).not.toContain(secret);
    expect(await refusal(gate, 'operator')).toMatch(/you requested it/);

    const pull = await confirm(gate, 'approver', /compose\.prod\.yml pull adonisjs/);
    expect(textOf(pull)).toMatch(/✅ \*\*Prune unused images\*\*/);
    await expect(hostDocker(['image', 'inspect', dangling])).rejects.toThrow(/No such image/);
    const done = await confirm(pull, 'approver', /\*\*Pull fresh images\*\* — /);
    expect(textOf(done)).toContain("✅ **Pull fresh images** — pulled adonisjs's image");
  }, 180_000);
});
