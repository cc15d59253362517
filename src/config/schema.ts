import { z } from 'zod';
import { isCronExpression, isTimeZone } from '../report/cron.js';

/** A Discord snowflake or, for channels and roles, a name resolved against the guild at start. */
const idOrName = z.string().trim().min(1, 'must be a channel/role id or name');
const snowflake = z.string().regex(/^\d{17,20}$/, 'must be a Discord snowflake id (17–20 digits)');

const fingerprint = z
  .string()
  .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'must be an OpenSSH SHA256 fingerprint, e.g. SHA256:abc… (ssh-keygen -lf key.pub)');

const healthCheck = z.object({
  /** Fetched on the host itself (curl over SSH), so 127.0.0.1 means the host's loopback. */
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).describe('URL fetched on the host itself (curl or wget over SSH) after a restart: 127.0.0.1 is the host\'s loopback'),
  timeoutSeconds: z.number().int().min(1).max(60).default(5).describe('How long the health check may take'),
});

const composeService = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be a compose service name');
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/**
 * Teams name things differently: the runbooks read these names instead of the seed's. A runbook
 * declares the parts it needs (`needs`), and `/runbook list` says on which hosts one is missing.
 */
const hostParts = z
  .object({
    /** The reverse proxy (Traefik) service: certbot runs in it, SIGHUP reloads it. */
    proxy: composeService.default('reverse-proxy').describe('The reverse proxy (Traefik) service: certbot runs in it, SIGHUP reloads it'),
    /** Traefik's API and /metrics as the host reaches them (fetched on the host). */
    proxyApiUrl: httpUrl.default('http://127.0.0.1:8080').describe('Traefik\'s API and /metrics as the host reaches them (fetched on the host)'),
    /** The MongoDB service (mongosh, mongodump, mongorestore run in it). */
    database: composeService.default('mongo').describe('The MongoDB service (mongosh, mongodump, mongorestore run in it)'),
    /** The folder inside the database service that holds the backups. */
    backupsDir: z.string().regex(/^\/[A-Za-z0-9_./-]*$/, 'must be an absolute path').default('/backups').describe('The folder inside the database service that holds the backups'),
    /** The Watchtower service. */
    updater: composeService.default('watchtower').describe('The Watchtower service'),
    /** The image registry the services pull from (host[:port]); none by default. */
    registry: z.string().regex(/^[a-z0-9][a-z0-9.-]*(:[0-9]{1,5})?$/, 'must be host or host:port').optional().describe('The image registry the services pull from (host or host:port); none by default'),
    /** The GitHub repository of the project ("owner/name"); its token comes from the environment variable `githubTokenEnv`, never from this file. */
    githubRepo: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'must be "owner/name"').optional().describe('The project\'s GitHub repository, "owner/name"'),
    githubApiUrl: httpUrl.default('https://api.github.com').describe('GitHub\'s API base URL (GitHub Enterprise: its own)'),
    githubTokenEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name').default('GITHUB_TOKEN').describe('The environment variable that holds the GitHub token (never this file)'),
    /** The workflow deploy-workflow dispatches (`workflow_dispatch` with `version`): its file name in .github/workflows, as the seed names it. */
    githubWorkflow: z.string().regex(/^[A-Za-z0-9_.-]{1,100}\.ya?ml$/, 'must be a workflow file name, e.g. automation.yml').default('automation.yml').describe('The workflow /runbook deploy-workflow dispatches (its file name in .github/workflows)'),
    /** How long deploy-workflow follows the run it dispatched before it stops watching (the run goes on). */
    githubWorkflowTimeoutMinutes: z.number().int().min(1).max(360).default(30).describe('How long /runbook deploy-workflow follows the dispatched run before it stops watching (the run itself goes on)'),
    /** How often deploy-workflow asks GitHub about the run (every request counts against the token's rate limit). */
    githubPollSeconds: z.number().int().min(1).max(120).default(10).describe('How often /runbook deploy-workflow asks GitHub how the run is doing'),
  })
  .prefault({})
  .describe('What this host calls the parts the runbooks use (the seed\'s names by default); a runbook that needs a part the host lacks is refused there');

/** The word every `host:` option takes for every configured host: no host or group may be called so. */
export const ALL_HOSTS = 'all';

const groupName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be 1–32 lowercase letters, digits or dashes, starting with a letter')
  .refine((g) => g !== ALL_HOSTS, `"${ALL_HOSTS}" is reserved (every host); pick another group name`);

