import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { parse as parseYaml } from 'yaml';
import { healthCheck } from '../runbooks/health-check.js';
import { ConfigError, parseConfig } from './config/load.js';
import { hostSchema, type Config, type HostConfig } from './config/schema.js';
import { isUserError } from './engine/errors.js';
import { createHost, type Host } from './host/index.js';
import { retained } from './store/db.js';

/** One line of the doctor's table: what was checked, what was seen, and for a ✘ what to do. */
export interface Check {
  scope: string;
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** A pin no host has: lets the doctor connect to a host whose key is not pinned yet and read its key. */
const PROBE_PIN = `SHA256:${'A'.repeat(43)}`;
const SEEN_KEY = /its host key is (SHA256:[A-Za-z0-9+/]{43})/;

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const firstLine = (text: string): string => text.trim().split('\n')[0]?.slice(0, 300) ?? '';

/**
 * Checks one host the way the bot will use it, through the same Host and transport: the SSH
 * link and its pinned key, docker and compose as the bot's user, the project directory and
 * compose files, the services, and the health URLs. Later checks are skipped once an earlier
 * one makes them meaningless (no link, no project directory).
 */
export async function checkHost(cfg: HostConfig, opts: { unpinned?: boolean } = {}): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string, fix?: string) => checks.push({ scope: cfg.name, name, ok, detail, ...(ok || fix === undefined ? {} : { fix }) });
  const host: Host = createHost(cfg);
  try {
    const ssh = cfg.transport === 'ssh' ? cfg : undefined;
    // A missing cwd makes spawn fail as if docker were missing (ENOENT): say which it is.
    if (cfg.transport === 'local' && !existsSync(cfg.projectDir)) {
      add('project dir', false, `${cfg.projectDir} does not exist`, 'projectDir must be the directory of the compose project: create it or fix projectDir');
      return checks;
    }
    let probe;
    try {
      // A read-only command the host guard allows, run in the project directory as every step is.
      probe = await host.exec(['docker', 'ps', '-q'], { timeoutMs: 20_000 });
    } catch (err) {
      if (!ssh || !isUserError(err)) throw err;
      if (err.code === 'host.key-unreadable') {
        add('ssh key', false, firstLine(err.message), `make ${ssh.keyPath} readable by the user that runs opsbot (chmod 600, owned by it)`);
      } else if (err.code === 'host.key-mismatch') {
        add('ssh reachable', true, `${ssh.user}@${ssh.address}:${ssh.port}`);
        const seen = SEEN_KEY.exec(err.message)?.[1] ?? '(not seen)';
        add(
          'host key',
          false,
          opts.unpinned ? `not pinned; the host presents ${seen}` : `the host presents ${seen}, the configuration pins ${ssh.hostKeyFingerprint}`,
          `after checking it on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), set in hosts[${cfg.name}]:\n    hostKeyFingerprint: ${seen}`,
        );
      } else {
        add('ssh reachable', false, firstLine(err.message), `check address/port/user of host ${cfg.name}, that sshd runs there and that the public key of ${ssh.keyPath} is in ~${ssh.user}/.ssh/authorized_keys`);
      }
      return checks;
    }
    if (ssh) {
      add('ssh reachable', true, `${ssh.user}@${ssh.address}:${ssh.port}`);
      add('host key', true, `matches ${ssh.hostKeyFingerprint}`);
    }
    const err = probe.stderr.trim();
    if (probe.exitCode !== 0 && /cannot cd|cd: |not in OPSBOT_GUARD_PROJECT_DIRS/.test(err)) {
      const guard = /OPSBOT_GUARD_PROJECT_DIRS/.test(err);
      add(
        'project dir',
        false,
        `${cfg.projectDir}: ${firstLine(err)}`,
        guard
          ? `projectDir is not a directory the host guard allows: fix projectDir, or add it to OPSBOT_GUARD_PROJECT_DIRS in the key's command="…" in authorized_keys`
          : `projectDir must be the directory of the compose project on the host: create it or fix projectDir`,
      );
      return checks;
    }
    if (probe.exitCode !== 0) {
      const refused = probe.exitCode === 126 && /opsbot-guard: refused/.test(err);
      add(
        'docker',
        false,
        `\`docker ps\` exited ${probe.exitCode}: ${firstLine(err)}`,
        refused
          ? 'the host guard refused it: install the deploy/opsbot-guard of this version'
          : /permission denied/i.test(err)
            ? `add the user to the docker group on the host (usermod -aG docker ${ssh?.user ?? '<user>'}) and reconnect`
            : 'install Docker on the host and make sure the user can run `docker ps`',
      );
      return checks;
    }
    add('project dir', true, cfg.projectDir);
    if (ssh) checks.push({ scope: cfg.name, ...guardCheck(await host.exec(['true'], { timeoutMs: 20_000 }), ssh.user) });
    try {
      const v = await host.docker.version();
      add('docker', true, `Docker Engine ${v.Version} (API ${v.ApiVersion}), over \`docker system dial-stdio\``);
    } catch (e) {
      add('docker', false, `the Docker API did not answer: ${firstLine(message(e))}`, 'the user must be able to run `docker system dial-stdio` (docker group); check `docker version` on the host');
      return checks;
    }
    // A swarm manager has no compose project to check: its stack, read as /ps reads it.
    if (host.swarm) {
      try {
        const rows = await host.stackStates();
        const short = rows.filter((r) => r.running < r.desired).map((r) => `${r.service} ${r.running}/${r.desired}`);
        if (rows.length === 0) add('stack', false, `stack ${host.stack} has no services on this engine`, `deploy it (docker stack deploy -c FILE ${host.stack}) or fix stack`);
        else add('stack', true, `${host.stack}: ${rows.map((r) => r.service).join(', ')}${short.length > 0 ? ` — below their replicas: ${short.join(', ')}` : ', all at their replicas'}`);
      } catch (e) {
        add('stack', false, firstLine(message(e)), 'the engine must be a swarm manager (`docker node ls` on the host); set dockerHost if it is not the user\'s default engine');
      }
      return checks;
    }
    const flavour = await host.composeFlavour();
    const version = await host.compose(['version']).catch((e: unknown) => ({ exitCode: 127, stdout: '', stderr: message(e) }));
    if (version.exitCode !== 0) {
      add('compose', false, firstLine(version.stderr) || `exit ${version.exitCode}`, 'install the compose plugin (`docker compose`) or docker-compose on the host, or set compose: v1|v2');
      return checks;
    }
    add('compose', true, `${flavour === 'v2' ? 'docker compose' : 'docker-compose'}: ${firstLine(version.stdout)}`);
    let services: string[];
    try {
      services = await host.services();
    } catch (e) {
      add('compose files', false, `${cfg.composeFiles.join(', ')} in ${cfg.projectDir}: ${firstLine(message(e).replace(/^.*?: `config` exited \d+: /, ''))}`, 'composeFiles must name the compose files relative to projectDir (and each must be valid compose YAML)');
      return checks;
    }
    add('compose files', true, cfg.composeFiles.join(', '));
    if (services.length === 0) add('services', false, 'the compose files declare no services', 'check composeFiles');
    else {
      try {
        const states = await host.serviceStates();
        const down = states.filter((s) => s.state !== 'running').map((s) => `${s.service} (${s.state})`);
        add('services', true, `${services.length}: ${services.join(', ')}${down.length > 0 ? ` — not running: ${down.join(', ')}` : ', all running'}`);
      } catch (e) {
        add('services', false, `${services.length} declared, but their containers cannot be read: ${firstLine(message(e))}`, 'start the project (docker compose up -d) or set composeProject');
      }
    }
    for (const [service, hc] of Object.entries(cfg.healthChecks)) {
      if (!services.includes(service)) {
        add(`health ${service}`, false, `healthChecks names "${service}", which is no service of the project`, `use one of: ${services.join(', ')}`);
        continue;
      }
      const r = await healthCheck({ exec: (argv, o) => host.exec(argv, o ?? {}) }, hc.url, hc.timeoutSeconds);
      add(`health ${service}`, r.ok, `${hc.url}: ${r.detail}`, `the URL is fetched on the host itself; check that ${service} serves it (curl ${hc.url} on the host)`);
    }
    return checks;
  } catch (e) {
    add('host', false, firstLine(message(e)), 'see the message');
    return checks;
  } finally {
    await host.close();
  }
}

