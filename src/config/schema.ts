import { validateCronExpression } from 'cron';
import { z } from 'zod';

/** A Discord snowflake or, for channels and roles, a name resolved against the guild at start. */
const idOrName = z.string().trim().min(1, 'must be a channel/role id or name');
const snowflake = z.string().regex(/^\d{17,20}$/, 'must be a Discord snowflake id (17–20 digits)');

const fingerprint = z
  .string()
  .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'must be an OpenSSH SHA256 fingerprint, e.g. SHA256:abc… (ssh-keygen -lf key.pub)');

const healthCheck = z.object({
  /** Fetched on the host itself (curl over SSH), so 127.0.0.1 means the host's loopback. */
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  timeoutSeconds: z.number().int().min(1).max(60).default(5),
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
    proxy: composeService.default('reverse-proxy'),
    /** Traefik's API and /metrics as the host reaches them (fetched on the host). */
    proxyApiUrl: httpUrl.default('http://127.0.0.1:8080'),
    /** The MongoDB service (mongosh, mongodump, mongorestore run in it). */
    database: composeService.default('mongo'),
    /** The folder inside the database service that holds the backups. */
    backupsDir: z.string().regex(/^\/[A-Za-z0-9_./-]*$/, 'must be an absolute path').default('/backups'),
    /** The Watchtower service. */
    updater: composeService.default('watchtower'),
    /** The image registry the services pull from (host[:port]); none by default. */
    registry: z.string().regex(/^[a-z0-9][a-z0-9.-]*(:[0-9]{1,5})?$/, 'must be host or host:port').optional(),
    /** The GitHub repository of the project ("owner/name"); its token comes from the environment variable `githubTokenEnv`, never from this file. */
    githubRepo: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'must be "owner/name"').optional(),
    githubApiUrl: httpUrl.default('https://api.github.com'),
    githubTokenEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name').default('GITHUB_TOKEN'),
  })
  .prefault({});

const hostBase = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'must be 1–32 lowercase letters, digits or dashes'),
  projectDir: z.string().startsWith('/', 'must be an absolute path on the host'),
  composeFiles: z.array(z.string().min(1)).min(1, 'needs at least one compose file').default(['docker-compose.yml']),
  /** `auto` asks the host which compose CLI it has (v2 plugin first, then v1). */
  compose: z.enum(['auto', 'v1', 'v2']).default('auto'),
  /** The compose project name; discovered from container labels when absent. */
  composeProject: z.string().min(1).optional(),
  commandTimeoutSeconds: z.number().int().min(1).max(3600).default(120),
  healthChecks: z.record(z.string(), healthCheck).default({}),
  /** Prometheus' base URL as the host reaches it (fetched on the host); the health runbook lists its firing alerts. */
  prometheusUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  /** What this host calls the parts the runbooks use (the seed's names by default); see src/engine/parts.ts. */
  parts: hostParts,
});

const sshHost = hostBase.extend({
  transport: z.literal('ssh').default('ssh'),
  address: z.string().min(1, 'must name the host (IP or DNS name)'),
  port: z.number().int().min(1).max(65535).default(22),
  user: z.string().min(1),
  keyPath: z.string().min(1, 'must be the path of the SSH private key'),
  hostKeyFingerprint: fingerprint,
});

const localHost = hostBase.extend({ transport: z.literal('local') });

export const hostSchema = z.discriminatedUnion('transport', [sshHost, localHost]);

const alertRoute = z.object({
  alertname: z.string().min(1),
  runbook: z.string().min(1),
  params: z.record(z.string(), z.string()).default({}),
});

export const configSchema = z
  .object({
    discord: z.object({
      guildId: snowflake,
      alertsChannel: idOrName,
      roles: z.object({ viewer: idOrName, operator: idOrName, approver: idOrName }),
    }),
    hosts: z.array(hostSchema).min(1, 'needs at least one host'),
    defaultHost: z.string().optional(),
    gates: z
      .object({
        expiryMinutes: z.number().min(0.05).max(1440).default(5),
        /** Runbooks whose mutating steps need a second person with the approver role. */
        fourEyes: z.array(z.string().min(1)).default([]),
        /** A failed run's Roll back button works this long, and only while it is the newest run on its target. */
        rollbackWindowMinutes: z.number().min(1).max(10080).default(60),
      })
      .default({ expiryMinutes: 5, fourEyes: [], rollbackWindowMinutes: 60 }),
    report: z
      .object({
        /** Cron expression (five fields, or six with seconds first), read by the `cron` package. */
        schedule: z
          .string()
          .min(9)
          .default('0 9 * * *')
          .refine((s) => validateCronExpression(s).valid, 'must be a cron expression such as "0 9 * * *"'),
        timeZone: z
          .string()
          .default('UTC')
          .refine((tz) => {
            try {
              new Intl.DateTimeFormat('en', { timeZone: tz });
              return true;
            } catch {
              return false;
            }
          }, 'must be an IANA time zone such as "Europe/Berlin" or "UTC"'),
        /** A certificate expiring in fewer days than this is a finding. */
        certificateDays: z.number().int().min(1).max(365).default(30),
        /** The newest backup older than this is a finding. */
        backupMaxAgeHours: z.number().min(1).max(8760).default(26),
        /** A filesystem fuller than this (the project's, `df`) is a finding. */
        diskPercent: z.number().int().min(1).max(100).default(85),
      })
      .prefault({}),
    database: z
      .object({
        path: z.string().min(1).default('./data/opsbot.db'),
        /** Stored outputs (pages, logs) older than this are deleted; the audit of runs is kept. */
        keepOutputDays: z.number().int().min(1).max(3650).default(30),
      })
      .default({ path: './data/opsbot.db', keepOutputDays: 30 }),
    http: z
      .object({ listen: z.string().regex(/^[^:]+:\d{1,5}$/, 'must be host:port').default('127.0.0.1:9465') })
      .default({ listen: '127.0.0.1:9465' }),
    alerts: z.array(alertRoute).default([]),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
      .default({ level: 'info' }),
  })
  .superRefine((cfg, ctx) => {
    const names = cfg.hosts.map((h) => h.name);
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) ctx.addIssue({ code: 'custom', path: ['hosts', i, 'name'], message: `duplicate host name "${n}"` });
    });
    if (cfg.defaultHost !== undefined && !names.includes(cfg.defaultHost)) {
      ctx.addIssue({ code: 'custom', path: ['defaultHost'], message: `names no host (known: ${names.join(', ')})` });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type HostConfig = z.infer<typeof hostSchema>;

/** Secrets come only from the environment; the file never holds them. */
export const envSchema = z.object({
  DISCORD_TOKEN: z.string().min(20, 'must be set to the bot token'),
  DISCORD_API_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:PORT/api' }).optional(),
  OPSBOT_CONFIG: z.string().default('./opsbot.yaml'),
});
export type Env = z.infer<typeof envSchema>;
