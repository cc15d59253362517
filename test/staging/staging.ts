/**
 * Test helpers for the staging host that `test/staging/up` starts (Docker engine + sshd + the
 * BrainBytes-shaped compose project). Tests reach it the way the bot does (SSH as `deploy`), and
 * use these helpers, which act as root on this machine, to set it up and to check what happened.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { z } from 'zod';

const execFileAsync = promisify(execFile);

/** `$STAGING_DIR/env.json`, written by `up`. */
export const StagingEnvSchema = z.object({
  stagingDir: z.string(),
  sshHost: z.string(),
  sshPort: z.number().int().positive(),
  user: z.string(),
  /** Private key of `deploy` (ed25519, readable by root only). */
  keyPath: z.string(),
  /** As `ssh-keygen -lf` prints it; pin the host key with it. */
  hostKeyFingerprint: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/),
  /** An OpenSSH known_hosts file with the host key, for `ssh -o UserKnownHostsFile=`. */
  knownHostsPath: z.string(),
  projectDir: z.string(),
  /** Relative to projectDir: `docker-compose -f <file> …` from projectDir. */
  composeFiles: z.array(z.string()).min(1),
  composeProject: z.string(),
  /** `unix://…/docker.sock` of the staging engine (sshd sets it for `deploy` too). */
  dockerHost: z.string().startsWith('unix://'),
  /**
   * One line per command that reached the host as `deploy`: `<ISO time> <command>`, as the
   * client sent it, whether the guard then ran or refused it.
   */
  commandsLog: z.string(),
  /**
   * What deploy/opsbot-guard (the deploy key's forced command) decided, one line per command:
   * `<ISO time> from=<ip> ran: <command>` or `<ISO time> from=<ip> refused (<why>): <command>`.
   */
  guardLog: z.string(),
  services: z.array(z.string()),
  ports: z.object({ adonisjs: z.number(), nextjs: z.number(), 'reverse-proxy': z.number() }),
  /** The fake secrets planted in the project's .env (and logged by adonisjs at start). */
  secrets: z.record(z.string(), z.string()),
  /** The certificates `resetStaging()` seeds, days counted from the day of the reset. */
  certificates: z.array(z.object({ domain: z.string(), expiresInDays: z.number() })),
});
export type StagingEnv = z.infer<typeof StagingEnvSchema>;

/** `up` and `down` of the staging host, for tests that restart it. */
export const stagingScripts = {
  up: fileURLToPath(new URL('./up', import.meta.url)),
  down: fileURLToPath(new URL('./down', import.meta.url)),
  fleet: fileURLToPath(new URL('./parts/fleet', import.meta.url)),
} as const;
const seedScript = fileURLToPath(new URL('./seed.sh', import.meta.url));

/** Where up/down keep their state (same default and resolution as lib.sh). */
export function stagingDir(): string {
  return resolve(process.env.STAGING_DIR ?? '/var/lib/opsbot-staging');
}

/** Reads and validates env.json; throws with a hint when the staging host is not up. */
export function readStaging(dir = stagingDir()): StagingEnv {
  const file = `${dir}/env.json`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`staging host is not up (no ${file}): run \`bash test/staging/up\``, { cause: err });
  }
  return StagingEnvSchema.parse(JSON.parse(text));
}

/** The environment for docker / docker-compose run as root against the staging engine. */
function hostEnv(env: StagingEnv): NodeJS.ProcessEnv {
  const vars: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: env.dockerHost };
  // A caller's compose or docker settings must not redirect these commands elsewhere.
  for (const name of ['DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'COMPOSE_FILE', 'COMPOSE_PROJECT_NAME']) {
    delete vars[name];
  }
  return vars;
}