/**
 * Whether the host runs the bot's commands through deploy/opsbot-guard, judged from `true`, a
 * harmless argv no runbook sends and so outside the guard's allow-list: a guarded key is refused
 * it (exit 126), an unguarded key runs it. Without the guard the key is a shell for a docker-group
 * user, which is root-equivalent on that host.
 */
export function guardCheck(result: { exitCode: number | null; stderr: string }, user: string): Omit<Check, 'scope'> {
  if (result.exitCode === 126 && /opsbot-guard: refused/.test(result.stderr)) {
    return { name: 'host guard', ok: true, detail: "deploy/opsbot-guard is the key's forced command: only the bot's command shapes run" };
  }
  if (result.exitCode === 0) {
    return {
      name: 'host guard',
      ok: false,
      detail: `not guarded: the key runs any command as ${user} (a docker-group user is root-equivalent)`,
      fix: 'install deploy/opsbot-guard on the host and make it the key\'s forced command in authorized_keys (docs/security.md, "Installing the guard")',
    };
  }
  return { name: 'host guard', ok: false, detail: `cannot tell: \`true\` exited ${result.exitCode ?? 'by a signal'}: ${firstLine(result.stderr)}`, fix: 'check the forced command in the key\'s authorized_keys line' };
}

/** The database the bot will write its audit to: it opens and takes a write lock (nothing is changed). */
export function checkDatabase(path: string): Check {
  const base = { scope: 'database', name: 'writable' };
  try {
    if (!existsSync(path)) {
      let dir = dirname(resolve(path));
      while (!existsSync(dir)) dir = dirname(dir);
      accessSync(dir, constants.W_OK);
      return { ...base, ok: true, detail: `${path} will be created (${dir} is writable)` };
    }
    accessSync(path, constants.R_OK | constants.W_OK);
    const db = new BetterSqlite3(path, { fileMustExist: true, timeout: 5000 });
    retained.push(db);
    try {
      db.exec('BEGIN IMMEDIATE; ROLLBACK;');
    } finally {
      db.close();
    }
    return { ...base, ok: true, detail: `${path} (${Math.round(statSync(path).size / 1024)} KiB)` };
  } catch (e) {
    return { ...base, ok: false, detail: `${path}: ${firstLine(message(e))}`, fix: 'database.path must be a file (or a new file in a directory) that the user running opsbot can write' };
  }
}

