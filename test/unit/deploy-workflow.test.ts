import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostSchema } from '../../src/config/schema.js';
import { isUserError } from '../../src/engine/errors.js';
import type { StepContext } from '../../src/engine/runbook.js';
import type { Host } from '../../src/host/index.js';
import { branchName, deployWorkflow, dispatchedRun, followRun } from '../../runbooks/deploy-workflow.js';
import { github, post } from '../../runbooks/github.js';
import { startGitHubFake, type GitHubFake } from '../support/github-fake.js';

const TOKEN_ENV = 'OPSBOT_UNIT_DEPLOY_WORKFLOW_TOKEN';
const TOKEN = `ghp_${'unitTokenNeverShown0'.repeat(2)}`;
const REPO = 'brainbytes/platform';
let gh: GitHubFake;

beforeAll(async () => {
  process.env[TOKEN_ENV] = TOKEN;
  gh = await startGitHubFake({ repo: REPO, token: TOKEN, runDelayMs: 100 });
});
afterAll(async () => {
  await gh.close();
  delete process.env[TOKEN_ENV];
});

const hostWith = (parts: Record<string, unknown> = {}) =>
  ({ name: 'vps', config: hostSchema.parse({ name: 'vps', transport: 'local', projectDir: '/srv/app', parts: { githubRepo: REPO, githubApiUrl: gh.url, githubTokenEnv: TOKEN_ENV, ...parts } }) }) as unknown as Host;
const run = (at: string, id: number, event = 'workflow_dispatch') => ({ id, run_number: id, event, status: 'queued', conclusion: null, head_branch: 'main', html_url: `https://github.com/x/runs/${id}`, created_at: at });
/** Runs one step of the runbook as the engine would, with the notes it records. */
async function step(n: number, host: Host, params: { version: string; branch: string }, runId = 'r1') {
  const notes: string[] = [];
  const ctx = { host, params, runId, note: (d: string) => notes.push(d), progress: () => undefined } as unknown as StepContext<typeof params>;
  const s = deployWorkflow.steps[n];
  if (!s) throw new Error(`no step ${n}`);
  try {
    return { outcome: await s.run(ctx), notes };
  } catch (err) {
    if (!isUserError(err)) throw err;
    return { error: err, notes };
  }
}