async function run(file: string, args: string[], cwd: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  try {
    const { stdout } = await execFileAsync(file, args, {
      env,
      maxBuffer: 64 * 1024 * 1024,
      timeout: 120_000,
      ...(cwd === undefined ? {} : { cwd }),
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; code?: unknown };
    throw new Error(`${file} ${args.join(' ')} failed (${String(e.code)}): ${e.stderr ?? String(err)}`, { cause: err });
  }
}

/** Runs the docker CLI as root against the staging engine; resolves to its stdout. */
export function hostDocker(args: string[]): Promise<string> {
  return run('docker', args, undefined, hostEnv(readStaging()));
}

/** Runs `docker-compose -f <compose files> <args>` as root in the project dir; resolves to stdout. */
export function hostCompose(args: string[]): Promise<string> {
  const env = readStaging();
  const files = env.composeFiles.flatMap((f) => ['-f', f]);
  return run('docker-compose', [...files, ...args], env.projectDir, hostEnv(env));
}

/** Ids of a service's containers (newest first), found by compose labels, stopped ones included. */
export async function serviceContainerIds(service: string): Promise<string[]> {
  const env = readStaging();
  const out = await hostDocker([
    'ps', '-aq',
    '--filter', `label=com.docker.compose.project=${env.composeProject}`,
    '--filter', `label=com.docker.compose.service=${service}`,
  ]);
  return out.split('\n').filter((id) => id !== '');
}

export interface ServiceState {
  /** Docker's State.Status: running, exited, restarting, paused, created… */
  state: string;
  /** State.Health.Status, or null for services without a healthcheck. */
  health: string | null;
  /** How many containers the service has (more than one when scaled). */
  containers: number;
}

/** State of every container of the project, by service (from the Docker API, not `compose ps`). */
export async function serviceStates(): Promise<Record<string, ServiceState>> {
  const env = readStaging();
  const ids = (await hostDocker(['ps', '-aq', '--filter', `label=com.docker.compose.project=${env.composeProject}`]))
    .split('\n')
    .filter((id) => id !== '');
  const states: Record<string, ServiceState> = {};
  if (ids.length === 0) return states;
  const format = '{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}';
  for (const line of (await hostDocker(['inspect', '--format', format, ...ids])).split('\n')) {
    const [service, state, health] = line.trim().split(' ');
    if (service === undefined || service === '' || state === undefined) continue;
    const seen = states[service];
    // With several containers, report the worst: a stopped replica is what a test wants to see.
    if (seen === undefined || seen.state === 'running') {
      states[service] = { state, health: health === undefined || health === '' ? null : health, containers: (seen?.containers ?? 0) + 1 };
    } else {
      seen.containers += 1;
    }
  }
  return states;
}

/** `State.StartedAt` of the service's (newest) container: changes when it restarts. */
export async function containerStartedAt(service: string): Promise<string> {
  const [id] = await serviceContainerIds(service);
  if (id === undefined) throw new Error(`no container for service ${service}`);
  return (await hostDocker(['inspect', '--format', '{{.State.StartedAt}}', id])).trim();
}

/** The staging daemons a fault test may stop: each by its pidfile, checked against its command line. */
const daemons = {
  sshd: { pidfile: 'sshd.pid', needle: 'ssh/sshd_config' },
  dockerd: { pidfile: 'docker.pid', needle: 'docker.sock' },
} as const;

/** The pid of a running staging daemon, or undefined (a stale pidfile or a reused pid is not ours). */
export function stagingDaemonPid(which: keyof typeof daemons, dir = stagingDir()): number | undefined {
  const { pidfile, needle } = daemons[which];
  let pid: number;
  try {
    pid = Number(readFileSync(`${dir}/${pidfile}`, 'utf8').trim());
  } catch {
    return undefined;
  }
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0];
    return cmdline.includes(`${dir}/${needle}`) && state !== 'Z' ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stops only the staging sshd (its listener: sessions already open live on, as with a real sshd
 * stop) or the staging dockerd (which stops its containers), by pid, and waits until it is gone.
 * `restoreStaging()` brings it back.
 */
export async function stopStagingDaemon(which: keyof typeof daemons, dir = stagingDir()): Promise<void> {
  const pid = stagingDaemonPid(which, dir);
  if (pid === undefined) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 60_000;
  while (stagingDaemonPid(which, dir) === pid) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Pids of the processes whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) kids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return kids;
}

/**
 * SIGKILLs every session of the staging sshd (the listener's descendants), as a dropped link
 * does: the bot's pooled connection dies, the listener stays. Returns how many were killed.
 */
export function killStagingSshSessions(dir = stagingDir()): number {
  const main = stagingDaemonPid('sshd', dir);
  if (main === undefined) return 0;
  const sessions = descendantsOf(main);
  killAll(sessions);
  return sessions.length;
}

/** Pids of the processes below `pid` (children, their children…), from /proc. */
function descendantsOf(pid: number): number[] {
  return childrenOf(pid).flatMap((kid) => [kid, ...descendantsOf(kid)]);
}

function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Takes the staging sshd away at once, as a host that drops off the network does: the listener
 * is frozen (so it forks no new session), then it and every session are SIGKILLed. The bot's
 * pooled connection dies and a new one is refused. `startStagingFleet()` or `restoreStaging()`
 * (for the main host) starts sshd again.
 */
export function cutStagingSsh(dir = stagingDir()): void {
  const main = stagingDaemonPid('sshd', dir);
  if (main === undefined) return;
  process.kill(main, 'SIGSTOP');
  killAll([main, ...descendantsOf(main)]);
}

