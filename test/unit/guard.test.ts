import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { commandLine } from '../../src/host/quote.js';

/** deploy/opsbot-guard run directly with bash, the way sshd runs it as a forced command (no ssh). */
const GUARD = fileURLToPath(new URL('../../deploy/opsbot-guard', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'opsbot-guard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function guard(line: string, opts: { check?: boolean; env?: Record<string, string> } = {}) {
  const res = spawnSync('bash', [GUARD, ...(opts.check === false ? [] : ['--check'])], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SSH_ORIGINAL_COMMAND: line, OPSBOT_GUARD_SYSLOG: '0', ...opts.env },
    encoding: 'utf8',
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** What `--check` says would run: [cwd, ...argv] ('' for no cwd). */
const decoded = (stdout: string) => stdout.split('\0').slice(0, -1);

const P = '/srv/app';
const F = ['-f', 'docker/compose.prod.yml'];
/** Every argv shape the bot sends today, and some it may, each as the bot quotes it. */
const ALLOWED: [string[], string | undefined][] = [
  [['docker', 'compose', 'version'], P],
  [['docker-compose', 'version'], P],
  [['docker-compose', ...F, 'config'], P],
  [['docker', 'compose', ...F, '-f', 'docker/compose.override.yml', 'config', '--services'], P],
  [['docker-compose', ...F, '-p', 'brainbytes', 'ps'], P],
  [['docker-compose', ...F, '--project-name', 'brainbytes', 'ps', '-a', 'adonisjs'], P],
  [['docker-compose', '-f', `${P}/compose.yml`, 'restart', 'adonisjs'], P],
  [['docker-compose', ...F, 'restart', 'adonisjs', 'reverse-proxy'], P],
  [['docker-compose', ...F, 'up', '-d', '--no-deps', '--force-recreate', 'adonisjs'], P],
  [['docker-compose', ...F, 'up', '-d'], P],
  [['docker-compose', ...F, 'pull', 'adonisjs'], P],
  [['docker-compose', ...F, 'stop', 'nextjs'], P],
  [['docker-compose', ...F, 'start'], P],
  [['docker-compose', ...F, 'logs', '--no-color', '--tail=20', 'mongo'], P],
  [['docker-compose', ...F, 'exec', '-T', 'reverse-proxy', 'certbot', 'renew', '--dry-run'], P],
  [['docker-compose', ...F, 'exec', '-T', 'mongo', 'mongorestore', '--drop', '--gzip', '--archive=/backups/latest.dump'], P],
  [['docker-compose', ...F, 'kill', '-s', 'SIGHUP', 'reverse-proxy'], P],
  [['docker', 'system', 'dial-stdio'], undefined],
  [['docker', 'system', 'df'], P],
  [['docker', 'stats', '--no-stream', '--no-trunc', '--format', '{{json .}}'], P],
  [['docker', 'ps', '-a', '--filter', 'label=com.docker.compose.project=brainbytes'], P],
  [['docker', 'inspect', '--format', '{{.Name}} {{.State.Status}}', 'watchtower'], P],
  [['docker', 'images'], P],
  [['docker', 'image', 'ls', '--digests'], P],
  [['docker', 'pull', 'registry.example.com/app:1.2.3'], P],
  [['docker', 'manifest', 'inspect', '--insecure', '127.0.0.1:5000/brainbytes/adonisjs:1.2.0-rc.1'], P],
  [['docker', 'manifest', 'inspect', 'ghcr.io/brainbytes/adonisjs:1.4.2'], P],
  [['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', 'http://127.0.0.1:3333/health'], P],
  [['wget', '-q', '-O', '/dev/null', '-T', '10', 'https://example.com/health?a=1&b=2'], P],
  [['curl', '-sS', '--max-time', '10', 'http://127.0.0.1:9090/api/v1/alerts'], P],
  [['docker-compose', ...F, 'up', '-d', '--no-deps', '--no-recreate', '--scale', 'mongo=2', 'mongo'], P],
  [['docker', 'compose', ...F, 'up', '-d', '--no-deps', '--no-recreate', '--scale', 'nextjs=10', 'nextjs'], P],
  [['cat', '.env'], P],
  [['cat', '.env.example'], P],
  [['df', '-h', '/', '/var/lib/docker'], P],
  [['df', '-h', '-P', '/srv/app'], P],
  // The health report: certificates and the newest backup, read in the service's container.
  [['docker', 'exec', 'brainbytes_reverse-proxy_1', 'certbot', 'certificates'], P],
  [['docker', 'exec', 'brainbytes_mongo_1', 'ls', '-l', '--full-time', '/backups'], P],
  // ssl-renew's rollback (a live file back to an archived generation), bootstrap's image prune.
  [['docker', 'exec', 'brainbytes_reverse-proxy_1', 'ln', '-sfn', '../../archive/brainbytes.example.com/privkey1.pem', '/etc/letsencrypt/live/brainbytes.example.com/privkey.pem'], P],
  [['docker', 'image', 'prune', '-f'], P],
  [['docker', 'image', 'prune', '-a', '-f'], P],
  // deploy, watchtower, rolling-update: retag, the stored login check, the saved compose config.
  [['docker', 'tag', '127.0.0.1:5000/brainbytes/adonisjs:1.1.0', '127.0.0.1:5000/brainbytes/adonisjs:latest'], P],
  [['docker', 'tag', `sha256:${'a'.repeat(64)}`, 'ghcr.io/org/app:latest'], P],
  [['docker', 'tag', `ghcr.io/org/app@sha256:${'b'.repeat(64)}`, 'ghcr.io/org/app'], P],
  [['docker', 'login', '127.0.0.1:5000'], P],
  [['docker', 'login', 'ghcr.io'], P],
  [['tee', 'backup-config-20261129-221500.yml'], P],
  // config-drift, alert-investigation: read-only API paths of Traefik and Prometheus, mongosh's one script.
  [['curl', '-sS', '--max-time', '10', 'http://127.0.0.1:8080/api/http/middlewares'], P],
  [['curl', '-sS', '--max-time', '10', 'http://127.0.0.1:9090/api/v1/rules'], P],
  [['curl', '-sS', '--max-time', '10', 'http://127.0.0.1:9090/api/v1/query?query=up%7Bjob%3D%22adonisjs%22%7D'], P],
  [['curl', '-sS', '--max-time', '10', 'http://127.0.0.1:8080/metrics'], P],
  [['docker-compose', ...F, 'exec', '-T', 'mongo', 'mongosh', '--quiet', '--eval', 'EJSON.stringify(db.currentOp())'], P],
  // ssh-audit in the deploy user's home: its keys, sudoers, docker group, firewall, sockets; revoke and its rollback.
  [['cat', '.ssh/authorized_keys'], undefined],
  [['cat', '/proc/net/tcp', '/proc/net/tcp6'], undefined],
  [['grep', '-rsH', 'NOPASSWD', '/etc/sudoers', '/etc/sudoers.d'], undefined],
  [['getent', 'group', 'docker'], undefined],
  [['ufw', 'status'], undefined],
  [['sed', '-i', `\\#AAAAC3NzaC1lZDI1NTE5AAAAI${'x'.repeat(40)}+/#d`, '.ssh/authorized_keys'], undefined],
  [['tee', '-a', '.ssh/authorized_keys'], undefined],
  // orchestrator: swarm: restart is Swarm's own update of one service of the stack, detached.
  [['docker', 'service', 'update', '--detach', '--force', 'shop_api'], P],
  [['docker', 'service', 'scale', '--detach', 'shop_api=3'], P],
  // deploy on a swarm host: one service to a tagged image, and Swarm's own rollback of it.
  [['docker', 'service', 'update', '--detach', '--image', 'opsbot-staging/busybox:2.0', 'shop_api'], P],
  [['docker', 'service', 'update', '--detach', '--image', '127.0.0.1:5000/brainbytes/adonisjs:1.1.0', 'shop_api'], P],
  [['docker', 'service', 'rollback', '--detach', 'shop_api'], P],
  // Quoting: spaces, quotes, an empty word, a newline, shell syntax inside quotes, in cwd too.
  [['df', '-h', "it's a dir", '', "'", "''", 'a\nb', '$(id); `id` | > * ~'], "/srv/my app's dir"],
];

describe('opsbot-guard: the grammar of quote.ts, and the allow-list', () => {
  it.each(ALLOWED.map(([argv, cwd]) => [commandLine(argv, cwd), argv, cwd] as const))('accepts %s', (line, argv, cwd) => {
    const res = guard(line);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(decoded(res.stdout)).toEqual([cwd ?? '', ...argv]);
  });

  const BAD_SYNTAX: [string, RegExp][] = [
    ['exec docker ps; touch /tmp/pwned', /unexpected ';'/],
    ['exec docker ps && touch /tmp/pwned', /unexpected '&'/],
    [`cd ${P} && exec docker ps && exec id`, /unexpected '&'/],
    ['exec docker ps | sh', /unexpected '\|'/],
    ['exec docker ps $(touch /tmp/x)', /unexpected '\$'/],
    ['exec $(touch /tmp/x)', /unexpected '\$'/],
    ['exec docker ps `id`', /unexpected '`'/],
    ['exec docker ps >/tmp/x', /unexpected '>'/],
    ['exec docker ps </etc/shadow', /unexpected '<'/],
    ['exec docker ps\nid', /unexpected \$'\\n'/],
    ['exec docker ps *', /unexpected '\*'/],
    ['exec docker ps ~/x', /unexpected '~'/],
    ['exec docker ps $HOME', /unexpected '\$'/],
    ['exec docker  ps', /unexpected ' '/],
    ['exec docker ps ', /ends where a word should follow/],
    ['exec', /not of the form/],
    ['docker ps', /not of the form/],
    [' exec docker ps', /not of the form/],
    ['sh -c id', /not of the form/],
    ['cd /srv; exec docker ps', /" && exec " must follow the directory, not "; exec docker ps"/],
    [`cd ${P} && docker ps`, /" && exec " must follow the directory/],
    [`cd ${P} || exec docker ps`, /" && exec " must follow the directory/],
    [`cd ${P}`, /" && exec " must follow the directory/],
    ["exec 'docker ps", /unexpected '''/],
    ["exec 'docker'ps", /unexpected 'p'/],
    ["exec 'dock''er' ps", /unexpected '''/],
    ["exec 'a'\\''", /unexpected '\\'/],
    ['exec "docker" ps', /unexpected '"'/],
    ['exec docker ps \\; id', /unexpected '\\'/],
    ['exec docker ps {a,b}', /unexpected '\{'/],
    ['exec docker ps #x', /unexpected '#'/],
    ['exec dockér ps', /unexpected \$'\\303'/],
    [`exec docker ps ${'a '.repeat(5000)}x`, /longer than 8 KiB/],
    ['', /no command/],
  ];
  it.each(BAD_SYNTAX)('refuses the line %j', (line, why) => {
    const res = guard(line);
    expect(res.code).toBe(126);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^opsbot-guard: refused: [^\n]+\n$/);
    expect(res.stderr).toMatch(why);
  });

  const NOT_ALLOWED: [string[], string | undefined][] = [
    // health's Prometheus read returns the body: only the alerts API, nothing else the host can reach.
    [['curl', '-sS', '--max-time', '10', 'http://169.254.169.254/latest/meta-data/'], P],
    [['curl', '-sS', '--max-time', '10', 'http://127.0.0.1:9090/api/v1/alerts?x=/api/v1/alerts'], P],
    [['curl', '-sS', '--max-time', '10', 'file:///etc/api/v1/alerts'], P],
    [['curl', '-sS', '--max-time', '10', '-o', '/tmp/x', 'http://127.0.0.1:9090/api/v1/alerts'], P],
    // high-usage's scale: 1–10 containers of exactly the one service named.
    [['docker-compose', ...F, 'up', '-d', '--no-deps', '--no-recreate', '--scale', 'mongo=0', 'mongo'], P],
    [['docker-compose', ...F, 'up', '-d', '--no-deps', '--no-recreate', '--scale', 'mongo=11', 'mongo'], P],
    [['docker-compose', ...F, 'up', '-d', '--no-deps', '--no-recreate', '--scale', 'mongo=2'], P],
    [['docker-compose', ...F, 'up', '-d', '--no-deps', '--no-recreate', '--scale', 'mongo=2', 'mongo', 'adonisjs'], P],
    [['docker-compose', ...F, 'up', '-d', '--scale', 'mongo=2', 'mongo'], P],
    [['docker-compose', ...F, 'up', '-d', '--no-deps', '--no-recreate', '--scale', '-mongo=2', 'mongo'], P],
    // deploy's registry check: one image reference, no other option.
    [['docker', 'manifest', 'inspect', '-v', 'registry.example.com/app:1.2.3'], P],
    [['docker', 'manifest', 'inspect', 'registry.example.com/app:1.2.3', 'other/app:1'], P],
    [['docker', 'manifest', 'push', 'registry.example.com/app:1.2.3'], P],
    [['rm', '-rf', '/tmp/x'], P],
    [['sh', '-c', 'id'], P],
    [['bash'], undefined],
    [['exec', 'docker', 'ps'], P],
    [['/usr/bin/docker', 'ps'], P],
    [['docker', 'run', '--rm', '-v', '/:/host', 'busybox', 'sh'], P],
    [['docker', 'exec', 'watchtower', 'sh'], P],
    [['docker', '-H', 'tcp://10.0.0.1:2375', 'ps'], P],
    [['docker', 'system', 'prune', '-af'], P],
    // bootstrap prunes images only, never volumes; ssl-renew relinks certbot's own files only.
    [['docker', 'image', 'prune', '-a', '-f', '--filter', 'until=1h'], P],
    [['docker', 'volume', 'prune', '-f'], P],
    [['docker', 'exec', 'brainbytes_reverse-proxy_1', 'ln', '-sfn', '/etc/shadow', '/etc/letsencrypt/live/x/cert.pem'], P],
    [['docker', 'exec', 'brainbytes_reverse-proxy_1', 'ln', '-sfn', '../../archive/../cert1.pem', '/etc/letsencrypt/live/x/cert.pem'], P],
    [['docker', 'exec', 'brainbytes_reverse-proxy_1', 'ln', '-sfn', '../../archive/x/cert1.pem', '/etc/passwd'], P],
    [['docker', 'system', 'dial-stdio', 'x'], P],
    [['docker', 'image', 'rm', 'busybox'], P],
    [['docker', 'image', 'save', '-o', '/home/deploy/.ssh/authorized_keys', 'busybox'], P],
    [['docker', 'login', '--password-stdin', '-u', 'bot', 'registry.example.com'], P],
    [['docker', 'stats'], P],
    [['docker', 'compose', '-f', 'x.yml', 'exec', '-T', 'mongo', 'sh', '-c', 'id'], P],
    [['docker-compose', ...F, 'exec', 'mongo', 'mongorestore'], P],
    [['docker-compose', ...F, 'run', 'adonisjs', 'sh'], P],
    [['docker-compose', ...F, 'down', '-v'], P],
    [['docker-compose', ...F, 'config', '-o', '/home/deploy/.ssh/authorized_keys'], P],
    [['docker-compose', '--env-file', '/etc/shadow', 'config'], P],
    [['docker-compose', '--project-directory', '/', 'up', '-d'], P],
    [['docker-compose', '-f', '../../etc/evil.yml', 'up', '-d'], P],
    [['docker-compose', '-f', '/tmp/evil.yml', 'up', '-d'], P],
    [['docker-compose', '-f', '/tmp/evil.yml', 'up', '-d'], undefined],
    [['docker-compose', '-p', 'Bad Name', 'ps'], P],
    [['docker-compose', ...F, 'restart'], P],
    [['docker-compose', ...F, 'restart', '--help'], P],
    [['docker-compose', ...F, 'up', '-d', '--build', 'adonisjs'], P],
    [['docker-compose', ...F, 'up', 'adonisjs'], P],
    [['docker-compose', ...F, 'kill', 'adonisjs'], P],
    [['docker-compose', ...F, 'kill', '-s', 'SIGHUP', 'a', 'b'], P],
    [['curl', '-sS', '-o', '/tmp/x', '-w', '%{http_code}', '--max-time', '10', 'http://127.0.0.1/'], P],
    [['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', 'file:///etc/shadow'], P],
    [['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', 'http://x/', '-o', '/tmp/y'], P],
    [['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '1e9', 'http://x/'], P],
    [['wget', '-q', '-O', '/home/deploy/.bashrc', '-T', '10', 'http://x/'], P],
    [['cat', '/etc/shadow'], P],
    [['cat', '.env', '/etc/shadow'], P],
    [['cat', '.env'], undefined],
    [['df', '--output=source'], P],
    // Only those API paths and that one mongosh script; sed only deletes the line of one key blob.
    [['curl', '-sS', '--max-time', '10', 'http://127.0.0.1:9090/api/v1/query?query=up{job="x"}'], P],
    [['curl', '-sS', '--max-time', '10', 'http://127.0.0.1:9090/api/v1/admin/tsdb/delete_series'], P],
    [['curl', '-sS', '--max-time', '10', 'http://127.0.0.1:8080/api/http/routers?x=1'], P],
    [['docker-compose', ...F, 'exec', '-T', 'mongo', 'mongosh', '--quiet', '--eval', 'db.dropDatabase()'], P],
    [['docker-compose', ...F, 'exec', '-T', 'mongo', 'mongosh', '--eval', 'EJSON.stringify(db.currentOp())'], P],
    [['sed', '-i', '1d', '.ssh/authorized_keys'], undefined],
    [['sed', '-i', `\\#AAAAC3NzaC1lZDI1NTE5AAAAI${'x'.repeat(40)}#e`, '.ssh/authorized_keys'], undefined],
    [['sed', '-i', `\\#AAAAC3NzaC1lZDI1NTE5AAAAI${'x'.repeat(40)}#d`, '.bashrc'], undefined],
    [['sed', '-i', `\\#AAAAC3NzaC1lZDI1NTE5AAAAI${'x'.repeat(40)}#d`, '.ssh/authorized_keys'], P],
    [['cat', '.ssh/authorized_keys'], P],
    [['tee', '.ssh/authorized_keys'], undefined],
    [['tee', '-a', '.ssh/authorized_keys'], P],
    [['getent', 'shadow'], undefined],
    // Never a password in an argv, never an option where an image goes, never a file outside the dated name.
    [['docker', 'login', '-u', 'bot', '-p', 'hunter2', 'ghcr.io'], P],
    [['docker', 'login', '--password-stdin', 'ghcr.io'], P],
    [['docker', 'login', 'http://ghcr.io'], P],
    [['docker', 'tag', '--help', 'x'], P],
    [['docker', 'tag', 'a', 'b', 'c'], P],
    [['docker', 'tag', 'Bad/Upper', 'x'], P],
    [['tee', '/home/deploy/.ssh/authorized_keys'], P],
    [['tee', '-a', 'backup-config-20261129-221500.yml'], P],
    [['tee', 'backup-config-20261129-221500.yml', '.env'], P],
    [['tee', '../backup-config-20261129-221500.yml'], P],
    // The report's reads in a container: exactly these, never a shell or another certbot verb.
    [['docker', 'exec', 'brainbytes_reverse-proxy_1', 'certbot', 'renew'], P],
    [['docker', 'exec', 'brainbytes_reverse-proxy_1', 'certbot', 'certificates', '--config-dir', '/tmp'], P],
    [['docker', 'exec', '-u', 'root', 'brainbytes_mongo_1', 'ls', '-l', '--full-time', '/backups'], P],
    [['docker', 'exec', 'brainbytes_mongo_1', 'ls', '-l', '--full-time', '/backups/../root'], P],
    [['docker', 'exec', 'brainbytes_mongo_1', 'ls', '-l', '--full-time', 'backups'], P],
    [['docker', 'exec', 'brainbytes_mongo_1', 'ls', '-l', '--full-time', '/backups', '/root'], P],
    [['docker', 'exec', 'brainbytes_mongo_1', 'sh', '-c', 'ls'], P],
    // swarm: a forced update of one stack service (<stack>_<service>), nothing else of `service`.
    [['docker', 'service', 'update', '--detach', '--force', '--image', 'evil:latest', 'shop_api'], P],
    [['docker', 'service', 'update', '--detach', '--force', 'shop_api', 'shop_worker'], P],
    [['docker', 'service', 'update', '--detach', '--force', '--mount-add', 'type=bind,src=/,dst=/host', 'shop_api'], P],
    [['docker', 'service', 'update', '--force', 'shop_api'], P],
    [['docker', 'service', 'update', '--detach', '--force', 'api'], P],
    [['docker', 'service', 'update', '--detach', '--force', '-shop_api'], P],
    [['docker', 'service', 'rm', 'shop_api'], P],
    [['docker', 'service', 'create', 'busybox'], P],
    // swarm scale: one service, 1–10 replicas, as high-usage's compose scale.
    [['docker', 'service', 'scale', '--detach', 'shop_api=0'], P],
    [['docker', 'service', 'scale', '--detach', 'shop_api=11'], P],
    [['docker', 'service', 'scale', '--detach', 'shop_api=2', 'shop_worker=2'], P],
    [['docker', 'service', 'scale', 'shop_api=2'], P],
    [['docker', 'service', 'scale', '--detach', 'api=2'], P],
    // swarm deploy: a tagged image for one stack service, nothing else; rollback of one service.
    [['docker', 'service', 'update', '--detach', '--image', 'busybox', 'shop_api'], P],
    [['docker', 'service', 'update', '--detach', '--image', 'busybox@sha256:' + 'a'.repeat(64), 'shop_api'], P],
    [['docker', 'service', 'update', '--detach', '--image', '--force', 'shop_api'], P],
    [['docker', 'service', 'update', '--detach', '--image', 'busybox:1', '--env-add', 'A=1', 'shop_api'], P],
    [['docker', 'service', 'update', '--detach', '--image', 'busybox:1', 'shop_api', 'shop_worker'], P],
    [['docker', 'service', 'update', '--image', 'busybox:1', 'shop_api'], P],
    [['docker', 'service', 'update', '--detach', '--image', 'busybox:1', 'api'], P],
    [['docker', 'service', 'rollback', 'shop_api'], P],
    [['docker', 'service', 'rollback', '--detach', 'shop_api', 'shop_worker'], P],
    [['docker', 'service', 'rollback', '--detach', '--rollback-parallelism', '0', 'shop_api'], P],
  ];
  it.each(NOT_ALLOWED.map(([argv, cwd]) => [commandLine(argv, cwd), argv] as const))('refuses the argv of %s', (line) => {
    const res = guard(line);
    expect(res.code).toBe(126);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^opsbot-guard: refused: (not an allowed command|cat: only inside a project directory|(cat|sed|tee): runs in the home directory only)[^\n]*\n$/);
  });

  it('cd: only absolute paths without .., and only the listed project dirs when OPSBOT_GUARD_PROJECT_DIRS is set', () => {
    const ps = ['docker', 'ps'];
    expect(guard(commandLine(ps, '/anything/at/all')).code).toBe(0);
    expect(guard(commandLine(ps, 'relative')).stderr).toMatch(/^opsbot-guard: refused: cd: not an absolute path/);
    expect(guard(commandLine(ps, '/srv/app/../../etc')).stderr).toMatch(/^opsbot-guard: refused: cd: not an absolute path without '\.\.'/);
    const env = { OPSBOT_GUARD_PROJECT_DIRS: '/srv/app:/srv/other/' };
    for (const ok of ['/srv/app', '/srv/app/', '/srv/other']) expect(guard(commandLine(ps, ok), { env }).code, ok).toBe(0);
    for (const bad of ['/srv', '/srv/app/sub', '/srv/application', '/']) {
      const res = guard(commandLine(ps, bad), { env });
      expect(res.code, bad).toBe(126);
      expect(res.stderr).toMatch(/^opsbot-guard: refused: cd: .* is not in OPSBOT_GUARD_PROJECT_DIRS\n$/);
    }
  });

  it('docker --host=unix:///PATH: the same shapes, on a socket listed in OPSBOT_GUARD_DOCKER_HOSTS only', () => {
    const sock = '/var/lib/opsbot-staging/swarm/docker.sock';
    const env = { OPSBOT_GUARD_DOCKER_HOSTS: `/run/other.sock:${sock}` };
    for (const argv of [
      ['docker', `--host=unix://${sock}`, 'system', 'dial-stdio'],
      ['docker', `--host=unix://${sock}`, 'service', 'update', '--detach', '--force', 'shop_api'],
    ]) {
      const res = guard(commandLine(argv), { env });
      expect(res.stderr).toBe('');
      expect(decoded(res.stdout)).toEqual(['', ...argv]);
    }
    const refused = (argv: string[], e: Record<string, string> = env) => guard(commandLine(argv), { env: e }).stderr;
    // Unset: no other engine at all (a read-only OPSBOT_GUARD_DOCKER_API must not be sidestepped).
    expect(refused(['docker', `--host=unix://${sock}`, 'system', 'dial-stdio'], {})).toMatch(/^opsbot-guard: refused: docker --host: \S+ is not in OPSBOT_GUARD_DOCKER_HOSTS\n$/);
    expect(refused(['docker', '--host=unix:///var/run/docker.sock', 'system', 'dial-stdio'])).toMatch(/is not in OPSBOT_GUARD_DOCKER_HOSTS/);
    expect(refused(['docker', '--host=tcp://10.0.0.1:2375', 'ps'])).toMatch(/^opsbot-guard: refused: docker --host: only unix:\/\/\/PATH/);
    expect(refused(['docker', `--host=unix://${sock}/../../../../run/docker.sock`, 'ps'])).toMatch(/only unix:\/\/\/PATH/);
    // The socket does not widen the allow-list.
    expect(refused(['docker', `--host=unix://${sock}`, 'service', 'rm', 'shop_api'])).toMatch(/not an allowed command/);
    expect(refused(['docker', `--host=unix://${sock}`, `--host=unix://${sock}`, 'ps'])).toMatch(/not an allowed command/);
  });

  it('runs an allowed argv in its directory with no shell, and logs it', () => {
    const project = join(dir, "project with 'quotes' and $(id)");
    const log = join(dir, 'guard.log');
    spawnSync('mkdir', ['-p', project]);
    writeFileSync(join(project, '.env'), 'DB_PASSWORD=hunter2\n');
    const line = commandLine(['cat', '.env'], project);
    const res = guard(line, { check: false, env: { OPSBOT_GUARD_LOG: log, SSH_CLIENT: '203.0.113.7 50000 22' } });
    expect(res).toEqual({ code: 0, stdout: 'DB_PASSWORD=hunter2\n', stderr: '' });
    expect(readFileSync(log, 'utf8')).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z from=203\\.0\\.113\\.7 ran: ${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n$`));
  });

  it('tee writes the saved compose config only inside a project dir, readable by its owner alone', () => {
    const project = join(dir, 'tee-project');
    spawnSync('mkdir', ['-p', project]);
    const file = 'backup-config-20261129-221500.yml';
    const res = spawnSync('bash', [GUARD], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SSH_ORIGINAL_COMMAND: commandLine(['tee', file], project), OPSBOT_GUARD_SYSLOG: '0' }, input: 'services: {}\n', encoding: 'utf8' });
    expect(res.status).toBe(0);
    expect(readFileSync(join(project, file), 'utf8')).toBe('services: {}\n');
    expect(statSync(join(project, file)).mode & 0o777).toBe(0o600);
    const outside = guard(commandLine(['tee', file]));
    expect(outside.code).toBe(126);
    expect(outside.stderr).toMatch(/^opsbot-guard: refused: tee: only inside a project directory/);
  });

  it('refuses without running anything, says why on one line, exits 126, and logs the refusal on one line', () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'still here');
    const log = join(dir, 'refusals.log');
    const line = `${commandLine(['rm', '-f', victim])}\n`;
    const res = guard(line, { check: false, env: { OPSBOT_GUARD_LOG: log } });
    expect(res.code).toBe(126);
    expect(res.stderr).toBe(`opsbot-guard: refused: not a command line the bot sends: unexpected $'\\n' at "\\n" (shell syntax is not accepted)\n`);
    const res2 = guard(commandLine(['rm', '-f', victim]), { check: false, env: { OPSBOT_GUARD_LOG: log } });
    expect(res2.code).toBe(126);
    expect(res2.stderr).toBe(`opsbot-guard: refused: not an allowed command: rm -f ${victim}\n`);
    expect(existsSync(victim)).toBe(true);
    const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/ from=local refused \(not a command line the bot sends: unexpected \$'\\n' at "\\n" \(shell syntax is not accepted\)\): exec rm -f \S+victim\\n$/);
    expect(lines[1]).toMatch(/ from=local refused \(not an allowed command: rm -f \S+victim\): exec rm -f \S+victim$/);
  });

  it('sends the Docker API channel to OPSBOT_GUARD_DOCKER_API when set (e.g. a read-only socket proxy)', () => {
    const socket = join(dir, 'no-proxy-here.sock');
    const res = guard(commandLine(['docker', 'system', 'dial-stdio']), { check: false, env: { OPSBOT_GUARD_DOCKER_API: `unix://${socket}` } });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain(socket);
  });

  it('refuses everything when its log file cannot be written, so nothing runs unlogged', () => {
    const project = join(dir, 'p2');
    spawnSync('mkdir', ['-p', project]);
    writeFileSync(join(project, '.env'), 'X=1\n');
    const res = guard(commandLine(['cat', '.env'], project), { check: false, env: { OPSBOT_GUARD_LOG: join(dir, 'no/such/dir/guard.log') } });
    expect(res.code).toBe(126);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^opsbot-guard: refused: cannot write the log /);
  });
});
