import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfigFile } from './config/load.js';
import { configSchema, hostSchema, type HostConfig } from './config/schema.js';
import { colourEnabled, Painter } from './console/render.js';
import type { Role } from './engine/view.js';
import { createLogger } from './log.js';

/**
 * `opsbot <command>`: the bot, its terminal console, the doctor, the command registration and
 * the audit database backup. Every command takes --help; a bad flag exits 2 with the reason.
 */

const MAIN_HELP = `Usage: opsbot <command> [options]

Commands:
  start              run the bot (what \`npm start\` runs)
  console            the same commands and runbooks in this terminal, no Discord needed
  doctor             check the configuration, every host, the database and the token
  deploy-commands    register the guild's slash commands without starting the bot
  backup FILE        copy the audit database to FILE while the bot runs

Options: -h, --help (also after any command), -v, --version
The configuration is --config FILE, else $OPSBOT_CONFIG, else ./opsbot.yaml.
`;

const CONFIG_OPTION = { config: { type: 'string', short: 'c' } } as const;
const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

interface Subcommand {
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  positionals?: { min: number; max: number };
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number | undefined>;
}

/** Exit 2 with a one-line reason, as for a bad flag. */
class UsageError extends Error {}

function configPath(values: Record<string, unknown>): string {
  return typeof values.config === 'string' ? values.config : (process.env.OPSBOT_CONFIG ?? './opsbot.yaml');
}

/** For commands that need the configuration: an invalid or missing file is exit 2, as for the bot. */
function loadConfigOrExit(path: string) {
  try {
    return loadConfigFile(path);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`opsbot: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

const COMPOSE_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

const subcommands: Record<string, Subcommand> = {
  start: {
    help: `Usage: opsbot start [--config FILE]

Runs the bot: connects to Discord (DISCORD_TOKEN, optional DISCORD_API_URL), registers the slash
commands and serves them. SIGTERM/SIGINT drain runs in progress (up to 60 s) before it exits.
An invalid configuration stops it with exit code 2 and one line per problem.
`,
    options: { ...CONFIG_OPTION },
    async run(values) {
      if (typeof values.config === 'string') process.env.OPSBOT_CONFIG = values.config;
      await import('./main.js');
      return undefined; // the bot runs until a signal; main.ts exits
    },
  },
  'deploy-commands': {
    help: `Usage: opsbot deploy-commands [--config FILE]

Bulk-overwrites the guild's slash commands (the bot also does this at every start). Needs
DISCORD_TOKEN (and DISCORD_API_URL for a Discord double).
`,
    options: { ...CONFIG_OPTION },
    async run(values) {
      if (typeof values.config === 'string') process.env.OPSBOT_CONFIG = values.config;
      await import('./deploy-commands.js');
      return undefined;
    },
  },
  console: {
    help: `Usage: opsbot console [--config FILE | -f COMPOSE_FILE…] [--as operator|viewer|approver] [--db FILE] [--log FILE]

The bot's commands and runbooks in this terminal: /ps, /restart <service>, /stats, /logs <service>
[lines:N], /top <service>, /runbook list|help|<id>, /audit. Steps that change a host ask for a
confirmation at the prompt (y/n), with the exact command shown; long outputs page (n, p, page N)
and \`save FILE\` writes them out. Type help inside for everything.

With a configuration file, it works on its hosts and writes to the bot's audit database (runs
show up in /audit and share the bot's per-service locks). Without one (no --config, no
$OPSBOT_CONFIG, no ./opsbot.yaml), it works on the local Docker engine and the compose project in
the current directory, with an audit kept in memory.

  -c, --config FILE   the configuration (hosts, gates, database)
  -f, --file FILE     without a configuration: the compose file(s) of the project in the current
                      directory (default: compose.yaml, compose.yml, docker-compose.y(a)ml)
      --as ROLE       viewer (read-only), operator (default) or approver: the role checks applied
      --db FILE       the audit database (default: the configuration's; in memory without one)
      --log FILE      append the JSON log here (default: no log)
`,
    options: { ...CONFIG_OPTION, as: { type: 'string', default: 'operator' }, file: { type: 'string', short: 'f', multiple: true }, db: { type: 'string' }, log: { type: 'string' } },
    async run(values) {
      const role = values.as as string;
      if (!['viewer', 'operator', 'approver'].includes(role)) throw new UsageError(`--as must be viewer, operator or approver, not "${role}"`);
      const explicit = typeof values.config === 'string' || process.env.OPSBOT_CONFIG !== undefined;
      const path = configPath(values);
      let hosts: HostConfig[];
      let engineConfig;
      let database: string;
      let source: string;
      let level = 'info';
      if (explicit || existsSync(path)) {
        const config = loadConfigOrExit(path);
        ({ hosts } = config);
        engineConfig = { gates: config.gates, defaultHost: config.defaultHost, fleet: config.fleet };
        database = config.database.path;
        source = path;
        level = config.log.level;
      } else {
        const dir = process.cwd();
        const given = values.file as unknown as string[] | undefined;
        const files = given ?? COMPOSE_FILES.filter((f) => existsSync(resolve(dir, f))).slice(0, 1);
        const missing = files.filter((f) => !existsSync(resolve(dir, f)));
        if (files.length === 0 || missing.length > 0) {
          process.stderr.write(`opsbot console: no configuration (${path}) and ${missing.length > 0 ? `no ${missing.join(', ')}` : `no compose file (${COMPOSE_FILES.join(', ')})`} in ${dir}.\nRun it in a compose project's directory (-f FILE for another compose file name), or pass --config FILE.\n`);
          return 2;
        }
        hosts = [hostSchema.parse({ name: 'local', transport: 'local', projectDir: dir, composeFiles: files })];
        engineConfig = { gates: configSchema.shape.gates.parse(undefined), defaultHost: undefined };
        database = ':memory:';
        source = `${files.join(', ')} in ${dir}, local Docker engine`;
      }
      const logFile = values.log as string | undefined;
      const log = createLogger(logFile === undefined ? 'silent' : level, logFile === undefined ? undefined : createWriteStream(logFile, { flags: 'a' }));
      const { runConsole } = await import('./console/console.js');
      await runConsole({ hosts, engineConfig, databasePath: (values.db as string | undefined) ?? database, role: role as Role, log, source });
      return 0;
    },
  },
  doctor: {
    help: `Usage: opsbot doctor [--config FILE] [--console-only]

Checks, and prints as a table of ✔/✘ with the fix under each ✘:
  the configuration (every invalid key, with the reason);
  for each host: SSH reachable, host key as pinned (the key it presents, ready to paste into
  hostKeyFingerprint, when it differs or none is pinned yet), docker and compose usable by the
  bot's user, the project directory and compose files, the services, the health URLs;
  the audit database writable; the shape of DISCORD_TOKEN.

  -c, --config FILE   the configuration to check
      --console-only  skip the Discord token (a setup used only through \`opsbot console\`)
Exit code: 0 when everything passed, 1 otherwise (2 for a bad flag).
`,
    options: { ...CONFIG_OPTION, 'console-only': { type: 'boolean' } },
    async run(values) {
      const { runDoctor, formatChecks } = await import('./doctor.js');
      const result = await runDoctor(configPath(values), { consoleOnly: values['console-only'] === true });
      const p = new Painter(colourEnabled(process.stdout));
      process.stdout.write(`${formatChecks(result.checks, (s, t) => p.paint(s, t))}\n`);
      return result.ok ? 0 : 1;
    },
  },
  backup: {
    help: `Usage: opsbot backup FILE [--config FILE | --db FILE] [--force]

Copies the audit database (database.path of the configuration, or --db) to FILE with SQLite's
online backup, safely while the bot is running and writing to it. The copy is checked with
SQLite's integrity check and renamed into place only then; it is a single self-contained file
(open it with sqlite3, or point database.path at it to restore). An existing FILE is kept unless
--force. Prints the size and the number of runs in the copy; exit code 1 on failure.

Example (daily, from cron):  opsbot backup /backups/opsbot-$(date +%F).db
`,
    options: { ...CONFIG_OPTION, db: { type: 'string' }, force: { type: 'boolean' } },
    positionals: { min: 1, max: 1 },
    async run(values, positionals) {
      const source = typeof values.db === 'string' ? values.db : loadConfigOrExit(configPath(values)).database.path;
      const { backupDatabase, BackupError } = await import('./store/backup.js');
      try {
        const r = await backupDatabase(source, positionals[0]!, { overwrite: values.force === true });
        process.stdout.write(`Backed up ${source} to ${r.file}: ${r.runs} runs, ${Math.round(r.bytes / 1024)} KiB, integrity ${r.integrity}.\n`);
        return 0;
      } catch (err) {
        if (!(err instanceof BackupError)) throw err;
        process.stderr.write(`opsbot backup: ${err.message}\n`);
        return 1;
      }
    },
  },
};

