import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runbooks } from '../../runbooks/index.js';
import { startGitHubFake, type GitHubFake } from '../support/github-fake.js';
import { startPrometheus, type PrometheusDaemon } from '../support/prometheus.js';
import { commandsLogMark, commandsLogSince, readStaging } from '../staging/staging.js';
import { useBot } from './suite.js';
import { buttonId, buttonsOf, finalAnswer, textOf } from './util.js';

/**
 * config-drift, test-failure, alert-investigation, ssh-audit and ssh-revoke end to end, and
 * `/runbook list` naming what a host lacks. Host 0 (`staging`) has every part; host 1
 * (`staging-2`, the same machine) calls its database `postgres`, has no Prometheus and no GitHub.
 */
const TOKEN_ENV = 'OPSBOT_E2E_GITHUB_TOKEN';
const TOKEN = `ghp_${'e2eTokenNeverShown0'.repeat(2)}`;
const REPO = 'brainbytes/platform';
const dir = mkdtempSync(join(tmpdir(), 'opsbot-audit-'));
let prom: PrometheusDaemon;
let gh: GitHubFake;

const staging = readStaging();
const home = execFileSync('getent', ['passwd', staging.user], { encoding: 'utf8' }).split(':')[5] ?? '';
const AK = join(home, '.ssh', 'authorized_keys');
const keyLines = () => readFileSync(AK, 'utf8').split('\n').filter(Boolean);
const fingerprint = (file: string) => execFileSync('ssh-keygen', ['-lf', file], { encoding: 'utf8' }).split(' ')[1] ?? '';

// A teammate's key, planted next to the bot's (as root: the file stays the deploy user's).
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@laptop', '-f', join(dir, 'alice')]);
const ALICE = readFileSync(join(dir, 'alice.pub'), 'utf8').trim();
const ALICE_FP = fingerprint(join(dir, 'alice.pub'));
const BOT_FP = fingerprint(staging.keyPath);
const unplant = () => writeFileSync(AK, `${keyLines().filter((l) => !l.includes(ALICE.split(' ')[1] ?? '-')).join('\n')}\n`);

beforeAll(async () => {
  process.env[TOKEN_ENV] = TOKEN;
  gh = await startGitHubFake({ repo: REPO, token: TOKEN });
  // Real Prometheus scraping the staging reverse-proxy's Traefik metrics, with a rule that fires on its 5xx counter.
  const rules = join(dir, 'rules.yml');
  writeFileSync(
    rules,
    'groups:\n  - name: traefik\n    rules:\n      - alert: HighTraefikErrorRate\n        expr: sum by (job) (traefik_entrypoint_requests_total{code=~"5.."}) > 0\n        labels: { severity: warning }\n        annotations: { summary: Traefik answers 5xx }\n',
  );
  prom = await startPrometheus({
    config: `global: { scrape_interval: 1s, evaluation_interval: 1s }\nrule_files: [${JSON.stringify(rules)}]\nscrape_configs:\n  - job_name: reverse-proxy\n    static_configs: [{ targets: ['127.0.0.1:${staging.ports['reverse-proxy']}'] }]\n`,
  });
  await prom.waitFor('ALERTS{alertname="HighTraefikErrorRate",alertstate="firing"}', (r) => r.length > 0);
  unplant();
  writeFileSync(AK, `${keyLines().join('\n')}\n${ALICE}\n`);
}, 60_000);

