import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { UserError, isUserError } from '../src/engine/errors.js';
import { defineRunbook, type StepContext, type StepOutcome } from '../src/engine/runbook.js';
import type { Host } from '../src/host/index.js';
import { actionsPage, get, github, githubMissing, post, repoUrl, type GitHub } from './github.js';
import { imageTag } from './images.js';

/**
 * The seed's "Deploy New Version" as it is written: GitHub Actions → `automation.yml` → Run
 * workflow with a branch and a version tag. The dispatch is the one change (behind its gate,
 * showing the request it sends); the run it starts is then followed until it ends. The registry
 * deploy of one service from the host is `deploy`.
 */

/** A git branch name, narrowly: no `..`, `//`, `@{`, spaces or control characters, no trailing `/`, `.` or `.lock`. */
export const branchName = z
  .string()
  .max(100)
  .regex(/^(?!.*\.\.)(?!.*\/\/)(?!.*\.lock$)(?!.*[./]$)[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'must be a git branch name (letters, digits, `.`, `_`, `-`, `/`; no `..` or `//`; not ending in `/`, `.` or `.lock`)');

const params = z.object({
  version: imageTag.describe('Version tag the workflow deploys (its `version` input), e.g. 1.4.2'),
  branch: branchName.default('main').describe('Branch whose workflow runs (default main)'),
});
type Params = z.infer<typeof params>;

const workflowReply = z.looseObject({ id: z.number(), name: z.string(), path: z.string(), state: z.string(), html_url: z.string() });
const runShape = z.looseObject({
  id: z.number(),
  name: z.string().nullable().optional(),
  run_number: z.number(),
  event: z.string(),
  status: z.string().nullable(),
  conclusion: z.string().nullable(),
  head_branch: z.string().nullable(),
  html_url: z.string(),
  created_at: z.string(),
});
type Run = z.infer<typeof runShape>;
const runsReply = z.looseObject({ total_count: z.number(), workflow_runs: z.array(runShape) });
const jobsReply = z.looseObject({
  jobs: z.array(
    z.looseObject({
      id: z.number(),
      name: z.string(),
      status: z.string(),
      conclusion: z.string().nullable(),
      html_url: z.string().nullable(),
      steps: z.array(z.looseObject({ name: z.string(), number: z.number(), status: z.string(), conclusion: z.string().nullable() })).optional(),
    }),
  ),
});
type Job = z.infer<typeof jobsReply>['jobs'][number];

/** The host's GitHub settings, or why the runbook cannot use them (before anything is sent). */
function githubOf(host: Host): GitHub {
  const gh = github(host);
  if (gh === null) throw new UserError('github.missing', `${githubMissing(host) ?? 'no GitHub settings'} for host ${host.name}. Nothing was sent to GitHub.`);
  return gh;
}

const workflowPath = (host: Host, rest = '') => `/actions/workflows/${encodeURIComponent(host.config.parts.githubWorkflow)}${rest}`;
const dispatchBody = (p: Params) => ({ ref: p.branch, inputs: { version: p.version } });
/** What the token needs for this runbook, named when GitHub refuses it (write includes reading the runs). */
const permission = (gh: GitHub) => `write access to Actions of ${gh.repo} (actions:write)`;
const dispatchedRuns = (gh: GitHub, host: Host, branch: string) => get(gh, workflowPath(host, `/runs?event=workflow_dispatch&branch=${encodeURIComponent(branch)}&per_page=20`), runsReply, { permission: permission(gh) }).then((r) => r.workflow_runs);

/** What the dispatch step learned, for the step that follows its run (the next step of the same run, in this process). */
export interface Dispatch {
  /** GitHub's clock when it accepted the dispatch (its `Date` header), or ours minus a minute when it sent none. */
  at: number;
  /** Runs of the workflow on the branch that existed before the dispatch: never the one it started. */
  before: ReadonlySet<number>;
  /** Our clock at the dispatch: the follow timeout counts from here. */
  sentAt: number;
}
const dispatches = new Map<string, Dispatch>();

/** GitHub stamps whole seconds and creates the run just after it answers; this much earlier still counts. */
const CLOCK_SLACK_MS = 5_000;
/** A dispatch whose run has not appeared after this long is reported instead of waited for (GitHub queues runs within seconds, as a rule). */
const APPEAR_MS = 5 * 60_000;

/**
 * The run a dispatch started: GitHub's answer to a dispatch carries no run id, so it is the newest
 * `workflow_dispatch` run of the workflow on the branch created at or after the dispatch that was
 * not there before it (a run someone else started just before is not taken for ours).
 */
export function dispatchedRun(runs: readonly Run[], d: Pick<Dispatch, 'at' | 'before'>): Run | undefined {
  return runs
    .filter((r) => r.event === 'workflow_dispatch' && !d.before.has(r.id) && Date.parse(r.created_at) >= d.at - CLOCK_SLACK_MS)
    .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id)[0];
}