function version(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'opsbot') return pkg.version ?? 'unknown';
    } catch {
      // not here: the compiled file sits one level deeper
    }
  }
  return 'unknown';
}

/** Runs the command line; resolves to the exit code, or undefined for a command that keeps running. */
export async function cli(argv: string[]): Promise<number | undefined> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(MAIN_HELP);
    return 2;
  }
  if (name === '-h' || name === '--help' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    const sub = topic === undefined ? undefined : subcommands[topic];
    if (topic !== undefined && !sub) {
      process.stderr.write(`opsbot: no command "${topic}".\n\n${MAIN_HELP}`);
      return 2;
    }
    process.stdout.write(sub ? sub.help : MAIN_HELP);
    return 0;
  }
  if (name === '-v' || name === '--version') {
    process.stdout.write(`opsbot ${version()}\n`);
    return 0;
  }
  const sub = subcommands[name];
  if (!sub) {
    process.stderr.write(`opsbot: ${name.startsWith('-') ? `unknown option ${name}` : `unknown command "${name}"`}.\n\n${MAIN_HELP}`);
    return 2;
  }
  try {
    const { values, positionals } = parseArgs({ args: rest, options: { ...sub.options, ...HELP_OPTION }, allowPositionals: sub.positionals !== undefined, strict: true });
    if (values.help === true) {
      process.stdout.write(sub.help);
      return 0;
    }
    const want = sub.positionals;
    if (want && (positionals.length < want.min || positionals.length > want.max)) {
      throw new UsageError(positionals.length < want.min ? 'missing the FILE to write' : `too many arguments: ${positionals.slice(want.max).join(' ')}`);
    }
    return await sub.run(values as Record<string, string | boolean | undefined>, positionals);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (err instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_'))) {
      process.stderr.write(`opsbot ${name}: ${(err as Error).message}\nTry 'opsbot ${name} --help'.\n`);
      return 2;
    }
    throw err;
  }
}

cli(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`opsbot: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