/**
 * A bot token is three base64url parts joined by dots, the first being the bot's user id; the
 * check catches a pasted client secret, a `Bot ` prefix, quotes or a cut-off copy.
 */
export function checkToken(token: string | undefined): Check {
  const base = { scope: 'discord', name: 'token' };
  if (token === undefined || token === '') return { ...base, ok: false, detail: 'DISCORD_TOKEN is not set', fix: 'export DISCORD_TOKEN=<the bot token from the Developer Portal, Bot tab> (the console needs none)' };
  const t = token.trim();
  const m = /^([A-Za-z0-9_-]{17,40})\.([A-Za-z0-9_-]{5,10})\.([A-Za-z0-9_-]{20,})$/.exec(t);
  const id = m ? Buffer.from(m[1]!, 'base64url').toString('utf8') : '';
  if (!m || !/^\d{17,20}$/.test(id)) {
    const why = /^Bot /i.test(t) ? 'starts with "Bot "' : /["']/.test(t) ? 'contains quotes' : t.length < 50 ? `is only ${t.length} characters` : 'is not three dot-separated parts starting with the bot id';
    return { ...base, ok: false, detail: `DISCORD_TOKEN ${why}`, fix: 'copy the token again from the Developer Portal (Bot tab → Reset Token); not the client secret' };
  }
  return { ...base, ok: true, detail: `shaped like a bot token for application ${id}` };
}

/** Host entries whose only problem is a missing or malformed pin: probed to show the key to pin. */
function unpinnedHosts(text: string, problems: string[]): HostConfig[] {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch {
    return [];
  }
  const hosts = (raw as { hosts?: unknown })?.hosts;
  if (!Array.isArray(hosts)) return [];
  const out: HostConfig[] = [];
  hosts.forEach((h, i) => {
    if (!problems.some((p) => p.startsWith(`hosts.${i}.hostKeyFingerprint:`))) return;
    const parsed = hostSchema.safeParse({ ...(h as object), hostKeyFingerprint: PROBE_PIN });
    if (parsed.success) out.push(parsed.data);
  });
  return out;
}

export interface DoctorResult {
  checks: Check[];
  ok: boolean;
}

export async function runDoctor(configPath: string, opts: { consoleOnly?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<DoctorResult> {
  const checks: Check[] = [];
  let config: Config | undefined;
  let text: string | undefined;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (e) {
    checks.push({ scope: 'config', name: 'file', ok: false, detail: `${configPath}: ${(e as NodeJS.ErrnoException).code ?? message(e)}`, fix: 'pass --config FILE or set OPSBOT_CONFIG; start from opsbot.example.yaml' });
  }
  if (text !== undefined) {
    try {
      config = parseConfig(text, configPath);
      checks.push({ scope: 'config', name: 'valid', ok: true, detail: `${configPath}: ${config.hosts.length} host${config.hosts.length === 1 ? '' : 's'}` });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      for (const p of e.problems) checks.push({ scope: 'config', name: 'valid', ok: false, detail: p, fix: 'see opsbot.example.yaml (every key is documented there)' });
      // The one invalid key a new user cannot know yet: connect anyway and show what to pin.
      for (const h of unpinnedHosts(text, e.problems)) checks.push(...(await checkHost(h, { unpinned: true })).filter((c) => c.name === 'host key' || c.name === 'ssh reachable'));
    }
  }
  if (config) {
    for (const h of config.hosts) checks.push(...(await checkHost(h)));
    checks.push(checkDatabase(config.database.path));
  }
  if (opts.consoleOnly !== true) checks.push(checkToken((opts.env ?? process.env).DISCORD_TOKEN));
  return { checks, ok: checks.every((c) => c.ok) };
}

/** The ✔/✘ table, with the fix under each ✘. */
export function formatChecks(checks: readonly Check[], paint: (style: 'green' | 'red' | 'dim' | 'yellow', text: string) => string = (_s, t) => t): string {
  const scopeW = Math.max(...checks.map((c) => c.scope.length), 5);
  const nameW = Math.max(...checks.map((c) => c.name.length), 5);
  const out: string[] = [];
  for (const c of checks) {
    out.push(`${c.ok ? paint('green', '✔') : paint('red', '✘')} ${c.scope.padEnd(scopeW)}  ${c.name.padEnd(nameW)}  ${c.detail}`);
    if (!c.ok && c.fix) out.push(...`fix: ${c.fix}`.split('\n').map((l) => paint('yellow', `  ${' '.repeat(scopeW + nameW + 4)}${l}`)));
  }
  const bad = checks.filter((c) => !c.ok).length;
  out.push('', bad === 0 ? paint('green', `All ${checks.length} checks passed.`) : paint('red', `${bad} of ${checks.length} checks failed.`));
  return out.join('\n');
}