const ICON: Record<string, string> = { success: '✅', failure: '❌', cancelled: '🚫', timed_out: '⌛', skipped: '⏭️', neutral: '➖', action_required: '✋', startup_failure: '❌' };
const jobIcon = (j: Job) => (j.status === 'completed' ? (ICON[j.conclusion ?? ''] ?? '❔') : j.status === 'in_progress' ? '⏳' : '⏸️');
const elapsed = (ms: number) => (ms < 60_000 ? `${Math.floor(ms / 1000)} s` : `${Math.floor(ms / 60_000)} min ${Math.floor((ms % 60_000) / 1000)} s`);
const failedSteps = (j: Job) => (j.steps ?? []).filter((s) => s.conclusion === 'failure').map((s) => `step ${s.number} "${s.name}"`);
const jobLine = (j: Job) => `${jobIcon(j)} ${j.name}${j.status === 'completed' ? ` (${j.conclusion ?? '?'})` : ` (${j.status.replace('_', ' ')})`}`;

export interface FollowOptions {
  pollMs: number;
  /** Our clock's time at which the bot stops following (the run goes on on GitHub). */
  deadline: number;
  progress: (summary: string) => void;
  note: (description: string) => void;
  wait?: (ms: number) => Promise<unknown>;
}

/** Transient trouble while following (no answer, a 5xx) is retried this many times in a row; a refusal is not. */
const TRANSIENT_TRIES = 3;

/** Follows the run a dispatch started until it ends (or the deadline): its conclusion, link, and failed jobs and steps. */
export async function followRun(gh: GitHub, host: Host, branch: string, d: Dispatch, o: FollowOptions): Promise<StepOutcome> {
  const wait = o.wait ?? ((ms: number) => sleep(ms));
  let trouble = 0;
  /** One poll: its answer, or undefined after a transient failure (the loop asks again). */
  const ask = async <T>(what: () => Promise<T>): Promise<T | undefined> => {
    try {
      const value = await what();
      trouble = 0;
      return value;
    } catch (err) {
      const transient = isUserError(err) && (err.code === 'github.unreachable' || (err.code === 'github.error' && /HTTP 5\d\d/.test(err.message)));
      if (!transient || ++trouble >= TRANSIENT_TRIES) throw err;
      return undefined;
    }
  };
  const wf = host.config.parts.githubWorkflow;

  o.note(`GitHub API: GET /repos/${gh.repo}${workflowPath(host, `/runs?event=workflow_dispatch&branch=${branch}`)} until the dispatched run appears`);
  let found: Run | undefined;
  const appearBy = Math.min(o.deadline, d.sentAt + APPEAR_MS);
  for (;;) {
    const runs = await ask(() => dispatchedRuns(gh, host, branch));
    found = runs && dispatchedRun(runs, d);
    if (found || Date.now() >= appearBy) break;
    o.progress(`waiting for GitHub to start the run (${elapsed(Date.now() - d.sentAt)})`);
    await wait(o.pollMs);
  }
  if (!found) {
    return { ok: false, summary: `GitHub accepted the dispatch, but no run of ${wf} on ${branch} appeared within ${elapsed(appearBy - d.sentAt)}: check ${actionsPage(gh)} (GitHub may not have queued it yet)` };
  }

  o.note(`GitHub API: GET /repos/${gh.repo}/actions/runs/${found.id} (and its jobs) every ${o.pollMs / 1000} s until it completes`);
  let current: Run = found;
  let jobs: Job[] = [];
  const readJobs = async () => (await ask(() => get(gh, `/actions/runs/${current.id}/jobs?filter=latest&per_page=100`, jobsReply, { permission: permission(gh) })))?.jobs ?? jobs;
  while (current.status !== 'completed' && Date.now() < o.deadline) {
    if (current.status === 'in_progress') jobs = await readJobs();
    const state = current.status === 'in_progress' ? 'in progress' : (current.status ?? 'queued');
    o.progress(`run #${current.run_number} ${state} (${elapsed(Date.now() - d.sentAt)})${jobs.length > 0 ? `: ${jobs.map(jobLine).join(' · ')}` : ''}`);
    await wait(o.pollMs);
    current = (await ask(() => get(gh, `/actions/runs/${current.id}`, runShape, { permission: permission(gh) }))) ?? current;
  }
  jobs = await readJobs();

  const link = { name: 'Workflow run', value: `[${current.name ?? wf} #${current.run_number} · ${branch}](${current.html_url})\n${current.html_url}` };
  const output = jobs.flatMap((j) => [jobLine(j), ...(j.steps ?? []).map((s) => `    ${s.conclusion === 'failure' ? '✗' : ' '} ${s.number}. ${s.name} (${s.conclusion ?? s.status})`), ...(j.html_url ? [`    log: ${j.html_url}`] : [])]).join('\n');
  const common = { output: output || '(the run reported no jobs)', outputTitle: `jobs of run #${current.run_number}` };
  if (current.status !== 'completed') {
    return { ok: false, summary: `run #${current.run_number} is still ${current.status?.replace('_', ' ') ?? 'unfinished'} after ${elapsed(Date.now() - d.sentAt)}: the bot stopped following it (\`parts.githubWorkflowTimeoutMinutes\`); it goes on on GitHub: ${current.html_url}`, fields: [link], ...common };
  }
  const took = elapsed(Date.now() - d.sentAt);
  if (current.conclusion === 'success') {
    return { ok: true, summary: `run #${current.run_number} concluded success after ${took}: ${jobs.length} job${jobs.length === 1 ? '' : 's'} passed`, fields: [link], ...common };
  }
  const failed = jobs.filter((j) => j.status === 'completed' && j.conclusion !== 'success' && j.conclusion !== 'skipped');
  const failedText = failed.map((j) => `${jobIcon(j)} ${j.html_url ? `[${j.name}](${j.html_url})` : j.name}: ${failedSteps(j).join(', ') || `${j.conclusion ?? 'no conclusion'}, no failed step reported`}`).join('\n');
  const first = failed[0];
  return {
    ok: false,
    summary: `run #${current.run_number} concluded ${current.conclusion ?? 'without a conclusion'} after ${took}${first ? `: job "${first.name}" failed${failedSteps(first)[0] ? ` at ${failedSteps(first)[0]}` : ''}` : ''}`,
    fields: [link, ...(failedText ? [{ name: 'Failed jobs', value: failedText.slice(0, 1024) }] : [])],
    ...common,
  };
}

