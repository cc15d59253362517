import { z } from 'zod';
import { defineRunbook } from '../src/engine/runbook.js';
import { getJsonOnHost, joinUrl, plural } from './on-host.js';

const params = z.object({});

/** Names in a .env file, in order, whether or not they have a value (values are never kept). */
export function envKeys(text: string): string[] {
  const keys: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=/.exec(line);
    if (m?.[1] && !keys.includes(m[1])) keys.push(m[1]);
  }
  return keys;
}

/** What the seed greps for (`PASSWORD\|SECRET\|KEY\|TOKEN`), and the usual other spellings. */
const SECRET_NAME = /PASSWORD|PASSWD|SECRET|KEY|TOKEN|CREDENTIAL|PRIVATE|SALT|DSN|AUTH/i;

/** Keys of .env.example that hold a value there, for secret-looking names only: a committed file should hold placeholders. */
function filledSecretKeys(example: string): string[] {
  return example
    .split(/\r?\n/)
    .map((l) => /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && SECRET_NAME.test(m[1] ?? '') && !/^(["']?)(|changeme|change-me|change_me|xxx+|<.*>|\$\{.*\})\1\s*(#.*)?$/i.test((m[2] ?? '').trim()))
    .map((m) => m[1] ?? '');
}

export interface EnvDrift {
  missing: string[];
  extra: string[];
  secretKeys: string[];
  filledInExample: string[];
}

/** The drift between the two files by key name only. */
export function envDrift(env: string, example: string): EnvDrift {
  const have = envKeys(env);
  const want = envKeys(example);
  return {
    missing: want.filter((k) => !have.includes(k)),
    extra: have.filter((k) => !want.includes(k)),
    secretKeys: have.filter((k) => SECRET_NAME.test(k)),
    filledInExample: filledSecretKeys(example),
  };
}

const router = z.looseObject({ name: z.string(), rule: z.string().optional(), service: z.string().optional(), status: z.string().optional(), middlewares: z.array(z.string()).optional(), error: z.array(z.string()).optional() });
const service = z.looseObject({
  name: z.string(),
  status: z.string().optional(),
  type: z.string().optional(),
  loadBalancer: z.looseObject({ servers: z.array(z.looseObject({ url: z.string().optional() })).optional() }).optional(),
  serverStatus: z.record(z.string(), z.string()).optional(),
});
const middleware = z.looseObject({ name: z.string(), status: z.string().optional(), type: z.string().optional(), usedBy: z.array(z.string()).optional() });

/** `name@provider` → name: a router names its service without the provider when both share it. */
const bare = (name: string) => name.replace(/@.*$/, '');

export function traefikReport(routers: z.infer<typeof router>[], services: z.infer<typeof service>[], middlewares: z.infer<typeof middleware>[]): { problems: string[]; text: string } {
  const problems: string[] = [];
  const serviceNames = new Set(services.flatMap((s) => [s.name, bare(s.name)]));
  const middlewareNames = new Set(middlewares.flatMap((m) => [m.name, bare(m.name)]));
  const lines = ['ROUTERS'];
  for (const r of routers) {
    lines.push(`  ${r.name}  ${r.rule ?? ''} → ${r.service ?? '?'}${r.middlewares?.length ? ` via ${r.middlewares.join(', ')}` : ''} [${r.status ?? '?'}]`);
    if (r.status !== undefined && r.status !== 'enabled') problems.push(`router ${r.name} is ${r.status}${r.error?.length ? `: ${r.error.join('; ')}` : ''}`);
    if (r.service !== undefined && !serviceNames.has(r.service) && !serviceNames.has(bare(r.service))) problems.push(`router ${r.name} points at service ${r.service}, which Traefik does not have`);
    for (const m of r.middlewares ?? []) if (!middlewareNames.has(m) && !middlewareNames.has(bare(m))) problems.push(`router ${r.name} uses middleware ${m}, which Traefik does not have`);
  }
  lines.push('SERVICES');
  for (const s of services) {
    const servers = s.loadBalancer?.servers?.map((x) => x.url ?? '?') ?? [];
    lines.push(`  ${s.name}  ${servers.join(', ') || s.type || ''} [${s.status ?? '?'}]`);
    if (s.status !== undefined && s.status !== 'enabled') problems.push(`service ${s.name} is ${s.status}`);
    for (const [url, state] of Object.entries(s.serverStatus ?? {})) if (state !== 'UP') problems.push(`service ${s.name}: server ${url} is ${state}`);
  }
  lines.push('MIDDLEWARES');
  for (const m of middlewares) lines.push(`  ${m.name}  ${m.type ?? ''} [${m.status ?? '?'}]${m.usedBy?.length ? ` used by ${m.usedBy.join(', ')}` : ''}`);
  if (middlewares.length === 0) lines.push('  (none)');
  return { problems, text: lines.join('\n') };
}

const op = z.looseObject({
  opid: z.unknown().optional(),
  active: z.boolean().optional(),
  op: z.string().optional(),
  ns: z.string().optional(),
  client: z.string().optional(),
  desc: z.string().optional(),
  secs_running: z.unknown().optional(),
  waitingForLock: z.boolean().optional(),
});
const currentOpReply = z.looseObject({ inprog: z.array(op) });

/** EJSON relaxed prints small longs as numbers, canonical as {"$numberLong": "n"}. */
const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'object' && v !== null && '$numberLong' in v ? Number((v as { $numberLong: string }).$numberLong) : typeof v === 'object' && v !== null && '$numberInt' in v ? Number((v as { $numberInt: string }).$numberInt) : 0);

/** `db.currentOp()` summarised: counts by kind and by client, the longest running, waits for locks; never the commands' contents. */
export function currentOpSummary(json: unknown): { summary: string; text: string; long: number } {
  const ops = currentOpReply.parse(json).inprog;
  const active = ops.filter((o) => o.active === true);
  const count = (key: (o: z.infer<typeof op>) => string) => {
    const m = new Map<string, number>();
    for (const o of ops) m.set(key(o), (m.get(key(o)) ?? 0) + 1);
    return [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`);
  };
  const longest = [...active].sort((a, b) => num(b.secs_running) - num(a.secs_running)).slice(0, 5);
  const waiting = ops.filter((o) => o.waitingForLock === true).length;
  const long = active.filter((o) => num(o.secs_running) >= 60).length;
  const text = [
    `operations: ${ops.length} (${active.length} active, ${waiting} waiting for a lock)`,
    `by kind: ${count((o) => o.op ?? 'none').join(', ') || '—'}`,
    `by client: ${count((o) => (o.client ?? o.desc ?? 'internal').replace(/:\d+$/, '')).join(', ') || '—'}`,
    'longest running:',
    ...longest.map((o) => `  ${num(o.secs_running)} s  ${o.op ?? '?'} ${o.ns ?? ''} (${o.desc ?? o.client ?? ''})`),
  ].join('\n');
  const summary = `${plural(ops.length, 'operation')}, ${active.length} active${waiting ? `, ⚠️ ${waiting} waiting for a lock` : ''}${long ? `, ⚠️ ${long} running ≥ 60 s` : ''}`;
  return { summary, text, long };
}

/** mongosh prints the one script's JSON; the guard allows exactly this script. */
const CURRENT_OP = ['mongosh', '--quiet', '--eval', 'EJSON.stringify(db.currentOp())'];

export const configDrift = defineRunbook({
  id: 'config-drift',
  title: 'Configuration drift',
  summary: "Keys missing from or extra in .env against .env.example (names only), Traefik's routers, services and middlewares, Mongo's current operations.",
  docs: {
    seedSection: 'Configuration Drift Detection',
    trigger: ['Deployment failures', 'Inconsistent behavior between environments', 'Security audit findings'],
    expected: ['Configuration consistent across environments', 'Security issues addressed', 'Documentation updated'],
    escalation: ['For security issues: immediate security team notification', 'For config issues: notify the team lead'],
  },
  params,
  needs: ['proxy', 'database'],
  steps: [
    {
      title: '.env against .env.example',
      mutates: false,
      async run({ exec }) {
        const [env, example] = [await exec(['cat', '.env']), await exec(['cat', '.env.example'])];
        if (example.exitCode !== 0) return { ok: true, summary: '⚠️ the project has no readable .env.example to compare with' };
        if (env.exitCode !== 0) return { ok: true, summary: `⚠️ the project has no readable .env; .env.example names ${plural(envKeys(example.stdout).length, 'key')}` };
        const d = envDrift(env.stdout, example.stdout);
        const list = (keys: string[]) => (keys.length === 0 ? '—' : keys.map((k) => `\`${k}\``).join(', ')).slice(0, 1024);
        const drift = d.missing.length + d.extra.length;
        return {
          ok: true,
          summary: `${drift === 0 ? 'same keys' : `⚠️ ${d.missing.length} missing, ${d.extra.length} extra`}; ${plural(d.secretKeys.length, 'secret-looking key')} (values not shown)${d.filledInExample.length ? `; ⚠️ ${d.filledInExample.length} filled in .env.example` : ''}`,
          fields: [
            { name: 'Missing from .env', value: list(d.missing) },
            { name: 'In .env, not in .env.example', value: list(d.extra) },
            { name: 'Secret-looking keys (names only)', value: list(d.secretKeys) },
            ...(d.filledInExample.length ? [{ name: 'Secret-looking keys with a value in .env.example', value: list(d.filledInExample) }] : []),
          ],
        };
      },
    },
    {
      title: 'Traefik routers, services and middlewares',
      mutates: false,
      async run(ctx) {
        const base = ctx.host.config.parts.proxyApiUrl;
        const got = [];
        for (const kind of ['routers', 'services', 'middlewares'] as const) {
          const r = await getJsonOnHost(ctx, joinUrl(base, `/api/http/${kind}`));
          if (!r.ok) return { ok: true, summary: `⚠️ Traefik's API (parts.proxyApiUrl ${base}): ${r.detail}` };
          got.push(r.json);
        }
        const parsed = z.tuple([z.array(router), z.array(service), z.array(middleware)]).safeParse(got);
        if (!parsed.success) return { ok: true, summary: `⚠️ ${base}/api/http/* did not answer with Traefik's shapes` };
        const [routers, services, middlewares] = parsed.data;
        const { problems, text } = traefikReport(routers, services, middlewares);
        return {
          ok: true,
          summary: `${plural(routers.length, 'router')}, ${plural(services.length, 'service')}, ${plural(middlewares.length, 'middleware')}${problems.length ? ` · ⚠️ ${problems.join('; ')}` : ', all enabled'}`.slice(0, 600),
          output: text,
          outputTitle: 'Traefik configuration',
        };
      },
    },
    {
      title: 'Mongo current operations',
      mutates: false,
      async run({ host, compose }) {
        const db = host.config.parts.database;
        const res = await compose(['exec', '-T', db, ...CURRENT_OP], { timeoutMs: 30_000 });
        if (res.exitCode !== 0) return { ok: true, summary: `⚠️ mongosh in ${db} exited ${res.exitCode}: ${(res.stderr || res.stdout).trim().slice(0, 200)}` };
        const line = res.stdout.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
        try {
          const s = currentOpSummary(JSON.parse(line ?? ''));
          return { ok: true, summary: s.summary, output: s.text, outputTitle: `${db}: db.currentOp()` };
        } catch {
          return { ok: true, summary: `⚠️ mongosh in ${db} did not print currentOp's JSON` };
        }
      },
    },
  ],
});
