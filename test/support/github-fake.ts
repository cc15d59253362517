/**
 * A small local fake of the GitHub REST routes test-failure reads and deploy-workflow drives, on
 * 127.0.0.1 with a free port, answering in the shapes GitHub documents
 * (docs.github.com/en/rest/actions/workflow-runs, …/workflows, …/workflow-jobs, …/artifacts;
 * trimmed to the fields that matter). It checks the headers a real client must send (Bearer
 * token, API version) and answers 401 like GitHub for a wrong token. A dispatch answers 204 with
 * no body, as GitHub's does, and its run appears a moment later (`runDelayMs`), queued; the test
 * moves it on (`setRun`) to in_progress and to completed with success or failure.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeWorkflow {
  id: number;
  name: string;
  path: string;
  state: 'active' | 'disabled_manually' | 'disabled_inactivity';
  /** The inputs its `on: workflow_dispatch` declares (all required here); null: it has no such trigger. */
  inputs: string[] | null;
}

export interface GitHubFake {
  url: string;
  /** Every request: method, path with query, whether its token was right, and its body (POSTs). */
  requests: { method: string; path: string; authorized: boolean; body?: unknown }[];
  /** Every dispatch GitHub accepted, with the id of the run it started once that exists. */
  dispatches: { workflow: string; body: { ref: string; inputs: Record<string, string> }; runId: number | undefined }[];
  /** The repository's workflows by file name (change `state` or `inputs` to make GitHub refuse). */
  workflows: Map<string, FakeWorkflow>;
  /** Moves a dispatched run on: in_progress (first job done, second running), or completed with a conclusion. */
  setRun(id: number, status: 'in_progress' | 'completed', conclusion?: 'success' | 'failure'): void;
  close(): Promise<void>;
}

const SHA = 'f83a356604ae3c5d03e1b46ef4d1ca77d64a90b0';