describe('deploy-workflow', () => {
  it('takes the newest workflow_dispatch run created since the dispatch that was not there before it', () => {
    const at = Date.parse('2026-12-06T22:00:10Z');
    const runs = [run('2026-12-06T22:00:12Z', 7), run('2026-12-06T22:00:11Z', 6), run('2026-12-06T22:00:13Z', 8, 'push'), run('2026-12-06T21:00:00Z', 5)];
    expect(dispatchedRun(runs, { at, before: new Set() })?.id).toBe(7);
    // A run someone else dispatched just before ours was already listed: never ours.
    expect(dispatchedRun(runs, { at, before: new Set([7]) })?.id).toBe(6);
    // GitHub stamps whole seconds: a run stamped a few seconds before its answer still counts, an hour before does not.
    expect(dispatchedRun([run('2026-12-06T22:00:07Z', 9)], { at, before: new Set() })?.id).toBe(9);
    expect(dispatchedRun([run('2026-12-06T21:00:00Z', 5)], { at, before: new Set() })).toBeUndefined();
  });

  it('accepts git branch names and refuses what git would not take or a shell could misread', () => {
    for (const ok of ['main', 'develop', 'release/1.4', 'feature/x_y-z.2']) expect(branchName.safeParse(ok).success, ok).toBe(true);
    for (const bad of ['', '-x', 'a..b', 'a//b', 'a/', 'a.', 'x.lock', 'main;rm', 'a b', '$(id)', 'a\nb', 'x'.repeat(101)]) expect(branchName.safeParse(bad).success, bad).toBe(false);
  });

  it('follows a dispatched run until it completes, with progress, and names the failed job and step', async () => {
    const host = hostWith();
    const g = github(host);
    if (!g) throw new Error('no GitHub settings');
    const sentAt = Date.now();
    const before = new Set<number>([30400001]);
    const { serverTime } = await post(g, '/actions/workflows/automation.yml/dispatches', { ref: 'main', inputs: { version: '2.0.0' } });
    const seen: string[] = [];
    const outcome = await followRun(g, host, 'main', { at: serverTime ?? sentAt, before, sentAt }, {
      pollMs: 30,
      deadline: Date.now() + 10_000,
      note: () => undefined,
      progress: (s) => {
        seen.push(s);
        const id = gh.dispatches.at(-1)?.runId;
        if (id === undefined) return;
        if (/queued/.test(s)) gh.setRun(id, 'in_progress');
        if (/in progress/.test(s)) gh.setRun(id, 'completed', 'failure');
      },
    });
    expect(seen.some((s) => /^waiting for GitHub to start the run/.test(s))).toBe(true);
    expect(seen.some((s) => /^run #57 in progress .*: ✅ build \(success\) · ⏳ deploy \(in progress\)$/.test(s))).toBe(true);
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/^run #57 concluded failure after \d+ s: job "deploy" failed at step 3 "docker compose up -d"$/);
    expect(outcome.fields?.map((f) => f.value).join('\n')).toContain(`https://github.com/${REPO}/actions/runs/30500001`);
    expect(outcome.output).toMatch(/✗ 3\. docker compose up -d \(failure\)/);
  });

  it('stops following at its deadline and says the run goes on', async () => {
    const host = hostWith();
    const g = github(host);
    if (!g) throw new Error('no GitHub settings');
    const sentAt = Date.now();
    const known = new Set((gh.dispatches.map((d) => d.runId).filter((id): id is number => id !== undefined)));
    const { serverTime } = await post(g, '/actions/workflows/automation.yml/dispatches', { ref: 'main', inputs: { version: '2.0.1' } });
    const outcome = await followRun(g, host, 'main', { at: serverTime ?? sentAt, before: new Set([30400001, ...known]), sentAt }, { pollMs: 30, deadline: Date.now() + 600, note: () => undefined, progress: () => undefined });
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/^run #58 is still queued after \d+ s: the bot stopped following it \(`parts\.githubWorkflowTimeoutMinutes`\); it goes on on GitHub: https:\/\/github\.com\/brainbytes\/platform\/actions\/runs\/30500002$/);
  });

  it('GitHub errors end the step naming what to fix, never the token, and nothing is dispatched', async () => {
    const dispatched = gh.dispatches.length;
    const p = { version: '1.0.0', branch: 'main' };
    // No token in the environment variable the host names.
    const noToken = await step(0, hostWith({ githubTokenEnv: 'OPSBOT_UNIT_UNSET_TOKEN' }), p);
    expect(noToken.error?.message).toBe("no GitHub token in the bot's environment variable $OPSBOT_UNIT_UNSET_TOKEN (`parts.githubTokenEnv`) for host vps. Nothing was sent to GitHub.");
    // A wrong token: 401.
    process.env.OPSBOT_UNIT_WRONG_TOKEN = 'ghp_wrongwrongwrongwrongwrongwrongwrong1';
    const wrong = await step(1, hostWith({ githubTokenEnv: 'OPSBOT_UNIT_WRONG_TOKEN' }), p);
    expect(wrong.error?.message).toBe('GitHub refused the token (HTTP 401: bad or expired credentials): put a valid token in $OPSBOT_UNIT_WRONG_TOKEN; it needs write access to Actions of brainbytes/platform (actions:write).');
    expect(wrong.error?.message).not.toContain('ghp_wrong');
    delete process.env.OPSBOT_UNIT_WRONG_TOKEN;
    // An unknown workflow file: 404.
    const missing = await step(0, hostWith({ githubWorkflow: 'deploy.yml' }), p);
    expect(missing.error?.message).toMatch(/^GitHub knows no workflow deploy\.yml in brainbytes\/platform \(HTTP 404\): check `parts\.githubWorkflow`/);
    // A workflow without the `version` input: 422 with GitHub's words and the fix.
    const wf = gh.workflows.get('automation.yml');
    if (!wf) throw new Error('no automation.yml');
    wf.inputs = [];
    try {
      const unexpected = await step(1, hostWith(), p);
      expect(unexpected.error?.message).toBe(`GitHub refused to dispatch automation.yml on main (HTTP 422: "Unexpected inputs provided: ["version"]"): automation.yml declares no \`version\` input: add it under \`on: workflow_dispatch: inputs:\`. No run was started.`);
    } finally {
      wf.inputs = ['version'];
    }
    expect(gh.dispatches).toHaveLength(dispatched);
  });

  it('the gate shows the request it sends: method, URL and body', async () => {
    const plan = await deployWorkflow.steps[1]?.plan?.({ host: hostWith(), params: { version: '1.4.2', branch: 'release/1.4' } });
    expect(plan).toEqual([['POST', `${gh.url}/repos/${REPO}/actions/workflows/automation.yml/dispatches`, '{"ref":"release/1.4","inputs":{"version":"1.4.2"}}']]);
  });
});
