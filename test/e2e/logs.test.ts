import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hostDocker, resetStaging } from '../staging/staging.js';
import { startHarness, type Harness } from './harness.js';
import { buttonId, buttonsOf, textOf } from './util.js';

const PLANTED = 'planted-secret-value-9731';
/** Tells this run's lines from an earlier run's on a kept staging host. */
const RUN = `run${Date.now().toString(36)}`;

/** Docker copies a container's output to its log asynchronously: wait until `line` is there. */
async function waitForLogLine(id: string, line: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await hostDocker(['logs', '--tail', '20', id])).includes(line)) {
    if (Date.now() > deadline) throw new Error(`"${line}" never reached the log of ${id}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('/logs: long output, pagination, attachment and redaction', () => {
  let h: Harness;
  let envSecrets: string[];
  beforeAll(async () => {
    await resetStaging();
    h = await startHarness();
    const env = readFileSync(join(h.staging.projectDir, '.env'), 'utf8');
    envSecrets = env
      .split('\n')
      .map((l) => /^[A-Z_]*(?:KEY|SECRET|TOKEN|PASSWORD)[A-Z_]*=(.+)$/.exec(l)?.[1])
      .filter((v): v is string => v !== undefined && v.length > 0);
    expect(envSecrets.length).toBeGreaterThan(0);
    const id = (await hostDocker(['ps', '-q', '--filter', 'label=com.docker.compose.service=adonisjs'])).trim();
    // 20,000 numbered lines, plus secrets as a careless app would print them: its .env, a token.
    // One write per line (awk's fflush): the app logs a heartbeat every 3 s, and a block-buffered
    // writer would let it land mid-line, which breaks a line in the log itself, not in the bot.
    const script = [
      `awk 'BEGIN { for (i = 1; i <= 20000; i++) { print "request log line ${RUN} " i; fflush() } }' > /proc/1/fd/1`,
      `echo "DB_PASSWORD=${PLANTED}" > /proc/1/fd/1`,
      `echo "Authorization: Bearer ${PLANTED}" > /proc/1/fd/1`,
      `cat > /proc/1/fd/1 <<'ENV'\n${env}\nENV`,
    ].join('\n');
    await hostDocker(['exec', id, 'sh', '-c', `${script}\necho "planted ${RUN}" > /proc/1/fd/1`]);
    await waitForLogLine(id, `planted ${RUN}`);
  });
  afterAll(async () => {
    await h?.stop();
  });
  afterEach(() => expect(h.double.violations).toEqual([]));

  it('pages 20,000 lines within every limit, the buttons turn pages, the attachment holds every line', async () => {
    const handle = await h.double.sendCommand({ name: 'logs', options: { service: 'adonisjs', since: '5m' }, member: 'viewer', channel: 'alerts' });
    const first = await handle.waitForReply((m) => buttonsOf(m).length > 0, { timeoutMs: 30_000 });
    const footer = first.embeds.map((e) => e.footer?.text ?? '').find((f) => f.startsWith('page '));
    const total = Number(/page 1\/(\d+)/.exec(footer ?? '')?.[1]);
    expect(total).toBeGreaterThan(50);

    const file = first.attachments[0];
    expect(file?.filename).toMatch(/\.txt$/);
    const data = h.double.file(file!)!.text();
    for (const n of [1, 777, 12345, 20000]) expect(data).toContain(`request log line ${RUN} ${n}\n`);
    expect(data.split('\n').filter((l) => l.startsWith(`request log line ${RUN} `)).length).toBe(20000);

    const next = await h.double.clickButton({ message: first, customId: buttonId(first, '▶'), member: 'viewer' });
    const second = await next.waitForUpdate();
    expect(textOf(second)).toMatch(new RegExp(`page 2/${total}`));
    expect(textOf(second)).not.toBe(textOf(first));
    const back = await h.double.clickButton({ message: second, customId: buttonId(second, '◀'), member: 'viewer' });
    expect(textOf(await back.waitForUpdate())).toMatch(new RegExp(`page 1/${total}`));
  });

  it('never lets a planted secret reach Discord or the log', async () => {
    const handle = await h.double.sendCommand({ name: 'logs', options: { service: 'adonisjs', lines: 200 }, member: 'viewer', channel: 'alerts' });
    await handle.waitForReply((m) => m.embeds.length > 0, { timeoutMs: 30_000 });
    const wire = JSON.stringify(h.double.requests.map((r) => ({ body: r.body, files: r.files.map((f) => f.data.toString('utf8')) })));
    expect(wire).toContain('[redacted]');
    for (const secret of [PLANTED, ...envSecrets]) {
      expect(wire).not.toContain(secret);
      expect(h.logs.join('\n')).not.toContain(secret);
    }
  });

  it('caps `since` alone at 50,000 lines and says so', async () => {
    const id = (await hostDocker(['ps', '-q', '--filter', 'label=com.docker.compose.service=adonisjs'])).trim();
    await hostDocker(['exec', id, 'sh', '-c', `seq 1 50010 | sed 's/^/flood ${RUN} /' > /proc/1/fd/1`]);
    await waitForLogLine(id, `flood ${RUN} 50010`);
    const handle = h.double.sendCommand({ name: 'logs', options: { service: 'adonisjs', since: '5m' }, member: 'viewer', channel: 'alerts' });
    const msg = await handle.waitForReply((m) => m.embeds.length > 0, { timeoutMs: 30_000 });
    expect(textOf(msg)).toMatch(/more than 50000 lines since 5m: showing the last 50000; use a later `since`/);
    const data = h.double.file(msg.attachments[0]!)!.text();
    expect(data.replace(/\n$/, '').split('\n')).toHaveLength(50_000);
    expect(data).toContain(`flood ${RUN} 50010\n`);
  });
});
