import { z } from 'zod';
import { defineRunbook } from '../src/engine/runbook.js';
import { get, github, type GitHub } from './github.js';
import { plural } from './on-host.js';

const params = z.object({
  runs: z.number().int().min(1).max(5).default(3).describe('How many of the latest failed runs to read (1–5, default 3)'),
  branch: z.string().regex(/^[A-Za-z0-9._/-]{1,100}$/, 'must be a branch name').optional().describe('Only runs of this branch'),
});
type Params = z.infer<typeof params>;

/** The seed's "Examine Test Output" / "Reproduce Locally" / "Check Test Artifacts", for a host with no GitHub token or repo. */
export const CHECKLIST = [
  "1. GitHub → the repository's Actions tab → the failed workflow run → the failed test job: read its output and artifacts.",
  '2. Reproduce locally: backend `cd backend && pnpm install && pnpm test:ci`; frontend E2E `cd frontend && pnpm install && pnpm test:e2e`.',
  '3. Download the screenshots/videos from the run\'s artifacts; review the coverage reports.',
  'Rollback (in the repository, not on the host): `git checkout -- test/`, `git revert HEAD`, or check out the last commit whose tests passed.',
].join('\n');

const run = z.looseObject({ id: z.number(), name: z.string().nullable().optional(), display_title: z.string().optional(), run_number: z.number(), head_branch: z.string().nullable(), head_sha: z.string(), event: z.string(), conclusion: z.string().nullable(), html_url: z.string(), created_at: z.string() });
const runsReply = z.looseObject({ total_count: z.number(), workflow_runs: z.array(run) });
const step = z.looseObject({ name: z.string(), number: z.number(), conclusion: z.string().nullable() });
const jobsReply = z.looseObject({ total_count: z.number(), jobs: z.array(z.looseObject({ id: z.number(), name: z.string(), conclusion: z.string().nullable(), html_url: z.string().nullable(), steps: z.array(step).optional() })) });
const artifactsReply = z.looseObject({ total_count: z.number(), artifacts: z.array(z.looseObject({ id: z.number(), name: z.string(), size_in_bytes: z.number(), expired: z.boolean(), archive_download_url: z.string() })) });

const failedRuns = (gh: GitHub, p: Params) => get(gh, `/actions/runs?status=failure&per_page=${p.runs}${p.branch ? `&branch=${encodeURIComponent(p.branch)}` : ''}`, runsReply).then((r) => r.workflow_runs.slice(0, p.runs));

const runLine = (r: z.infer<typeof run>) => `#${r.run_number} ${r.name ?? 'workflow'} — ${r.display_title ?? ''} (${r.head_branch ?? '?'} @ ${r.head_sha.slice(0, 7)}, ${r.event}, ${r.created_at})`;

export const testFailure = defineRunbook({
  id: 'test-failure',
  title: 'Test failure analysis',
  summary: "The latest failed GitHub Actions runs, their failed jobs and steps, links to logs and artifacts; without a GitHub token, the seed's checklist.",
  docs: {
    seedSection: 'Test Failure Analysis',
    trigger: ['Japa or Cypress test failures in GitHub Actions', 'Inconsistent test results', 'Test timeouts or flaky tests'],
    expected: ['Root cause of the test failure identified', 'Tests passing consistently', 'Documentation updated if needed'],
    escalation: ['For flaky tests: create an issue with the `flaky-test` label', 'For environment issues: notify DevOps'],
  },
  params,
  steps: [
    {
      title: 'Latest failed workflow runs',
      mutates: false,
      async run(ctx) {
        const gh = github(ctx.host);
        if (gh === null) return { ok: true, summary: `no GitHub repository and token configured for ${ctx.host.name} (parts.githubRepo, $${ctx.host.config.parts.githubTokenEnv}): the seed's checklist`, output: CHECKLIST, outputTitle: 'test failure checklist' };
        ctx.note(`GitHub API: GET /repos/${gh.repo}/actions/runs?status=failure`);
        const runs = await failedRuns(gh, ctx.params);
        if (runs.length === 0) return { ok: true, summary: `no failed runs in ${gh.repo}${ctx.params.branch ? ` on ${ctx.params.branch}` : ''}` };
        return {
          ok: true,
          summary: `${plural(runs.length, 'failed run')} in ${gh.repo}, newest: #${runs[0]?.run_number} ${runs[0]?.name ?? ''}`,
          fields: [{ name: 'Runs', value: runs.map((r) => `[${runLine(r)}](${r.html_url})`).join('\n').slice(0, 1024) }],
        };
      },
    },
    {
      title: 'Failed jobs and steps, with their logs',
      mutates: false,
      async run(ctx) {
        const gh = github(ctx.host);
        if (gh === null) return { ok: true, summary: 'skipped (no GitHub token): see the checklist above' };
        const lines: string[] = [];
        let failedJobs = 0;
        for (const r of await failedRuns(gh, ctx.params)) {
          ctx.note(`GitHub API: GET /repos/${gh.repo}/actions/runs/${r.id}/jobs`);
          const jobs = (await get(gh, `/actions/runs/${r.id}/jobs?filter=latest&per_page=100`, jobsReply)).jobs.filter((j) => j.conclusion === 'failure');
          failedJobs += jobs.length;
          lines.push(runLine(r));
          for (const j of jobs) {
            const steps = (j.steps ?? []).filter((s) => s.conclusion === 'failure').map((s) => `step ${s.number} "${s.name}"`);
            lines.push(`  ✗ ${j.name}: ${steps.join(', ') || 'no failed step reported'}`, `    log: ${j.html_url ?? `${r.html_url}/job/${j.id}`}`);
          }
          if (jobs.length === 0) lines.push('  (no failed job in its latest attempt)');
        }
        return { ok: true, summary: plural(failedJobs, 'failed job'), output: lines.join('\n'), outputTitle: 'failed jobs and steps' };
      },
    },
    {
      title: 'Artifacts (screenshots, videos, coverage)',
      mutates: false,
      async run(ctx) {
        const gh = github(ctx.host);
        if (gh === null) return { ok: true, summary: 'skipped (no GitHub token)' };
        const lines: string[] = [];
        let count = 0;
        for (const r of await failedRuns(gh, ctx.params)) {
          ctx.note(`GitHub API: GET /repos/${gh.repo}/actions/runs/${r.id}/artifacts`);
          const artifacts = (await get(gh, `/actions/runs/${r.id}/artifacts?per_page=100`, artifactsReply)).artifacts;
          count += artifacts.length;
          lines.push(`#${r.run_number} ${r.name ?? ''}: ${artifacts.length === 0 ? 'no artifacts' : `${r.html_url}#artifacts`}`);
          for (const a of artifacts) lines.push(`  ${a.name} (${(a.size_in_bytes / 1024).toFixed(0)} KiB${a.expired ? ', expired' : ''}) ${a.expired ? '' : a.archive_download_url}`.trimEnd());
        }
        return { ok: true, summary: plural(count, 'artifact'), output: lines.join('\n'), outputTitle: 'artifacts of the failed runs' };
      },
    },
  ],
});
