import { z } from 'zod';
import { defineRunbook } from '../src/engine/runbook.js';
import type { Host } from '../src/host/index.js';
import { serviceName } from './params.js';

const params = z.object({
  service: serviceName.describe('Service that does not start'),
  all: z.boolean().default(false).describe('Prune every image no container uses (docker image prune -a), not only dangling ones'),
});
type Params = z.infer<typeof params>;

const LOG_LINES = 100;

/** Key names of a dotenv text (comments and blank lines skipped); values are never kept. */
export function envKeys(text: string): Map<string, boolean> {
  const keys = new Map<string, boolean>();
  for (const raw of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(raw);
    if (m) keys.set(m[1]!, m[2]!.replace(/^["']|["']$/g, '').trim() !== '');
  }
  return keys;
}

const pruneArgs = (p: Params) => ['docker', 'image', 'prune', ...(p.all ? ['-a'] : []), '-f'];

/** Images a prune would remove, newest first: dangling ones, or with `all` every image no container (running or not) uses. */
async function prunable(host: Host, all: boolean): Promise<string[]> {
  const images = await host.docker.listImages({ all: false });
  const used = new Set((await host.docker.listContainers({ all: true })).map((c) => c.ImageID));
  return images
    .sort((a, b) => b.Created - a.Created)
    .filter((i) => !used.has(i.Id) && (all || (i.RepoTags ?? []).every((t) => t === '<none>:<none>')))
    .map((i) => `${i.Id.replace(/^sha256:/, '').slice(0, 12)} ${(i.RepoTags ?? []).filter((t) => t !== '<none>:<none>').join(', ') || '<none>'} ${(i.Size / 1e6).toFixed(1)} MB`);
}

export const bootstrap = defineRunbook({
  id: 'bootstrap',
  title: (p: Params) => `Bootstrap troubleshooting: ${p.service}`,
  summary: "A service's logs, required .env keys (names only), disk space; then (four-eyes) prune unused images and pull fresh ones.",
  docs: {
    seedSection: 'Container Bootstrap Troubleshooting',
    trigger: ['Containers in crash loop', 'Permission denied errors', 'Missing environment variables'],
    expected: ['Containers running successfully', 'All dependencies resolved', 'Documentation updated'],
    escalation: ['For image issues: contact the image maintainer', 'For VPS issues (disk, permissions): contact the cloud provider'],
  },
  params,
  serviceParams: ['service'],
  target: (p) => `service:${p.service}`,
  // Pruning removes images for good; a second person looks at the list first.
  fourEyes: true,
  steps: [
    {
      title: `Last ${LOG_LINES} log lines`,
      mutates: false,
      async run({ params: p, compose }) {
        const res = await compose(['logs', '--no-color', `--tail=${LOG_LINES}`, p.service]);
        const out = res.stdout.trimEnd();
        return { ok: res.exitCode === 0, summary: res.exitCode === 0 ? `${out.split('\n').filter(Boolean).length} lines` : `compose logs exited ${res.exitCode ?? 'without a code'}`, output: out || res.stderr.trim() || '(no log lines)', outputTitle: `${p.service}: last ${LOG_LINES} log lines` };
      },
    },
    {
      title: 'Required .env keys',
      mutates: false,
      async run({ exec }) {
        // Names only: the values are read to tell empty from set, never kept or shown.
        const example = await exec(['cat', '.env.example']);
        if (example.exitCode !== 0) return { ok: true, summary: 'skipped: the project has no .env.example naming the required keys' };
        const env = await exec(['cat', '.env']);
        if (env.exitCode !== 0) return { ok: false, summary: '.env is missing or unreadable: every required key is missing' };
        const required = [...envKeys(example.stdout).keys()];
        const present = envKeys(env.stdout);
        const missing = required.filter((k) => !present.has(k));
        const empty = required.filter((k) => present.get(k) === false);
        const ok = missing.length === 0 && empty.length === 0;
        // A finding to fix in .env, not a reason to stop: pruning and pulling still help.
        return {
          ok: true,
          summary: ok ? `all ${required.length} keys of .env.example are set` : `⚠️ ${[missing.length > 0 ? `missing: ${missing.join(', ')}` : '', empty.length > 0 ? `empty: ${empty.join(', ')}` : ''].filter(Boolean).join('; ')}`,
          fields: [{ name: 'Keys checked', value: String(required.length), inline: true }],
        };
      },
    },
    {
      title: 'Disk space',
      mutates: false,
      async run({ exec }) {
        const df = await exec(['df', '-h', '.']);
        const sys = await exec(['docker', 'system', 'df']);
        const use = /(\d+)%/.exec(df.stdout.split('\n')[1] ?? '')?.[1];
        return {
          ok: df.exitCode === 0 && sys.exitCode === 0,
          summary: `${use ? `project filesystem ${use}% used` : 'df gave no usage'}${Number(use) >= 90 ? ' ⚠️' : ''}`,
          output: `$ df -h .\n${df.stdout.trim()}\n\n$ docker system df\n${sys.stdout.trim()}`,
          outputTitle: 'df -h, docker system df',
        };
      },
    },
    {
      title: 'What a prune would remove',
      mutates: false,
      async run({ host, params: p, note }) {
        note(`docker API: images${p.all ? '' : ' (dangling)'} not used by any container`);
        const list = await prunable(host, p.all);
        return { ok: true, summary: list.length === 0 ? 'nothing: no unused image' : `${list.length} image${list.length === 1 ? '' : 's'}: ${list.map((l) => l.split(' ').slice(0, 2).join(' ')).join(', ').slice(0, 300)}`, output: list.join('\n') || '(none)', outputTitle: 'images a prune would remove' };
      },
    },
    {
      title: 'Prune unused images',
      mutates: true,
      plan: async ({ params: p }) => [pruneArgs(p)],
      async run({ params: p, exec }) {
        const res = await exec(pruneArgs(p), { timeoutMs: 600_000 });
        const out = (res.stdout + res.stderr).trim();
        return { ok: res.exitCode === 0, summary: res.exitCode === 0 ? (/Total reclaimed space: .*/.exec(out)?.[0] ?? 'pruned') : `exit code ${res.exitCode ?? 'none'}`, output: out || '(no output)', outputTitle: 'docker image prune' };
      },
    },
    {
      title: 'Pull fresh images',
      mutates: true,
      plan: async ({ host, params: p }) => [await host.composeArgv(['pull', p.service])],
      async run({ params: p, compose }) {
        const res = await compose(['pull', p.service], { timeoutMs: 600_000 });
        const out = (res.stdout + res.stderr).trim();
        return { ok: res.exitCode === 0, summary: res.exitCode === 0 ? `pulled ${p.service}'s image` : `compose pull exited ${res.exitCode ?? 'without a code'}`, output: out || '(no output)', outputTitle: 'compose pull' };
      },
    },
  ],
});
