import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoubleMessage } from '../discord-double/index.js';
import { startGitHubFake, type GitHubFake } from '../support/github-fake.js';
import { useBot } from './suite.js';
import { buttonId, buttonsOf, finalAnswer, isEphemeral, textOf } from './util.js';

/**
 * deploy-workflow end to end through the Discord double, against the local fake of GitHub's
 * REST routes: the gate shows the exact request, the dispatch is sent once after Confirm, and the
 * run it started is followed (queued → in progress → its conclusion). Host 0 (`staging`) has a
 * GitHub repository and token; host 1 (`staging-2`) has none.
 */
const TOKEN_ENV = 'OPSBOT_E2E_DEPLOY_GITHUB_TOKEN';
const TOKEN = `ghp_${'deployTokenNeverShown'.repeat(2)}`;
const REPO = 'brainbytes/platform';
let gh: GitHubFake;

beforeAll(async () => {
  process.env[TOKEN_ENV] = TOKEN;
  gh = await startGitHubFake({ repo: REPO, token: TOKEN });
});

afterAll(async () => {
  await gh?.close();
  delete process.env[TOKEN_ENV];
});

const until = async (what: string, check: () => boolean, timeoutMs = 15_000) => {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('deploy-workflow: dispatch automation.yml and follow its run', () => {
  const h = useBot({
    hostCount: 2,
    hostConfig: (n) => (n === 0 ? { parts: { githubRepo: REPO, githubApiUrl: gh.url, githubTokenEnv: TOKEN_ENV, githubPollSeconds: 1 } } : {}),
  });
  const start = (options: Record<string, string>, member = 'operator') => h.double.sendCommand({ name: 'runbook', subcommand: 'deploy-workflow', options, member, channel: 'alerts' });
  const gateOf = (options: Record<string, string>) => start(options).waitForReply((m) => buttonsOf(m).length > 0 || /❌/.test(textOf(m)), { timeoutMs: 30_000 });
  const confirm = (gate: DoubleMessage) => h.double.clickButton({ message: gate, customId: buttonId(gate, 'Confirm'), member: 'operator' });
  const posts = () => gh.requests.filter((r) => r.method === 'POST');
  const secretsShown = (text: string) => [TOKEN].filter((s) => text.includes(s) || h.logs.some((l) => l.includes(s)));
  const historyOf = (m: DoubleMessage) => h.double.world.messages.get(m.id)?.history.map((x) => textOf(x as DoubleMessage)) ?? [];

  it('shows the exact request at its gate, dispatches once after Confirm, follows the run queued → in progress → success, and links it', async () => {
    const gate = await gateOf({ version: '1.4.2' });
    const shown = textOf(gate);
    expect(shown).toMatch(/✅ \*\*Check the workflow is active\*\* — "Automation" \(\.github\/workflows\/automation\.yml\) is active in brainbytes\/platform; last dispatched run on main: #56 success/);
    expect(shown).toContain(`POST ${gh.url}/repos/${REPO}/actions/workflows/automation.yml/dispatches '{"ref":"main","inputs":{"version":"1.4.2"}}'`);
    expect(posts()).toEqual([]);

    const click = confirm(gate);
    await until('the dispatched run', () => gh.dispatches[0]?.runId !== undefined);
    const runId = gh.dispatches[0]?.runId ?? 0;
    expect(gh.dispatches[0]?.body).toEqual({ ref: 'main', inputs: { version: '1.4.2' } });
    // The run yesterday's dispatch started is not taken for this one.
    await click.waitForUpdate((m) => /⏳ \*\*Follow the workflow run\*\* — run #57 queued/.test(textOf(m)), { timeoutMs: 20_000 });
    gh.setRun(runId, 'in_progress');
    await click.waitForUpdate((m) => /run #57 in progress .*✅ build \(success\) · ⏳ deploy \(in progress\)/.test(textOf(m)), { timeoutMs: 20_000 });
    gh.setRun(runId, 'completed', 'success');
    const done = await click.waitForUpdate((m) => /[✅❌] \*\*Follow the workflow run\*\*/.test(textOf(m)), { timeoutMs: 20_000 });
    const body = textOf(done);
    expect(body).toMatch(/✅ \*\*Dispatch the workflow \(workflow_dispatch\)\*\* — GitHub accepted the dispatch \(HTTP 204\): automation\.yml on main with version 1\.4\.2/);
    expect(body).toMatch(/✅ \*\*Follow the workflow run\*\* — run #57 concluded success after \d+ s: 2 jobs passed/);
    expect(body).toContain(`https://github.com/${REPO}/actions/runs/${runId}`);
    expect(buttonsOf(done).filter((b) => !b.disabled && /Confirm|Approve/.test(b.label ?? ''))).toEqual([]);
    expect(historyOf(gate).some((t) => /run #57 queued/.test(t))).toBe(true);
    // Exactly one dispatch, with the token; nothing shows the token.
    expect(posts()).toHaveLength(1);
    expect(posts()[0]).toMatchObject({ path: `/repos/${REPO}/actions/workflows/automation.yml/dispatches`, authorized: true, body: { ref: 'main', inputs: { version: '1.4.2' } } });
    expect(secretsShown(body)).toEqual([]);
  });

  it('a run that concludes failure ends the runbook ❌, naming the failed job and step with its log', async () => {
    const gate = await gateOf({ version: '1.4.3', branch: 'develop' });
    expect(textOf(gate)).toContain(`'{"ref":"develop","inputs":{"version":"1.4.3"}}'`);
    const click = confirm(gate);
    await until('the dispatched run', () => gh.dispatches[1]?.runId !== undefined);
    const runId = gh.dispatches[1]?.runId ?? 0;
    gh.setRun(runId, 'completed', 'failure');
    const done = await click.waitForUpdate((m) => /[✅❌] \*\*Follow the workflow run\*\*/.test(textOf(m)), { timeoutMs: 20_000 });
    const body = textOf(done);
    expect(body).toMatch(/❌ \*\*Follow the workflow run\*\* — run #58 concluded failure after \d+ s: job "deploy" failed at step 3 "docker compose up -d"/);
    expect(body).toContain(`❌ [deploy](https://github.com/${REPO}/actions/runs/${runId}/job/${runId * 10 + 2}): step 3 "docker compose up -d"`);
    expect(body).toContain(`https://github.com/${REPO}/actions/runs/${runId}`);
    expect(body).toMatch(/\*\*Failed:\*\* step 3 \(Follow the workflow run\) failed/);
    expect(posts()).toHaveLength(2);
  });

  it('GitHub refusing the dispatch (an unknown branch) ends the run saying what to fix; a disabled workflow stops before its gate', async () => {
    const gate = await gateOf({ version: '1.4.4', branch: 'release/9.9' });
    const done = await confirm(gate).waitForUpdate((m) => /[✅❌] \*\*Dispatch/.test(textOf(m)), { timeoutMs: 20_000 });
    expect(textOf(done)).toMatch(/❌ \*\*Dispatch the workflow \(workflow_dispatch\)\*\* — GitHub refused to dispatch automation\.yml on release\/9\.9 \(HTTP 422: "No ref found for: release\/9\.9"\): the branch release\/9\.9 does not exist in brainbytes\/platform/);
    expect(gh.dispatches).toHaveLength(2);

    const workflow = gh.workflows.get('automation.yml');
    if (!workflow) throw new Error('the fake has no automation.yml');
    workflow.state = 'disabled_manually';
    try {
      const before = posts().length;
      const stopped = await gateOf({ version: '1.4.4' });
      expect(buttonsOf(stopped).filter((b) => !b.disabled)).toEqual([]);
      expect(textOf(stopped)).toMatch(/❌ \*\*Check the workflow is active\*\* — automation\.yml is disabled manually: enable it on GitHub .*Nothing was sent/);
      expect(posts()).toHaveLength(before);
    } finally {
      workflow.state = 'active';
    }
  });

  it('refuses a viewer, and a bad branch or version, with nothing sent to GitHub', async () => {
    const before = gh.requests.length;
    const viewer = await start({ version: '1.4.2' }, 'viewer').waitForReply();
    expect(isEphemeral(viewer)).toBe(true);
    expect(viewer.content).toBe(`You need the <@&${h.double.roles.operator}> role (or above) for this. Nothing was run.`);
    for (const [options, key] of [
      [{ version: '1.4.2', branch: 'main;curl evil' }, 'branch'],
      [{ version: '1.4.2', branch: 'feature/../main' }, 'branch'],
      [{ version: '-rf' }, 'version'],
    ] as const) {
      const refused = await finalAnswer(start(options));
      expect(textOf(refused)).toMatch(new RegExp(`Invalid input for deploy-workflow:\\n• \`${key}\`: must be .*\\nNothing was run`));
    }
    expect(gh.requests.length).toBe(before);
  });

  it('/runbook list shows it unavailable on a host without a GitHub repository, and starting it there is refused', async () => {
    const list = textOf(await h.double.sendCommand({ name: 'runbook', subcommand: 'list', options: {}, member: 'viewer', channel: 'alerts' }).waitForReply());
    expect(list).toMatch(/^`deploy-workflow` — .* · \*operator\*$/m);
    expect(list).toMatch(/^Cannot run on staging-2\n(`.*\n)*`deploy-workflow` — no GitHub repository configured \(`parts\.githubRepo`\) for host staging-2$/m);
    // staging (which lacks only Prometheus here) can run it.
    expect(list).not.toMatch(/^Cannot run on staging\n(`.*\n)*`deploy-workflow`/m);
    const before = gh.requests.length;
    const refused = await finalAnswer(start({ version: '1.4.2', host: 'staging-2' }));
    expect(textOf(refused)).toMatch(/`deploy-workflow` cannot run on host "staging-2": no GitHub repository configured.*Nothing was run/);
    expect(gh.requests.length).toBe(before);
  });
});