afterAll(async () => {
  unplant();
  await prom?.stop();
  await gh?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('runbooks on named parts: config-drift, test-failure, alert-investigation, ssh-audit, ssh-revoke', () => {
  const h = useBot({
    hostCount: 2,
    hostConfig: (n) =>
      n === 0
        ? { prometheusUrl: prom.url, parts: { proxyApiUrl: `http://127.0.0.1:${staging.ports['reverse-proxy']}`, githubRepo: REPO, githubApiUrl: gh.url, githubTokenEnv: TOKEN_ENV } }
        : { parts: { database: 'postgres' } },
  });
  const run = (subcommand: string, options: Record<string, string | number>, member = 'viewer') => h.double.sendCommand({ name: 'runbook', subcommand, options, member, channel: 'alerts' });
  const finished = (subcommand: string, options: Record<string, string | number>, last: RegExp) => run(subcommand, options).waitForReply((m) => last.test(textOf(m)), { timeoutMs: 60_000 }).then(textOf);
  const secretsShown = (text: string) => [...Object.values(h.staging.secrets), TOKEN].filter((s) => text.includes(s) || h.logs.some((l) => l.includes(s)));

  it('/runbook list says which runbooks a host cannot run and why; starting one there is refused before anything runs', async () => {
    const list = textOf(await run('list', {}).waitForReply());
    expect(list).toMatch(/^Cannot run on staging-2\n(`.*\n)*`config-drift` — no service `postgres` on host staging-2 \(`parts\.database`\)$/m);
    expect(list).toContain('`alert-investigation` — no Prometheus configured (`prometheusUrl`) for host staging-2');
    expect(list).not.toMatch(/Cannot run on staging\n/);
    // Every runbook is listed, however many there are.
    for (const rb of runbooks) expect(list).toMatch(new RegExp(`^\`${rb.id}\` — .* · \\*(viewer|operator|operator \\+ approver)\\*$`, 'm'));
    expect(list).toMatch(/^`ssh-revoke` — .* · \*operator \+ approver\*$/m);
    const mark = await commandsLogMark();
    const refused = await finalAnswer(run('config-drift', { host: 'staging-2' }));
    expect(textOf(refused)).toMatch(/`config-drift` cannot run on host "staging-2": no service `postgres`.*Nothing was run/);
    expect((await commandsLogSince(mark)).filter((l) => /mongosh|cat \.env\.example/.test(l))).toEqual([]);
  });

  it('config-drift: .env drift by key name, Traefik routers/services/middlewares, Mongo currentOp; no value shown', async () => {
    const body = await finished('config-drift', {}, /Mongo current operations\*\* — /);
    expect(body).toMatch(/✅ \*\*\.env against \.env\.example\*\* — ⚠️ 1 missing, 2 extra; 5 secret-looking keys \(values not shown\); ⚠️ 1 filled in \.env\.example/);
    expect(body).toMatch(/Missing from \.env\n`SENTRY_DSN`/);
    expect(body).toMatch(/In \.env, not in \.env\.example\n`REGISTRY`, `INTERNAL_API_TOKEN`/);
    expect(body).toMatch(/Secret-looking keys with a value in \.env\.example\n`MONGO_PASSWORD`/);
    expect(body).toMatch(/Traefik routers, services and middlewares\*\* — 2 routers, 2 services, 0 middlewares, all enabled/);
    expect(body).toMatch(/Mongo current operations\*\* — 4 operations, 2 active, ⚠️ 1 running ≥ 60 s/);
    expect(secretsShown(body)).toEqual([]);
  });

  it('test-failure: failed runs, failed jobs and steps with log links, artifacts, from the GitHub API; the token never shown', async () => {
    const body = await finished('test-failure', { runs: 2 }, /Artifacts .*\*\* — /);
    expect(body).toMatch(/Latest failed workflow runs\*\* — 2 failed runs in brainbytes\/platform, newest: #562 CI/);
    expect(body).toContain(`(https://github.com/${REPO}/actions/runs/30433642)`);
    expect(body).toMatch(/Failed jobs and steps, with their logs\*\* — 2 failed jobs/);
    expect(body).toMatch(/Artifacts \(screenshots, videos, coverage\)\*\* — 2 artifacts/);
    expect(gh.requests.map((r) => r.path)).toEqual(expect.arrayContaining([`/repos/${REPO}/actions/runs?status=failure&per_page=2`, `/repos/${REPO}/actions/runs/30433642/jobs?filter=latest&per_page=100`, `/repos/${REPO}/actions/runs/30433600/artifacts?per_page=100`]));
    expect(gh.requests.every((r) => r.authorized)).toBe(true);
    expect(secretsShown(body)).toEqual([]);
    // staging-2 has no repository: the seed's checklist.
    const checklist = await run('test-failure', { host: 'staging-2' }).waitForReply((m) => /Artifacts .*\*\* — /.test(textOf(m)), { timeoutMs: 30_000 });
    expect(textOf(checklist)).toMatch(/no GitHub repository and token configured for staging-2 .*the seed's checklist/);
  });

  it("alert-investigation: the alert's rule and query, up{job}, Traefik error rate, health and logs of the alert's service", async () => {
    const body = await finished('alert-investigation', { alertname: 'HighTraefikErrorRate' }, /Last 100 log lines\*\* — /);
    expect(body).toMatch(/The alert's rule and its query now\*\* — firing: 1 instance firing; the query returns 1 series/);
    expect(body).toContain('sum by (job) (traefik_entrypoint_requests_total{code=~"5.."}) > 0');
    expect(body).toMatch(/up\{job=…\}\*\* — job reverse-proxy: 1 of 1 targets up/);
    expect(body).toMatch(/Traefik error rates\*\* — 18345 requests since Traefik started: 5xx 0\.02%, 4xx 0\.00% ⚠️/);
    expect(body).toMatch(/Health URL\*\* — no health URL configured for reverse-proxy/);
    expect(body).toMatch(/Last 100 log lines\*\* — reverse-proxy: \d+ lines/);
    const unknown = await finished('alert-investigation', { alertname: 'NoSuchAlert', service: 'adonisjs' }, /Last 100 log lines\*\* — /);
    expect(unknown).toMatch(/⚠️ Prometheus has no alerting rule named NoSuchAlert/);
    expect(unknown).toMatch(/Health URL\*\* — ✅ adonisjs http:\/\/127\.0\.0\.1:\d+\/health: HTTP 200/);
  });

  it('ssh-audit lists the keys (the bot’s marked), sudo rules, docker group, firewall and ports, read-only', async () => {
    const mark = await commandsLogMark();
    const body = await finished('ssh-audit', {}, /Listening ports\*\* — /);
    expect(body).toMatch(/Authorized keys\*\* — 2 keys for deploy \(one is the bot’s own\)/);
    expect(body).toMatch(/Docker group\*\* — /);
    expect(body).toMatch(/Firewall\*\* — /);
    expect(body).toMatch(/Listening ports\*\* — \d+ listening sockets?, \d+ beyond loopback/);
    expect(keyLines().some((l) => l.includes(ALICE))).toBe(true);
    expect((await commandsLogSince(mark)).filter((l) => /sed|tee/.test(l))).toEqual([]);
  });

  it('ssh-revoke refuses the bot’s own key; removes a key only after a second person approves; the rollback puts it back', async () => {
    const own = await finalAnswer(run('ssh-revoke', { key: BOT_FP }, 'operator'), 60_000);
    expect(textOf(own)).toMatch(/is the key the bot itself connects to staging with: revoking it would lock the bot out/);
    expect(keyLines()).toHaveLength(2);

    const gate = await run('ssh-revoke', { key: 'alice@laptop' }, 'operator').waitForReply((m) => buttonsOf(m).length > 0, { timeoutMs: 60_000 });
    expect(textOf(gate)).toContain(`sed -i '\\#${ALICE.split(' ')[1]}#d' .ssh/authorized_keys`);
    expect(textOf(gate)).toContain(ALICE_FP);
    const id = buttonId(gate, /Approve/);
    const self = await h.double.clickButton({ message: gate, customId: id, member: 'operator' });
    expect((await self.waitForReply()).content).toMatch(/needs a second person/);
    const operatorOnly = await h.double.clickButton({ message: gate, customId: id, member: 'operator2' });
    expect((await operatorOnly.waitForReply()).content).toMatch(/approver role/);
    expect(keyLines().some((l) => l.includes(ALICE))).toBe(true);

    const approve = await h.double.clickButton({ message: gate, customId: id, member: 'approver' });
    const done = await approve.waitForUpdate((m) => /[✅❌] \*\*Remove the key/.test(textOf(m)), { timeoutMs: 60_000 });
    expect(textOf(done)).toMatch(/✅ \*\*Remove the key from authorized_keys\*\* — removed; 1 key left/);
    expect(keyLines().some((l) => l.includes(ALICE.split(' ')[1] ?? '-'))).toBe(false);
    expect(keyLines().some((l) => l.includes('opsbot-guard'))).toBe(true);

    const rb = await h.double.clickButton({ message: done, customId: buttonId(done, 'Roll back'), member: 'operator' });
    const rbGate = await rb.waitForReply((m) => buttonsOf(m).length > 0, { timeoutMs: 30_000 });
    expect(textOf(rbGate)).toContain('tee -a .ssh/authorized_keys');
    const rbApprove = await h.double.clickButton({ message: rbGate, customId: buttonId(rbGate, /Approve|Confirm/), member: 'approver' });
    const back = await rbApprove.waitForUpdate((m) => /[✅❌] \*\*Put the removed key line back/.test(textOf(m)), { timeoutMs: 60_000 });
    expect(textOf(back)).toMatch(new RegExp(`✅ \\*\\*Put the removed key line back\\*\\* — ${ALICE_FP.replace(/[+/]/g, '\\$&')} restored`));
    expect(keyLines().filter((l) => l === ALICE)).toHaveLength(1);
  });
});
