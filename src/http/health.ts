import type { Database } from 'better-sqlite3';
import { redact } from '../engine/redact.js';
import type { Host } from '../host/index.js';
import { registry } from '../metrics.js';
import { sendJson, sendText, type HttpServer } from './server.js';

/** One thing /healthz found wrong: which part, and why, in words safe to show anyone. */
export interface Problem {
  check: 'gateway' | 'database' | 'host';
  host?: string;
  reason: string;
}

export interface HealthDeps {
  /** The Discord gateway as the adapter sees it. */
  gateway: () => { connected: boolean };
  /** Throws when the database cannot take a write. */
  database: () => void;
  hosts: ReadonlyMap<string, Host>;
  /** How long a probe of a host that is not connected may take (default 5 s). */
  probeTimeoutMs?: number;
}

/** 'opsb': SQLite's header field for the application owning the file; setting it is a real write. */
const APPLICATION_ID = 0x6f707362;

/**
 * A committed write that changes nothing: sets the file header's application id (a WAL frame
 * each time), so a full disk, a read-only file or a lock held past busy_timeout shows here.
 */
export function probeWritable(db: Database): void {
  db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
}

/** `message` without the run-oriented ending the host errors carry ("Nothing was run."). */
const reasonOf = (err: unknown): string =>
  redact((err instanceof Error ? err.message : String(err)).replace(/\s*Nothing was run\.?\s*$/, '')).slice(0, 500);

/**
 * A host counts as reached recently while its SSH link is open: the link sends a keepalive every
 * 15 s and is closed after three unanswered ones, so an open link answered within the last 45 s.
 * A host without an open link is probed by opening one (at most `probeTimeoutMs`); that link is
 * then kept for the next command, as a command would have.
 */
async function checkHost(host: Host, timeoutMs: number): Promise<Problem | undefined> {
  const t = host.transport;
  if (t.reach === undefined || t.probe === undefined || t.reach().connected) return undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      t.probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no SSH connection to host "${host.name}" (${t.description}) within ${timeoutMs / 1000} s`)), timeoutMs);
      }),
    ]);
    return undefined;
  } catch (err) {
    return { check: 'host', host: host.name, reason: reasonOf(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** Every check at once; `ok` when nothing is wrong. */
export async function checkHealth(deps: HealthDeps): Promise<{ ok: boolean; problems: Problem[] }> {
  const problems: Problem[] = [];
  if (!deps.gateway().connected) problems.push({ check: 'gateway', reason: 'the Discord gateway connection is not ready (disconnected or reconnecting)' });
  try {
    deps.database();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    problems.push({ check: 'database', reason: `the database does not take writes${typeof code === 'string' ? ` (${code})` : ''}: ${reasonOf(err)}` });
  }
  const hostProblems = await Promise.all([...deps.hosts.values()].map((h) => checkHost(h, deps.probeTimeoutMs ?? 5000)));
  for (const p of hostProblems) if (p) problems.push(p);
  return { ok: problems.length === 0, problems };
}

/**
 * GET /metrics (Prometheus text format) and GET /healthz: 200 `{"status":"ok"}`, or 503
 * `{"status":"unhealthy","problems":[{check, host?, reason}]}` naming each thing that is wrong.
 */
export function registerHealthRoutes(http: HttpServer, deps: HealthDeps): void {
  http.route('GET', '/metrics', async (_req, res) => {
    sendText(res, 200, await registry.metrics(), registry.contentType);
  });
  http.route('GET', '/healthz', async (_req, res) => {
    const { ok, problems } = await checkHealth(deps);
    if (ok) sendJson(res, 200, { status: 'ok' }, { 'cache-control': 'no-store' });
    else sendJson(res, 503, { status: 'unhealthy', problems }, { 'cache-control': 'no-store' });
  });
}