/** GitHub's 422 for a dispatch, with what to change. */
function dispatchRefused(host: Host, p: Params, said: string): string {
  const wf = host.config.parts.githubWorkflow;
  const fix = /no ref found/i.test(said)
    ? `the branch ${p.branch} does not exist in ${host.config.parts.githubRepo ?? 'the repository'}: pick an existing branch`
    : /unexpected inputs/i.test(said)
      ? `${wf} declares no \`version\` input: add it under \`on: workflow_dispatch: inputs:\``
      : /workflow_dispatch/i.test(said)
        ? `${wf} has no \`on: workflow_dispatch\` trigger: add one`
        : `check ${wf}'s \`workflow_dispatch\` inputs and the branch`;
  return `GitHub refused to dispatch ${wf} on ${p.branch} (HTTP 422: "${said}"): ${fix}. No run was started.`;
}

export const deployWorkflow = defineRunbook({
  id: 'deploy-workflow',
  title: (p: Params) => `Deploy ${p.version} from ${p.branch} (GitHub Actions)`,
  summary: "Dispatch the project's deploy workflow (automation.yml) on GitHub Actions with a branch and a version (confirmed), then follow its run to its conclusion.",
  docs: {
    seedSection: 'Deploy New Version',
    trigger: ['New code pushed to main/develop branch', 'Manual deployment triggered', 'Security patches available'],
    expected: [
      'The workflow (`parts.githubWorkflow`, automation.yml by default) runs on the branch with the version and concludes success; its run is linked',
      'New version deployed successfully, all services running with new version tags',
      'Health checks passing (`/runbook health`)',
    ],
    escalation: [
      'If deployment fails: check the GitHub Actions logs (the failed jobs and steps are linked in the result)',
      'If rollback is needed: `/runbook deploy-workflow` with the previous version, or `/runbook deploy` of a service with its previous tag',
      'If issues persist: contact the DevOps lead',
    ],
  },
  params,
  needs: ['github'],
  // One deploy of the project at a time from this host: two would race for the same services (and their runs be confused).
  target: () => 'github-workflow',
  steps: [
    {
      title: 'Check the workflow is active',
      mutates: false,
      async run({ host, params: p, note }) {
        const gh = githubOf(host);
        const wf = host.config.parts.githubWorkflow;
        note(`GitHub API: GET /repos/${gh.repo}${workflowPath(host)}`);
        const workflow = await get(gh, workflowPath(host), workflowReply, {
          permission: permission(gh),
          notFound: `GitHub knows no workflow ${wf} in ${gh.repo} (HTTP 404): check \`parts.githubWorkflow\` (a file in .github/workflows) and \`parts.githubRepo\`, and that the token in $${gh.tokenEnv} can read the repository. Nothing was sent.`,
        });
        const fields = [{ name: 'Workflow', value: `[${workflow.name} (${workflow.path})](${workflow.html_url})` }];
        if (workflow.state !== 'active') {
          return { ok: false, summary: `${wf} is ${workflow.state.replace(/_/g, ' ')}: enable it on GitHub (Actions → ${workflow.name} → Enable workflow), then start again. Nothing was sent.`, fields };
        }
        note(`GitHub API: GET /repos/${gh.repo}${workflowPath(host, `/runs?event=workflow_dispatch&branch=${p.branch}`)}`);
        const last = (await dispatchedRuns(gh, host, p.branch))[0];
        const lastText = last ? `last dispatched run on ${p.branch}: #${last.run_number} ${last.conclusion ?? last.status ?? ''} (${last.created_at})` : `no dispatched run on ${p.branch} yet`;
        return { ok: true, summary: `"${workflow.name}" (${workflow.path}) is active in ${gh.repo}; ${lastText}`, fields };
      },
    },
    {
      title: 'Dispatch the workflow (workflow_dispatch)',
      mutates: true,
      plan: async ({ host, params: p }) => {
        const gh = githubOf(host);
        return [['POST', repoUrl(gh, workflowPath(host, '/dispatches')), JSON.stringify(dispatchBody(p))]];
      },
      async run(ctx: StepContext<Params>) {
        const { host, params: p } = ctx;
        const gh = githubOf(host);
        const wf = host.config.parts.githubWorkflow;
        // The runs already there, read right before the dispatch: none of them can be the one it starts.
        const before = new Set((await dispatchedRuns(gh, host, p.branch)).map((r) => r.id));
        ctx.note(`GitHub API: POST /repos/${gh.repo}${workflowPath(host, '/dispatches')} ${JSON.stringify(dispatchBody(p))}`);
        const sentAt = Date.now();
        let answer: Awaited<ReturnType<typeof post>>;
        try {
          answer = await post(gh, workflowPath(host, '/dispatches'), dispatchBody(p), {
            permission: permission(gh),
            notFound: `GitHub knows no workflow ${wf} in ${gh.repo} for this token (HTTP 404): check \`parts.githubWorkflow\` and that the token in $${gh.tokenEnv} has access to the repository. No run was started.`,
            unprocessable: (said) => dispatchRefused(host, p, said),
          });
        } catch (err) {
          // Sent but unanswered: GitHub may have started the run. Never sent again by the bot.
          if (isUserError(err) && err.code === 'github.unreachable') {
            throw new UserError('github.dispatch-unknown', `${err.message} The dispatch may have started a run anyway: check ${actionsPage(gh)} before starting again.`, { cause: err });
          }
          throw err;
        }
        dispatches.set(ctx.runId, { at: answer.serverTime ?? sentAt - 60_000, before, sentAt });
        return { ok: true, summary: `GitHub accepted the dispatch (HTTP ${answer.status}): ${wf} on ${p.branch} with version ${p.version}` };
      },
    },
    {
      title: 'Follow the workflow run',
      mutates: false,
      async run({ host, params: p, runId, note, progress }) {
        const gh = githubOf(host);
        const d = dispatches.get(runId);
        if (!d) return { ok: false, summary: `this run's dispatch was made before the bot restarted, so it cannot tell which run it started: see ${actionsPage(gh)}` };
        try {
          const { githubPollSeconds, githubWorkflowTimeoutMinutes } = host.config.parts;
          return await followRun(gh, host, p.branch, d, { pollMs: githubPollSeconds * 1000, deadline: d.sentAt + githubWorkflowTimeoutMinutes * 60_000, progress, note });
        } finally {
          dispatches.delete(runId);
        }
      },
    },
  ],
});