const hostBase = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'must be 1–32 lowercase letters, digits or dashes').describe('The host\'s name in commands (`host:` option) and in every result'),
  projectDir: z.string().startsWith('/', 'must be an absolute path on the host').describe('Absolute path on the host where the compose commands run'),
  composeFiles: z.array(z.string().min(1)).min(1, 'needs at least one compose file').default(['docker-compose.yml']).describe('Compose files, relative to projectDir (each becomes `-f FILE`)'),
  /** `auto` asks the host which compose CLI it has (v2 plugin first, then v1). */
  compose: z.enum(['auto', 'v1', 'v2']).default('auto').describe('Which compose CLI: v1 (`docker-compose`), v2 (`docker compose`) or auto (asks the host, v2 first)'),
  /** The compose project name; discovered from container labels when absent. */
  composeProject: z.string().min(1).optional().describe('The compose project name; found from container labels when absent'),
  commandTimeoutSeconds: z.number().int().min(1).max(3600).default(120).describe('Every command on this host is stopped after this long'),
  healthChecks: z.record(z.string(), healthCheck).default({}).describe('Per compose service, a URL that must answer 2xx after a restart'),
  /** Prometheus' base URL as the host reaches it (fetched on the host); the health runbook lists its firing alerts. */
  prometheusUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional().describe('Prometheus\' base URL as the host reaches it: /runbook health lists its firing alerts'),
  /**
   * `swarm`: the host is a Swarm manager and its services are those of a stack (`stack`), managed
   * through Swarm's own operations (`docker service update --force`…) and read from the Swarm API.
   */
  orchestrator: z.enum(['compose', 'swarm']).default('compose').describe('compose: a compose project (projectDir, composeFiles); swarm: a Docker Swarm manager whose services are those of the stack `stack`'),
  /** The stack (`docker stack deploy … NAME`) whose services a swarm host manages. */
  stack: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be a stack name (lowercase letters, digits, `_`, `-`)').optional().describe('orchestrator: swarm only: the stack (`docker stack deploy -c FILE NAME`) whose services the bot manages'),
  /** A Docker engine other than the SSH user's default (e.g. a second engine on one machine): every docker command and the Docker API use it. */
  dockerHost: z
    .string()
    .regex(/^unix:\/\/\/[A-Za-z0-9_./-]+$/, 'must be unix:///PATH of the engine\'s socket on the host')
    .refine((h) => !`/${h.slice('unix://'.length)}/`.includes('/../'), 'must not contain ..')
    .optional()
    .describe('The Docker engine\'s socket on the host when it is not the user\'s default (unix:///PATH): the bot passes `docker --host=unix:///PATH`, which deploy/opsbot-guard accepts for the sockets in OPSBOT_GUARD_DOCKER_HOSTS'),
  /** What this host calls the parts the runbooks use (the seed's names by default); see src/engine/parts.ts. */
  parts: hostParts,
  /** Groups a `host:` option may name instead of one host (read-only runs fan out over them; src/engine/targets.ts). */
  groups: z.array(groupName).default([]).describe('Groups this host belongs to (e.g. production, eu): a `host:` option may name a group, or `all`, to run a read-only command on every host in it'),
  /** Shown beside the host where hosts are listed (autocomplete, fleet results); never used to pick hosts. */
  labels: z
    .record(z.string(), z.string().min(1, 'a label needs a value').max(64, 'label values are at most 64 characters'))
    .superRefine((labels, ctx) => {
      // Checked here rather than by the key schema: zod reports a bad record key only as "Invalid key".
      for (const key of Object.keys(labels)) {
        if (!/^[a-z][a-z0-9_.-]{0,31}$/.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'label keys must be 1–32 lowercase letters, digits, _ . - (starting with a letter)' });
      }
    })
    .default({})
    .describe('Free key: value labels shown beside the host where hosts are listed (e.g. region: eu-west, role: worker)'),
});

const sshHost = hostBase.extend({
  transport: z.literal('ssh').default('ssh').describe('How the bot reaches the host: ssh, or local when it runs on the host itself (local Docker engine)'),
  address: z.string().min(1, 'must name the host (IP or DNS name)').describe('IP or DNS name'),
  port: z.number().int().min(1).max(65535).default(22).describe('SSH port'),
  user: z.string().min(1).describe('SSH user: in the docker group, no sudo (docs/security.md)'),
  keyPath: z.string().min(1, 'must be the path of the SSH private key').describe('Path of the SSH private key file (in the image: under /keys, mounted read-only)'),
  hostKeyFingerprint: fingerprint.describe('The host key\'s SHA256 fingerprint (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the host); an unknown or changed key is refused and nothing runs'),
});

