/**
 * A small local fake of the GitHub REST routes test-failure reads, on 127.0.0.1 with a free port,
 * answering in the shapes GitHub documents (docs.github.com/en/rest/actions/workflow-runs,
 * …/workflow-jobs, …/artifacts; trimmed to the fields that matter). It checks the headers a real
 * client must send (Bearer token, API version) and answers 401 like GitHub for a wrong token.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitHubFake {
  url: string;
  /** Every request: method, path with query, and whether its token was right. */
  requests: { method: string; path: string; authorized: boolean }[];
  close(): Promise<void>;
}

const SHA = 'f83a356604ae3c5d03e1b46ef4d1ca77d64a90b0';

export async function startGitHubFake(opts: { repo: string; token: string }): Promise<GitHubFake> {
  // Listening first: the documents below carry the fake's own URLs, as GitHub's carry api.github.com.
  const server = createServer((req, res) => {
    const [status, body] = route(req);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const api = () => `http://127.0.0.1:${port}`;
  const web = `https://github.com/${opts.repo}`;
  const runs = [
    { id: 30433642, name: 'CI', display_title: 'Add tutoring sessions API', run_number: 562, head_branch: 'main', head_sha: SHA, event: 'push', status: 'completed', conclusion: 'failure', workflow_id: 159038, run_attempt: 1, html_url: `${web}/actions/runs/30433642`, created_at: '2026-11-29T20:10:00Z', updated_at: '2026-11-29T20:18:00Z' },
    { id: 30433600, name: 'E2E', display_title: 'Fix login redirect', run_number: 88, head_branch: 'develop', head_sha: SHA, event: 'pull_request', status: 'completed', conclusion: 'failure', workflow_id: 159040, run_attempt: 2, html_url: `${web}/actions/runs/30433600`, created_at: '2026-11-29T18:00:00Z', updated_at: '2026-11-29T18:09:00Z' },
  ].map((r) => ({ ...r, url: `${api()}/repos/${opts.repo}/actions/runs/${r.id}`, jobs_url: `${api()}/repos/${opts.repo}/actions/runs/${r.id}/jobs`, logs_url: `${api()}/repos/${opts.repo}/actions/runs/${r.id}/logs`, artifacts_url: `${api()}/repos/${opts.repo}/actions/runs/${r.id}/artifacts` }));
  const step = (number: number, name: string, conclusion: string) => ({ name, status: 'completed', conclusion, number, started_at: '2026-11-29T20:11:00Z', completed_at: '2026-11-29T20:12:00Z' });
  const jobs: Record<number, unknown[]> = {
    30433642: [
      { id: 399444496, run_id: 30433642, name: 'backend (japa)', status: 'completed', conclusion: 'failure', html_url: `${web}/actions/runs/30433642/job/399444496`, steps: [step(1, 'Set up job', 'success'), step(2, 'pnpm install', 'success'), step(3, 'pnpm test:ci', 'failure'), step(4, 'Upload coverage', 'skipped')] },
      { id: 399444497, run_id: 30433642, name: 'lint', status: 'completed', conclusion: 'success', html_url: `${web}/actions/runs/30433642/job/399444497`, steps: [step(1, 'Set up job', 'success')] },
    ],
    30433600: [{ id: 399444100, run_id: 30433600, name: 'frontend (cypress)', status: 'completed', conclusion: 'failure', html_url: `${web}/actions/runs/30433600/job/399444100`, steps: [step(1, 'Set up job', 'success'), step(2, 'pnpm test:e2e', 'failure')] }],
  };
  const artifacts: Record<number, unknown[]> = {
    30433642: [{ id: 11, node_id: 'MDg6QXJ0aWZhY3QxMQ==', name: 'coverage', size_in_bytes: 556032, url: `${api()}/repos/${opts.repo}/actions/artifacts/11`, archive_download_url: `${api()}/repos/${opts.repo}/actions/artifacts/11/zip`, expired: false, created_at: '2026-11-29T20:18:00Z', expires_at: '2027-02-27T20:18:00Z' }],
    30433600: [{ id: 12, node_id: 'MDg6QXJ0aWZhY3QxMg==', name: 'cypress-screenshots', size_in_bytes: 1048576, url: `${api()}/repos/${opts.repo}/actions/artifacts/12`, archive_download_url: `${api()}/repos/${opts.repo}/actions/artifacts/12/zip`, expired: false, created_at: '2026-11-29T18:09:00Z', expires_at: '2027-02-27T18:09:00Z' }],
  };

  const requests: GitHubFake['requests'] = [];
  const route = (req: IncomingMessage): [number, unknown] => {
    const u = new URL(req.url ?? '/', 'http://x');
    const authorized = req.headers.authorization === `Bearer ${opts.token}` && req.headers['x-github-api-version'] === '2022-11-28';
    requests.push({ method: req.method ?? '', path: `${u.pathname}${u.search}`, authorized });
    if (!authorized) return [401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' }];
    const base = `/repos/${opts.repo}/actions/runs`;
    if (req.method === 'GET' && u.pathname === base) {
      const list = runs.filter((r) => (u.searchParams.get('status') ?? r.conclusion) === r.conclusion && (u.searchParams.get('branch') ?? r.head_branch) === r.head_branch);
      const per = Number(u.searchParams.get('per_page') ?? 30);
      return [200, { total_count: list.length, workflow_runs: list.slice(0, per) }];
    }
    const m = /^\/repos\/[^/]+\/[^/]+\/actions\/runs\/(\d+)\/(jobs|artifacts)$/.exec(u.pathname);
    if (req.method === 'GET' && m && u.pathname.startsWith(base)) {
      const id = Number(m[1]);
      const list = (m[2] === 'jobs' ? jobs : artifacts)[id];
      if (!list) return [404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' }];
      return [200, m[2] === 'jobs' ? { total_count: list.length, jobs: list } : { total_count: list.length, artifacts: list }];
    }
    return [404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' }];
  };
  return {
    url: api(),
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