/** Pids of the host's `docker system dial-stdio` processes (the bot's Docker API streams). */
export function dialStdioPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('docker\0system\0dial-stdio')) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Runs `up` (idempotent): restarts whatever a test stopped and brings the project back. */
export async function restoreStaging(): Promise<void> {
  await run('bash', [stagingScripts.up], undefined, process.env);
}

/**
 * Starts (idempotent) `count` further staging hosts beside the main one (test/staging/parts/fleet):
 * each with its own sshd, user, key, host key, Docker engine and project. The main host must be
 * up. `test/staging/down` stops them too.
 */
export async function startStagingFleet(count = 2): Promise<StagingEnv[]> {
  await run('bash', [stagingScripts.fleet, 'start', String(count)], undefined, process.env);
  return Array.from({ length: count }, (_, k) => readStaging(`${stagingDir()}/fleet/member-${k + 1}`));
}

/** Current end of the command log (a byte offset), to pass to `commandsLogSince` later. */
export async function commandsLogMark(env = readStaging()): Promise<number> {
  try {
    return (await stat(env.commandsLog)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

/**
 * Commands that reached the host as `deploy` since `mark` (from `commandsLogMark`), oldest first,
 * without their timestamps. Newlines inside a command appear as `\n`. `[]` proves that nothing
 * ran on the host in between.
 */
export async function commandsLogSince(mark: number, env = readStaging()): Promise<string[]> {
  const handle = await open(env.commandsLog, 'r');
  try {
    const { size } = await handle.stat();
    if (size <= mark) return [];
    const buffer = Buffer.alloc(size - mark);
    await handle.read(buffer, 0, buffer.length, mark);
    return buffer
      .toString('utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.slice(line.indexOf(' ') + 1));
  } finally {
    await handle.close();
  }
}

function ready(states: Record<string, ServiceState>, services: readonly string[]): boolean {
  return services.every((svc) => {
    const s = states[svc];
    return s !== undefined && s.state === 'running' && s.containers === 1 && (svc !== 'adonisjs' || s.health === 'healthy');
  });
}

/** Polls until every service runs (one container each) and adonisjs is healthy. */
export async function waitForServices(timeoutMs = 60_000): Promise<void> {
  const env = readStaging();
  const deadline = Date.now() + timeoutMs;
  let states = await serviceStates();
  while (!ready(states, env.services)) {
    if (Date.now() > deadline) throw new Error(`staging services not ready: ${JSON.stringify(states)}`);
    await new Promise((r) => setTimeout(r, 200));
    states = await serviceStates();
  }
}

/**
 * Puts the staging project back as `up` left it: the seed certificates (10 and 80 days from
 * today), the seed backups, the .env, and every service running once with adonisjs healthy.
 * Quick when nothing changed (it starts docker-compose only when a service is not running).
 * Does not restart the engine or sshd: that is `up`'s job.
 */
export async function resetStaging(): Promise<void> {
  const env = readStaging();
  const seedEnv: NodeJS.ProcessEnv = {
    ...process.env,
    STAGING_APP_PORT: String(env.ports.adonisjs),
    STAGING_NEXT_PORT: String(env.ports.nextjs),
    STAGING_PROXY_PORT: String(env.ports['reverse-proxy']),
  };
  for (const what of ['env', 'letsencrypt', 'backups']) {
    await run('bash', [seedScript, what, env.projectDir], undefined, seedEnv);
  }
  // docker-compose v1 renames a container to `<id>_<name>` while recreating it; a recreate cut
  // short (the SSH-drop test does that on purpose) leaves it so. Remove such leftovers.
  const stray = (await hostDocker(['ps', '-a', '--filter', `label=com.docker.compose.project=${env.composeProject}`, '--format', '{{.ID}} {{.Names}}']))
    .split('\n')
    .filter((l) => /^\S+ [0-9a-f]{12}_/.test(l))
    .map((l) => l.split(' ')[0]!);
  if (stray.length > 0) await hostDocker(['rm', '-f', ...stray]);
  const states = await serviceStates();
  if (ready(states, env.services)) return;
  const paused = (await hostDocker([
    'ps', '-q', '--filter', `label=com.docker.compose.project=${env.composeProject}`, '--filter', 'status=paused',
  ])).split('\n').filter((id) => id !== '');
  if (paused.length > 0) await hostDocker(['unpause', ...paused]);
  // --scale undoes a test's scale-up; up -d starts stopped services and recreates removed ones.
  await hostCompose(['up', '-d', ...env.services.flatMap((svc) => ['--scale', `${svc}=1`])]);
  await waitForServices();
}