export async function startGitHubFake(opts: { repo: string; token: string; branches?: string[]; runDelayMs?: number }): Promise<GitHubFake> {
  // Listening first: the documents below carry the fake's own URLs, as GitHub's carry api.github.com.
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const [status, body] = route(req, Buffer.concat(chunks).toString('utf8'));
      if (status === 204) return void res.writeHead(204).end();
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const api = () => `http://127.0.0.1:${port}`;
  const web = `https://github.com/${opts.repo}`;
  const withUrls = (r: { id: number } & Record<string, unknown>) => ({ ...r, url: `${api()}/repos/${opts.repo}/actions/runs/${r.id}`, jobs_url: `${api()}/repos/${opts.repo}/actions/runs/${r.id}/jobs`, logs_url: `${api()}/repos/${opts.repo}/actions/runs/${r.id}/logs`, artifacts_url: `${api()}/repos/${opts.repo}/actions/runs/${r.id}/artifacts` });
  const runs: Record<string, unknown>[] = [
    { id: 30433642, name: 'CI', display_title: 'Add tutoring sessions API', run_number: 562, head_branch: 'main', head_sha: SHA, event: 'push', status: 'completed', conclusion: 'failure', workflow_id: 159038, run_attempt: 1, html_url: `${web}/actions/runs/30433642`, created_at: '2026-11-29T20:10:00Z', updated_at: '2026-11-29T20:18:00Z' },
    { id: 30433600, name: 'E2E', display_title: 'Fix login redirect', run_number: 88, head_branch: 'develop', head_sha: SHA, event: 'pull_request', status: 'completed', conclusion: 'failure', workflow_id: 159040, run_attempt: 2, html_url: `${web}/actions/runs/30433600`, created_at: '2026-11-29T18:00:00Z', updated_at: '2026-11-29T18:09:00Z' },
    // Yesterday's deploy: a workflow_dispatch run of automation.yml on main that a new dispatch must not be taken for.
    { id: 30400001, name: 'Automation', display_title: 'Automation', run_number: 56, head_branch: 'main', head_sha: SHA, event: 'workflow_dispatch', status: 'completed', conclusion: 'success', workflow_id: 159050, run_attempt: 1, html_url: `${web}/actions/runs/30400001`, created_at: '2026-11-28T09:00:00Z', updated_at: '2026-11-28T09:06:00Z' },
  ].map((r) => withUrls(r));
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

  const workflows: GitHubFake['workflows'] = new Map([
    ['ci.yml', { id: 159038, name: 'CI', path: '.github/workflows/ci.yml', state: 'active', inputs: null }],
    ['automation.yml', { id: 159050, name: 'Automation', path: '.github/workflows/automation.yml', state: 'active', inputs: ['version'] }],
  ]);
  const branches = new Set(opts.branches ?? ['main', 'develop']);
  const dispatches: GitHubFake['dispatches'] = [];
  const timers = new Set<NodeJS.Timeout>();
  /** GitHub stamps whole seconds. */
  const stamp = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const workflowOf = (key: string) => [...workflows.entries()].find(([file, w]) => file === key || String(w.id) === key);

  // A dispatched run's jobs follow its state: build, then deploy (whose step 3 fails when the run fails).
  const dispatchJobs = (run: Record<string, unknown>) => {
    const id = run.id as number;
    const url = (n: number) => `${web}/actions/runs/${id}/job/${id * 10 + n}`;
    const s = (number: number, name: string, status: string, conclusion: string | null) => ({ name, status, conclusion, number });
    const build = (done: boolean) => ({ id: id * 10 + 1, run_id: id, name: 'build', status: done ? 'completed' : 'queued', conclusion: done ? 'success' : null, html_url: url(1), steps: done ? [s(1, 'Set up job', 'completed', 'success'), s(2, 'docker build and push', 'completed', 'success')] : [] });
    const deploy = (state: 'queued' | 'in_progress' | 'success' | 'failure') => ({
      id: id * 10 + 2,
      run_id: id,
      name: 'deploy',
      status: state === 'queued' || state === 'in_progress' ? state : 'completed',
      conclusion: state === 'success' || state === 'failure' ? state : null,
      html_url: url(2),
      steps:
        state === 'queued'
          ? []
          : state === 'in_progress'
            ? [s(1, 'Set up job', 'completed', 'success'), s(2, 'ssh production', 'in_progress', null)]
            : [s(1, 'Set up job', 'completed', 'success'), s(2, 'ssh production', 'completed', 'success'), s(3, 'docker compose up -d', 'completed', state), s(4, 'Smoke tests', 'completed', state === 'success' ? 'success' : 'skipped')],
    });
    if (run.status === 'queued') return [build(false), deploy('queued')];
    if (run.status === 'in_progress') return [build(true), deploy('in_progress')];
    return [build(true), deploy(run.conclusion === 'success' ? 'success' : 'failure')];
  };

  const dispatch = (file: string, w: FakeWorkflow, raw: string): [number, unknown] => {
    let body: { ref?: unknown; inputs?: unknown };
    try {
      body = JSON.parse(raw) as typeof body;
    } catch {
      return [400, { message: 'Problems parsing JSON', documentation_url: 'https://docs.github.com/rest', status: '400' }];
    }
    const unprocessable = (message: string): [number, unknown] => [422, { message, documentation_url: 'https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event', status: '422' }];
    if (typeof body.ref !== 'string') return unprocessable('Invalid request.\n\n"ref" wasn\'t supplied.');
    if (w.inputs === null) return unprocessable("Workflow does not have 'workflow_dispatch' trigger");
    if (!branches.has(body.ref)) return unprocessable(`No ref found for: ${body.ref}`);
    const inputs = (body.inputs ?? {}) as Record<string, string>;
    const unexpected = Object.keys(inputs).filter((k) => !w.inputs?.includes(k));
    if (unexpected.length > 0) return unprocessable(`Unexpected inputs provided: ${JSON.stringify(unexpected)}`);
    const missing = w.inputs.filter((k) => !(k in inputs));
    if (missing.length > 0) return unprocessable(`Required input '${missing[0] ?? ''}' not provided`);
    const record: GitHubFake['dispatches'][number] = { workflow: file, body: { ref: body.ref, inputs }, runId: undefined };
    dispatches.push(record);
    // GitHub answers at once and queues the run a moment later.
    const ref = body.ref;
    const timer = setTimeout(() => {
      timers.delete(timer);
      // Ids above 30500000: runs this fake started, whose jobs follow their state.
      const id = 30500000 + dispatches.indexOf(record) + 1;
      const number = 1 + Math.max(...runs.filter((r) => r.workflow_id === w.id).map((r) => r.run_number as number), 0);
      runs.unshift(withUrls({ id, name: w.name, display_title: w.name, run_number: number, head_branch: ref, head_sha: SHA, event: 'workflow_dispatch', status: 'queued', conclusion: null, workflow_id: w.id, run_attempt: 1, html_url: `${web}/actions/runs/${id}`, created_at: stamp(), updated_at: stamp() }));
      record.runId = id;
    }, opts.runDelayMs ?? 1500);
    timers.add(timer);
    return [204, null];
  };

  const requests: GitHubFake['requests'] = [];
  const notFound: [number, unknown] = [404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' }];
  const route = (req: IncomingMessage, raw: string): [number, unknown] => {
    const u = new URL(req.url ?? '/', 'http://x');
    const authorized = req.headers.authorization === `Bearer ${opts.token}` && req.headers['x-github-api-version'] === '2022-11-28';
    requests.push({ method: req.method ?? '', path: `${u.pathname}${u.search}`, authorized, ...(raw ? { body: JSON.parse(raw) as unknown } : {}) });
    if (!authorized) return [401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' }];
    const actions = `/repos/${opts.repo}/actions`;
    const base = `${actions}/runs`;
    const page = (list: Record<string, unknown>[]) => {
      const per = Number(u.searchParams.get('per_page') ?? 30);
      return [200, { total_count: list.length, workflow_runs: list.slice(0, per) }] as [number, unknown];
    };
    const matches = (r: Record<string, unknown>) =>
      (u.searchParams.get('status') ?? r.conclusion) === r.conclusion && (u.searchParams.get('branch') ?? r.head_branch) === r.head_branch && (u.searchParams.get('event') ?? r.event) === r.event;
    if (req.method === 'GET' && u.pathname === base) return page(runs.filter(matches));

    const wf = new RegExp(`^${actions}/workflows/([^/]+)(/runs|/dispatches)?$`).exec(u.pathname);
    if (wf) {
      const found = workflowOf(decodeURIComponent(wf[1] ?? ''));
      if (!found) return notFound;
      const [file, w] = found;
      if (req.method === 'GET' && wf[2] === undefined) return [200, { id: w.id, node_id: `W_${w.id}`, name: w.name, path: w.path, state: w.state, created_at: '2026-01-10T10:00:00Z', updated_at: '2026-11-01T10:00:00Z', url: `${api()}${actions}/workflows/${w.id}`, html_url: `${web}/actions/workflows/${file}`, badge_url: `${web}/workflows/${w.name}/badge.svg` }];
      if (req.method === 'GET' && wf[2] === '/runs') return page(runs.filter((r) => r.workflow_id === w.id && matches(r)));
      if (req.method === 'POST' && wf[2] === '/dispatches') return dispatch(file, w, raw);
      return notFound;
    }

    const one = new RegExp(`^${base}/(\\d+)$`).exec(u.pathname);
    if (req.method === 'GET' && one) return runs.find((r) => r.id === Number(one[1])) ? [200, runs.find((r) => r.id === Number(one[1]))] : notFound;

    const m = /^\/repos\/[^/]+\/[^/]+\/actions\/runs\/(\d+)\/(jobs|artifacts)$/.exec(u.pathname);
    if (req.method === 'GET' && m && u.pathname.startsWith(base)) {
      const id = Number(m[1]);
      const dispatched = id > 30500000 ? runs.find((r) => r.id === id) : undefined;
      const list = dispatched ? (m[2] === 'jobs' ? dispatchJobs(dispatched) : []) : (m[2] === 'jobs' ? jobs : artifacts)[id];
      if (!list) return notFound;
      return [200, m[2] === 'jobs' ? { total_count: list.length, jobs: list } : { total_count: list.length, artifacts: list }];
    }
    return notFound;
  };
  return {
    url: api(),
    requests,
    dispatches,
    workflows,
    setRun(id, status, conclusion) {
      const run = runs.find((r) => r.id === id);
      if (!run) throw new Error(`no run ${id} in the GitHub fake`);
      Object.assign(run, { status, conclusion: status === 'completed' ? (conclusion ?? 'success') : null, updated_at: stamp() });
    },
    close: () => {
      for (const t of timers) clearTimeout(t);
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
