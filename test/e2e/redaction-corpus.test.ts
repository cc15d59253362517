import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hostCompose, hostDocker, readStaging, resetStaging, serviceContainerIds } from '../staging/staging.js';
import { startHarness, type Harness } from './harness.js';
import { textOf } from './util.js';

/** Tells this run's planted values from an earlier run's on a kept staging host. */
const RUN = `c${Date.now().toString(36)}`;
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Random characters from an alphabet: each run plants values no earlier run printed. */
const rnd = (n: number, alphabet = ALNUM): string => [...randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join('');
const HEX = '0123456789abcdef';
const UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * Secret formats as services print them: the value that must never show, and the line a
 * careless service logs it in. Each value also goes into the project's `.env` (so into the
 * container's environment, and the bot's registry of the host's own values).
 */
const pw = `Pw${rnd(10)}/x@${rnd(4)}`;
const basicPw = `basic-${rnd(12)}`;
const CORPUS: { name: string; value: string; line: (v: string) => string }[] = [
  { name: 'AWS_ACCESS_KEY_ID', value: `AKIA${rnd(16, UPPER_DIGITS)}`, line: (v) => `aws: using access key ${v}` },
  { name: 'AWS_SECRET_ACCESS_KEY', value: rnd(40), line: (v) => `aws_secret_access_key = ${v}` },
  { name: 'GITHUB_CLASSIC', value: `ghp_${rnd(36)}`, line: (v) => `git clone https://${v}@github.com/org/repo` },
  { name: 'GITHUB_FINE', value: `github_pat_11${rnd(20, UPPER_DIGITS)}_${rnd(59)}`, line: (v) => `using token ${v} for the API` },
  { name: 'GITHUB_OAUTH', value: `gho_${rnd(36)}`, line: (v) => `oauth ${v}` },
  { name: 'GITLAB', value: `glpat-${rnd(20)}`, line: (v) => `registry login with ${v}` },
  { name: 'SLACK_BOT', value: `xoxb-${rnd(12, '0123456789')}-${rnd(13, '0123456789')}-${rnd(24)}`, line: (v) => `slack client ${v}` },
  { name: 'SLACK_WEBHOOK', value: `https://hooks.slack.com/services/T${rnd(8, UPPER_DIGITS)}/B${rnd(8, UPPER_DIGITS)}/${rnd(24)}`, line: (v) => `posting alert to ${v}` },
  { name: 'DISCORD_M', value: `MTE${rnd(21)}.G${rnd(5)}.${rnd(38)}`, line: (v) => `discord login ${v}` },
  { name: 'DISCORD_O', value: `OD${rnd(22)}.X${rnd(5)}.${rnd(27)}`, line: (v) => `bot token is ${v}` },
  { name: 'DISCORD_WEBHOOK', value: `https://discord.com/api/webhooks/${rnd(18, '0123456789')}/${rnd(68)}`, line: (v) => `webhook ${v} returned 204` },
  { name: 'STRIPE_SK', value: `sk_live_${rnd(24)}`, line: (v) => `stripe.charge(${v})` },
  { name: 'STRIPE_RK', value: `rk_live_${rnd(24)}`, line: (v) => `restricted ${v}` },
  { name: 'STRIPE_WHSEC', value: `whsec_${rnd(32)}`, line: (v) => `verifying signature with ${v}` },
  { name: 'OPENAI', value: `sk-proj-${rnd(48)}`, line: (v) => `openai client configured: ${v}` },
  { name: 'ANTHROPIC', value: `sk-ant-api03-${rnd(40)}`, line: (v) => `anthropic ${v}` },
  { name: 'GOOGLE_API', value: `AIza${rnd(35)}`, line: (v) => `maps?key=${v}` },
  { name: 'GOOGLE_OAUTH', value: `ya29.${rnd(40)}`, line: (v) => `token ${v} expires in 3599` },
  { name: 'SENDGRID', value: `SG.${rnd(22)}.${rnd(43)}`, line: (v) => `mail via ${v}` },
  { name: 'NPM', value: `npm_${rnd(36)}`, line: (v) => `//registry.npmjs.org/:_authToken=${v}` },
  { name: 'PYPI', value: `pypi-AgEIcHlwaS5vcmc${rnd(60)}`, line: (v) => `twine upload -p ${v}` },
  { name: 'DOCKERHUB', value: `dckr_pat_${rnd(27)}`, line: (v) => `docker login -u bot --password-stdin <<< ${v}` },
  { name: 'VAULT', value: `hvs.${rnd(24)}`, line: (v) => `vault token: ${v}` },
  { name: 'DIGITALOCEAN', value: `dop_v1_${rnd(64, HEX)}`, line: (v) => `doctl auth init -t ${v}` },
  { name: 'HUGGINGFACE', value: `hf_${rnd(34)}`, line: (v) => `hub login ${v}` },
  { name: 'SHOPIFY', value: `shpat_${rnd(32, HEX)}`, line: (v) => `shop api ${v}` },
  { name: 'TWILIO', value: `SK${rnd(32, HEX)}`, line: (v) => `twilio key ${v}` },
  { name: 'MAILGUN', value: `key-${rnd(32, HEX)}`, line: (v) => `mailgun ${v}` },
  { name: 'TELEGRAM', value: `${rnd(9, '123456789')}:AA${rnd(33)}`, line: (v) => `telegram bot ${v} started` },
  { name: 'SENTRY_DSN', value: `https://${rnd(32, HEX)}@o${rnd(6, '0123456789')}.ingest.sentry.io/${rnd(7, '0123456789')}`, line: (v) => `sentry initialised (${v})` },
  { name: 'JWT', value: `eyJhbGciOiJIUzI1NiJ9.eyJ${rnd(40)}.${rnd(43)}`, line: (v) => `Authorization: Bearer ${v}` },
  { name: 'OPAQUE_BEARER', value: `${rnd(8)}.${rnd(30)}`, line: (v) => `upstream sent "Authorization: Bearer ${v}"` },
  { name: 'BASIC_PASSWORD', value: basicPw, line: (v) => `Authorization: Basic ${Buffer.from(`admin:${v}`).toString('base64')}` },
  { name: 'DB_URL_PASSWORD', value: pw, line: (v) => `connecting to postgres://app:${v}@db:5432/app` },
  { name: 'REDIS_NO_USER', value: `r${rnd(15)}`, line: (v) => `redis connect redis://:${v}@cache:6379/0` },
  { name: 'MONGO_SRV', value: `m${rnd(15)}`, line: (v) => `mongodb+srv://root:${v}@cluster0.example.net/admin` },
  { name: 'SHOUTRRR_DISCORD', value: rnd(68), line: (v) => `notify: discord://${v}@${rnd(18, '0123456789')}` },
  { name: 'SHOUTRRR_SLACK', value: `${rnd(9, UPPER_DIGITS)}-${rnd(11, UPPER_DIGITS)}-${rnd(24)}`, line: (v) => `notify: slack://hook:${v}@webhook` },
  { name: 'SESSION_SALT', value: `salt${rnd(20)}`, line: (v) => `session middleware ready, salt ${v}` },
  { name: 'APP_KEY', value: `base64:${rnd(43)}=`, line: (v) => `booting with key ${v}` },
  { name: 'PLAIN_PASSWORD', value: `Tr0ub4dor&3${rnd(6)}`, line: (v) => `login ok for admin with ${v}` },
  { name: 'AGE', value: `AGE-SECRET-KEY-1${rnd(58, UPPER_DIGITS)}`, line: (v) => `age identity ${v}` },
  { name: 'GRAFANA', value: `glsa_${rnd(32)}_${rnd(8, HEX)}`, line: (v) => `grafana sa ${v}` },
  { name: 'LINEAR', value: `lin_api_${rnd(40)}`, line: (v) => `linear ${v}` },
  { name: 'POSTMAN', value: `PMAK-${rnd(24, HEX)}-${rnd(34, HEX)}`, line: (v) => `postman ${v}` },
  { name: 'DATABRICKS', value: `dapi${rnd(32, HEX)}`, line: (v) => `databricks ${v}` },
  { name: 'NEWRELIC', value: `NRAK-${rnd(27, UPPER_DIGITS)}`, line: (v) => `newrelic ${v}` },
  { name: 'DOPPLER', value: `dp.pt.${rnd(43)}`, line: (v) => `doppler ${v}` },
  { name: 'PULUMI', value: `pul-${rnd(40, HEX)}`, line: (v) => `pulumi ${v}` },
  { name: 'REQUIREPASS', value: `rp${rnd(14)}`, line: (v) => `redis-server *:6379 --requirepass ${v}` },
  { name: 'MYSQL_P', value: `my${rnd(14)}`, line: (v) => `mysqldump -u root -p${v} app` },
  { name: 'CURL_U', value: `cu${rnd(14)}`, line: (v) => `curl -u deploy:${v} https://example.com/hook` },
];

/** A private key whose BEGIN line a page or `lines:` cut off. */
const KEY_BODY = Array.from({ length: 5 }, () => rnd(64, `${ALNUM}+/`)).map((l, i) => (i === 0 ? `MIIE${l.slice(4)}` : l));
const KEY_TAIL = `${rnd(20)}==`;

describe('redaction corpus: secrets planted on the host never reach Discord or the log', () => {
  let h: Harness;
  let envPath: string;
  let originalEnv: string;
  let nextjsId: string | undefined;
  const runIds: string[] = [];

  beforeAll(async () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(40);
    await resetStaging();
    const staging = readStaging();
    envPath = join(staging.projectDir, '.env');
    originalEnv = readFileSync(envPath, 'utf8');
    // In the project's .env: compose gives it to every service (env_file), so the recreated
    // nextjs container carries all of them in its environment.
    writeFileSync(envPath, `${originalEnv.trimEnd()}\n${CORPUS.map((c) => `CORPUS_${c.name}=${c.value}`).join('\n')}\n`);
    await hostCompose(['up', '-d', '--no-deps', '--force-recreate', 'nextjs']);
    [nextjsId] = await serviceContainerIds('nextjs');
    const env = await hostDocker(['inspect', '--format', '{{join .Config.Env "\\n"}}', nextjsId!]);
    for (const c of CORPUS) expect(env).toContain(c.value);
    // Its logs: each secret in the line a service would print, its environment dumped, a cut key.
    const lines = [
      ...CORPUS.map((c) => c.line(c.value)),
      ...KEY_BODY,
      KEY_TAIL,
      '-----END RSA PRIVATE KEY-----',
    ];
    // One write per line: a block-buffered `cat` would let the service's own log lines land
    // mid-line and split a secret in the log itself.
    const perLine = `while IFS= read -r l; do printf '%s\\n' "$l"; done > /proc/1/fd/1 <<'CORPUS'\n${lines.join('\n')}\nCORPUS`;
    const script = [`env > /proc/1/fd/1`, perLine, `echo "planted ${RUN}" > /proc/1/fd/1`].join('\n');
    await hostDocker(['exec', nextjsId!, 'sh', '-c', script]);
    // Processes whose argv carries secrets, as /top shows them.
    const byFlag = (name: string) => CORPUS.find((c) => c.name === name)!.value;
    await hostDocker(['exec', '-d', nextjsId!, 'sh', '-c', 'sleep 900; :', 'redis-server', '--requirepass', byFlag('REQUIREPASS'), '--token', byFlag('GITHUB_CLASSIC'), '--password', byFlag('PLAIN_PASSWORD')]);
    await hostDocker(['exec', '-d', nextjsId!, 'sh', '-c', 'sleep 900; :', 'mysql', '-u', 'root', `-p${byFlag('MYSQL_P')}`]);
    await hostDocker(['exec', '-d', nextjsId!, 'sh', '-c', 'sleep 900; :', 'curl', '-u', `deploy:${byFlag('CURL_U')}`, 'https://example.com']);
    await hostDocker(['exec', '-d', nextjsId!, 'sh', '-c', 'sleep 900; :', 'app', ...CORPUS.map((c) => c.value)]);
    const deadline = Date.now() + 30_000;
    while (!(await hostDocker(['logs', '--tail', '5', nextjsId!])).includes(`planted ${RUN}`)) {
      if (Date.now() > deadline) throw new Error('the planted lines never reached the log');
      await new Promise((r) => setTimeout(r, 100));
    }
    h = await startHarness();
  });

  afterAll(async () => {
    await h?.stop();
    // Put the host back as up left it: the .env, and a nextjs without the corpus in its
    // environment (recreating it also ends the planted processes).
    if (originalEnv !== undefined) writeFileSync(envPath, originalEnv);
    await hostCompose(['up', '-d', '--no-deps', '--force-recreate', 'nextjs']);
    await resetStaging();
  });

  afterEach(() => expect(h.double.violations).toEqual([]));

  const wire = (): string =>
    JSON.stringify(h.double.requests.map((r) => ({ body: r.body, files: r.files.map((f) => f.data.toString('utf8')) })));

  it('/logs: the page and the attached .txt show the lines, none of the secrets', async () => {
    const handle = h.double.sendCommand({ name: 'logs', options: { service: 'nextjs', lines: 400 }, member: 'viewer', channel: 'alerts' });
    const reply = await handle.waitForReply((m) => m.embeds.length > 0, { timeoutMs: 30_000 });
    const file = reply.attachments[0];
    expect(file?.filename).toMatch(/\.txt$/);
    const text = h.double.file(file!)!.text();
    // The lines are there (so the test reads what it planted), their secrets are not.
    expect(text).toContain(`planted ${RUN}`);
    expect(text).toContain('aws: using access key [redacted]');
    expect(text).toContain('-----END RSA PRIVATE KEY-----');
    expect(textOf(reply)).not.toMatch(/Internal error/);
    runIds.push(...h.app.store.recentRuns(1).map((r) => r.id));
  });

  it('/top: process arguments show, the secrets among them do not', async () => {
    const handle = h.double.sendCommand({ name: 'top', options: { service: 'nextjs' }, member: 'viewer', channel: 'alerts' });
    const reply = await handle.waitForReply((m) => m.embeds.length > 0, { timeoutMs: 30_000 });
    const shown = `${textOf(reply)}\n${reply.attachments.map((a) => h.double.file(a)!.text()).join('\n')}`;
    expect(shown).toMatch(/--requirepass \[redacted\]/);
    expect(shown).toMatch(/mysql -u root -p\[redacted\]/);
    expect(shown).toMatch(/curl -u deploy:\[redacted\]/);
    runIds.push(...h.app.store.recentRuns(1).map((r) => r.id));
  });

  it('/audit run:<id> of those runs shows their outputs redacted', async () => {
    expect(runIds).toHaveLength(2);
    for (const run of runIds) {
      const handle = h.double.sendCommand({ name: 'audit', options: { run }, member: 'viewer', channel: 'alerts' });
      const reply = await handle.waitForReply((m) => m.embeds.length > 0, { timeoutMs: 30_000 });
      expect(textOf(reply)).toContain(run);
    }
  });

  it('nothing the Discord double recorded, and no log line, holds a planted value', () => {
    const recorded = wire();
    const logs = h.logs.join('\n');
    expect(recorded).toContain('[redacted]');
    // The bot read the host's own values (some lines above are hidden by nothing else).
    expect(logs).not.toContain("could not read the host's secret values");
    const leaks: string[] = [];
    for (const c of CORPUS) {
      if (recorded.includes(c.value)) leaks.push(`${c.name} reached Discord`);
      if (logs.includes(c.value)) leaks.push(`${c.name} reached the log`);
    }
    for (const line of [...KEY_BODY, KEY_TAIL]) {
      if (recorded.includes(line)) leaks.push(`key body line ${line.slice(0, 8)}… reached Discord`);
    }
    expect(leaks).toEqual([]);
  });
});