const localHost = hostBase.extend({ transport: z.literal('local').describe('How the bot reaches the host: ssh, or local when it runs on the host itself (local Docker engine)') });

export const hostSchema = z.discriminatedUnion('transport', [sshHost, localHost]);

/** `{{ $labels.x }}` / `{{ $annotations.x }}`: the only placeholders an alert route's params may hold. */
export const ALERT_PLACEHOLDER = /\{\{\s*\$(labels|annotations)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

const alertRoute = z.object({
  alertname: z.string().min(1).describe('The Alertmanager alert name this route matches'),
  runbook: z.string().min(1).describe('The runbook offered (as a button) when the alert fires'),
  params: z
    .record(
      z.string(),
      z.string().refine((v) => !/\{\{|\}\}/.test(v.replace(ALERT_PLACEHOLDER, '')), 'may only hold {{ $labels.name }} or {{ $annotations.name }} placeholders (no other template syntax)'),
    )
    .default({})
    .describe('The runbook\'s parameters; values may use {{ $labels.name }} and {{ $annotations.name }}'),
});


/** `fleet:` — how group runs fan out. Its defaults stand for a configuration that leaves it out. */
const fleetSettings = z.object({
  concurrency: z.number().int().min(1).max(64).default(8).describe('Hosts read at once when a read-only command names a group or `all`'),
  hostTimeoutSeconds: z.number().int().min(1).max(600).default(30).describe('A host that has not answered a group run after this long is shown as timed out (its run goes on, in /audit); the others are not held up'),
});
export const FLEET_DEFAULTS: z.infer<typeof fleetSettings> = fleetSettings.parse({});
export const configSchema = z
  .object({
    discord: z
      .object({
        guildId: snowflake.describe('The guild (server) id the bot serves; its slash commands are registered there'),
        alertsChannel: idOrName.describe('The only channel where commands work, and where reports and alerts are posted: an id or a name'),
        roles: z
          .object({
            viewer: idOrName.describe('Role (id or name) that may read: /ps, /stats, /logs, /top, /audit, read-only runbooks'),
            operator: idOrName.describe('Role that may also start and confirm steps that change a host'),
            approver: idOrName.describe('Role of the second person for four-eyes runbooks (gates.fourEyes)'),
          })
          .describe('Roles rank viewer < operator < approver; each includes the ones before it'),
        preconnect: z
          .number()
          .int()
          .min(0)
          .max(200)
          .default(50)
          .describe("Connections to Discord's API kept open ahead of use, so that a burst of clicks after a quiet spell is acknowledged without a TCP and TLS handshake each (~70 KB each; 0: none)"),
      })
      .describe('Where the bot works in Discord and who may do what'),
    hosts: z.array(hostSchema).min(1, 'needs at least one host').describe('The hosts the bot manages, each a compose project reached over SSH (or locally)'),
    defaultHost: z.string().optional().describe('The host used when a command names none (default: the first)'),
    gates: z
      .object({
        expiryMinutes: z.number().min(0.05).max(1440).default(5).describe('An unanswered confirmation expires after this long and its buttons are disabled'),
        /** Runbooks whose mutating steps need a second person with the approver role. */
        fourEyes: z.array(z.string().min(1)).default([]).describe('Runbook ids whose changes need a second person with the approver role (never the requester); unknown ids are refused'),
        /** A failed run's Roll back button works this long, and only while it is the newest run on its target. */
        rollbackWindowMinutes: z.number().min(1).max(10080).default(60).describe('A Roll back button works this long, and only while its run is the newest on its target'),
      })
      .default({ expiryMinutes: 5, fourEyes: [], rollbackWindowMinutes: 60 })
      .describe('Confirmations (gates) of the steps that change a host'),
    report: z
      .object({
        /** Cron expression (five fields, or six with seconds first), read by croner (src/report/cron.ts). */
        schedule: z
          .string()
          .min(9)
          .default('0 9 * * *')
          .refine(isCronExpression, 'must be a cron expression such as "0 9 * * *"')
          .describe('When the daily health report is posted: a cron expression (five fields, or six with seconds first)'),
        timeZone: z
          .string()
          .default('UTC')
          .refine(isTimeZone, 'must be an IANA time zone such as "Europe/Berlin" or "UTC"')
          .describe('The IANA time zone of the schedule, e.g. Europe/Berlin'),
        /** A certificate expiring in fewer days than this is a finding. */
        certificateDays: z.number().int().min(1).max(365).default(30).describe('A certificate expiring in fewer days than this is a finding'),
        /** The newest backup older than this is a finding. */
        backupMaxAgeHours: z.number().min(1).max(8760).default(26).describe('The newest backup older than this (hours) is a finding'),
        /** A filesystem fuller than this (the project's, `df`) is a finding. */
        diskPercent: z.number().int().min(1).max(100).default(85).describe('The project\'s filesystem fuller than this (%) is a finding'),
      })
      .prefault({})
      .describe('The daily health report posted to the alerts channel (also on demand: /report)'),
    database: z
      .object({
        path: z.string().min(1).default('./data/opsbot.db').describe('The SQLite file: audit log, pending confirmations, stored outputs (in the image: /data/opsbot.db)'),
        /** Stored outputs (pages, logs) older than this are deleted; the audit of runs is kept. */
        keepOutputDays: z.number().int().min(1).max(3650).default(30).describe('Stored outputs (log pages, attachments\' text) older than this are deleted; the audit of runs is kept'),
      })
      .default({ path: './data/opsbot.db', keepOutputDays: 30 })
      .describe('The audit database'),
    http: z
      .object({
        listen: z.string().regex(/^[^:]+:\d{1,5}$/, 'must be host:port').default('127.0.0.1:9465').describe('host:port of the HTTP server: /healthz, /metrics, the Alertmanager webhook'),
      })
      .default({ listen: '127.0.0.1:9465' })
      .describe('The bot\'s HTTP server'),
    fleet: fleetSettings
      .prefault({})
      .describe('Read-only commands on a group of hosts (`host: production`, `host: all`): run in parallel, one section per host'),
    alerts: z.array(alertRoute).default([]).describe('Alertmanager alerts → the runbook offered when one fires'),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info').describe('Least level written (JSON lines on stdout)') })
      .default({ level: 'info' })
      .describe('The log (pino, JSON lines on stdout; secrets redacted)'),
  })
  .superRefine((cfg, ctx) => {
    const names = cfg.hosts.map((h) => h.name);
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) ctx.addIssue({ code: 'custom', path: ['hosts', i, 'name'], message: `duplicate host name "${n}"` });
    });
    cfg.hosts.forEach((h, i) => {
      if (h.name === ALL_HOSTS) ctx.addIssue({ code: 'custom', path: ['hosts', i, 'name'], message: `"${ALL_HOSTS}" is reserved (a \`host:\` option's word for every host); pick another name` });
      h.groups.forEach((g, j) => {
        // One namespace for `host:` values: a name must say whether it is one host or many.
        if (names.includes(g)) ctx.addIssue({ code: 'custom', path: ['hosts', i, 'groups', j], message: `group "${g}" has the name of a host; a \`host:\` value must name one or the other` });
        if (h.groups.indexOf(g) !== j) ctx.addIssue({ code: 'custom', path: ['hosts', i, 'groups', j], message: `group "${g}" is listed twice` });
      });
      if (h.orchestrator === 'swarm' && h.stack === undefined) ctx.addIssue({ code: 'custom', path: ['hosts', i, 'stack'], message: 'a host with orchestrator: swarm must name its stack (the NAME of `docker stack deploy -c FILE NAME`)' });
      if (h.orchestrator === 'compose' && h.stack !== undefined) ctx.addIssue({ code: 'custom', path: ['hosts', i, 'stack'], message: 'stack is for orchestrator: swarm hosts; this host manages a compose project' });
    });
    if (cfg.defaultHost !== undefined && !names.includes(cfg.defaultHost)) {
      ctx.addIssue({ code: 'custom', path: ['defaultHost'], message: `names no host (known: ${names.join(', ')})` });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type HostConfig = z.infer<typeof hostSchema>;

/** Secrets come only from the environment; the file never holds them. */
export const envSchema = z.object({
  DISCORD_TOKEN: z.string().min(20, 'must be set to the bot token').describe('The Discord bot token'),
  DISCORD_API_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:PORT/api' })
    .optional()
    .describe('REST base of a Discord stand-in, e.g. http://127.0.0.1:PORT/api (tests, demos); the gateway URL then comes from its GET /gateway/bot'),
  OPSBOT_CONFIG: z.string().default('./opsbot.yaml').describe('Path of the configuration file'),
  /** Bearer token Alertmanager sends (`http_config.authorization`); unset: POST /alerts/alertmanager answers 503. */
  OPSBOT_ALERTMANAGER_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters (a random token, e.g. openssl rand -hex 32)')
    .optional()
    .describe('Bearer token Alertmanager must send to POST /alerts/alertmanager (unset: that route answers 503)'),
});
export type Env = z.infer<typeof envSchema>;
