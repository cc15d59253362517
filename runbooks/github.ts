import type { z } from 'zod';
import { UserError } from '../src/engine/errors.js';
import { addSecretValues } from '../src/engine/redact.js';
import type { Host } from '../src/host/index.js';

/**
 * The one GitHub REST client of the runbooks (test-failure reads Actions runs, deploy-workflow
 * dispatches a workflow and follows its run): the host's `parts.github*` settings, the token from
 * the environment variable they name, and every GitHub refusal as a UserError naming what to fix.
 */
export interface GitHub {
  /** The API base, without a trailing slash. */
  api: string;
  /** "owner/name". */
  repo: string;
  token: string;
  /** The environment variable the token came from: named in messages, the token never is. */
  tokenEnv: string;
}

/** Why the host has no usable GitHub settings (null: it has them). */
export function githubMissing(host: Pick<Host, 'config'>): string | null {
  const { githubRepo, githubTokenEnv } = host.config.parts;
  if (githubRepo === undefined) return 'no GitHub repository configured (`parts.githubRepo`)';
  const token = process.env[githubTokenEnv];
  if (token === undefined || token === '') return `no GitHub token in the bot's environment variable $${githubTokenEnv} (\`parts.githubTokenEnv\`)`;
  return null;
}

/** The host's GitHub settings and the token from the environment, or null when either is missing. */
export function github(host: Pick<Host, 'config'>): GitHub | null {
  const { githubRepo, githubApiUrl, githubTokenEnv } = host.config.parts;
  const token = process.env[githubTokenEnv];
  if (githubRepo === undefined || token === undefined || token === '') return null;
  // Never printed by the bot; masked anyway should an API error ever quote it.
  addSecretValues([token]);
  return { api: githubApiUrl.replace(/\/+$/, ''), repo: githubRepo, token, tokenEnv: githubTokenEnv };
}

/** The full URL of a route of the repository (what a gate shows for a request). */
export const repoUrl = (gh: GitHub, path: string): string => `${gh.api}/repos/${gh.repo}${path}`;

/** The repository's Actions page for people: github.com, or a GitHub Enterprise server's own web address. */
export function actionsPage(gh: GitHub): string {
  const web = gh.api === 'https://api.github.com' ? 'https://github.com' : gh.api.replace(/\/api\/v3$/, '');
  return `${web}/${gh.repo}/actions`;
}

export interface CallOptions {
  /** What the token needs for this call, named when GitHub refuses it (403). */
  permission?: string;
  /** What a 404 means for this call (default: the repository is unknown to the token). */
  notFound?: string;
  /** What a 422 means for this call, given GitHub's own words (e.g. "No ref found for: x"). */
  unprocessable?: (githubSays: string) => string;
  timeoutMs?: number;
}

const HEADERS = { Accept: 'application/vnd.github+json', 'X-GitHub-Api-Version': '2022-11-28', 'User-Agent': 'opsbot' };

/** GitHub's own words for a refusal (`message` of its error document), if it gave any. */
async function githubMessage(res: Response): Promise<string> {
  const body = (await res.json().catch(() => null)) as { message?: unknown } | null;
  return typeof body?.message === 'string' ? body.message.slice(0, 300) : '';
}

/** Sends one request; any answer but 2xx becomes a UserError that says what to fix. */
async function send(gh: GitHub, method: 'GET' | 'POST', path: string, body: unknown, o: CallOptions): Promise<Response> {
  const route = path.replace(/\?.*$/, '');
  let res: Response;
  try {
    res = await fetch(repoUrl(gh, path), {
      method,
      headers: { ...HEADERS, Authorization: `Bearer ${gh.token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(o.timeoutMs ?? 15_000),
    });
  } catch (err) {
    throw new UserError('github.unreachable', `GitHub's API (${gh.api}) did not answer: ${(err as Error).name === 'TimeoutError' ? 'timed out' : 'connection failed'}.`, { cause: err });
  }
  if (res.ok) return res;
  const permission = o.permission ?? `read access to Actions of ${gh.repo} (actions:read)`;
  if (res.status === 401) throw new UserError('github.refused', `GitHub refused the token (HTTP 401: bad or expired credentials): put a valid token in $${gh.tokenEnv}; it needs ${permission}.`);
  if (res.status === 403) {
    const limited = res.headers.get('x-ratelimit-remaining') === '0';
    throw new UserError('github.refused', limited ? `GitHub's rate limit for this token is used up (HTTP 403); it resets at ${new Date(Number(res.headers.get('x-ratelimit-reset')) * 1000).toISOString()}.` : `GitHub refused the token (HTTP 403): it needs ${permission}.`);
  }
  if (res.status === 404) throw new UserError('github.not-found', o.notFound ?? `GitHub knows no repository ${gh.repo} for this token (HTTP 404).`);
  const said = await githubMessage(res);
  if (res.status === 422 && o.unprocessable) throw new UserError('github.unprocessable', o.unprocessable(said || 'no reason given'));
  throw new UserError('github.error', `GitHub answered HTTP ${res.status} for ${method === 'GET' ? '' : `${method} `}${route}${said ? `: "${said}"` : '.'}`);
}

/** GET a route of the repository, its answer checked against the shape GitHub documents. */
export async function get<T extends z.ZodType>(gh: GitHub, path: string, schema: T, o: CallOptions = {}): Promise<z.infer<T>> {
  const res = await send(gh, 'GET', path, undefined, o);
  const parsed = schema.safeParse(await res.json().catch(() => null));
  if (!parsed.success) throw new UserError('github.shape', `GitHub's answer to ${path.replace(/\?.*$/, '')} is not shaped as its API documents.`);
  return parsed.data;
}

/**
 * POST to a route of the repository, once: a request that changes something is never repeated
 * here (an unanswered one may have been carried out). Returns GitHub's clock at its answer (the
 * `Date` header), to compare with the times GitHub stamps on what the request created.
 */
export async function post(gh: GitHub, path: string, body: unknown, o: CallOptions = {}): Promise<{ status: number; serverTime: number | undefined }> {
  const res = await send(gh, 'POST', path, body, o);
  await res.body?.cancel();
  const date = Date.parse(res.headers.get('date') ?? '');
  return { status: res.status, serverTime: Number.isFinite(date) ? date : undefined };
}
