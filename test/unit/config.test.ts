import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ConfigError, loadEnv, parseConfig } from '../../src/config/load.js';
import { runbooks } from '../../runbooks/index.js';

const example = readFileSync('opsbot.example.yaml', 'utf8');

/** The example with one key replaced (path as dotted keys; array indexes as numbers). */
function withKey(path: (string | number)[], value: unknown): string {
  const doc = parse(example) as Record<string, unknown>;
  let node: Record<string | number, unknown> = doc;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return stringify(doc);
}

function problemsOf(text: string): string[] {
  try {
    parseConfig(text, 'opsbot.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('config unexpectedly valid');
}

describe('configuration', () => {
  it('loads the documented example', () => {
    const cfg = parseConfig(example);
    expect(cfg.hosts[0]?.name).toBe('production');
    expect(cfg.gates.expiryMinutes).toBe(5);
    expect(cfg.alerts[0]?.runbook).toBe('restart');
  });

  const cases: [string, (string | number)[], unknown][] = [
    ['discord.guildId', ['discord', 'guildId'], 'not-a-snowflake'],
    ['discord.alertsChannel', ['discord', 'alertsChannel'], ''],
    ['discord.roles.viewer', ['discord', 'roles', 'viewer'], undefined],
    ['discord.roles.operator', ['discord', 'roles', 'operator'], 42],
    ['discord.roles.approver', ['discord', 'roles', 'approver'], undefined],
    ['hosts', ['hosts'], []],
    ['hosts.0.name', ['hosts', 0, 'name'], 'Prod Server'],
    ['hosts.0.transport', ['hosts', 0, 'transport'], 'telnet'],
    ['hosts.0.address', ['hosts', 0, 'address'], ''],
    ['hosts.0.port', ['hosts', 0, 'port'], 70000],
    ['hosts.0.user', ['hosts', 0, 'user'], undefined],
    ['hosts.0.keyPath', ['hosts', 0, 'keyPath'], ''],
    ['hosts.0.hostKeyFingerprint', ['hosts', 0, 'hostKeyFingerprint'], 'aa:bb:cc'],
    ['hosts.0.projectDir', ['hosts', 0, 'projectDir'], 'relative/dir'],
    ['hosts.0.composeFiles', ['hosts', 0, 'composeFiles'], []],
    ['hosts.0.compose', ['hosts', 0, 'compose'], 'v3'],
    ['hosts.0.commandTimeoutSeconds', ['hosts', 0, 'commandTimeoutSeconds'], 0],
    ['hosts.0.healthChecks.adonisjs.url', ['hosts', 0, 'healthChecks', 'adonisjs', 'url'], 'ftp://x'],
    ['defaultHost', ['defaultHost'], 'staging'],
    ['gates.expiryMinutes', ['gates', 'expiryMinutes'], -1],
    ['report.schedule', ['report', 'schedule'], 'x'],
    ['database.path', ['database', 'path'], ''],
    ['database.keepOutputDays', ['database', 'keepOutputDays'], 0],
    ['http.listen', ['http', 'listen'], 'nope'],
    ['alerts.0.runbook', ['alerts', 0, 'runbook'], ''],
    ['log.level', ['log', 'level'], 'loud'],
  ];
  it.each(cases)('an invalid %s is reported by its key', (key, path, value) => {
    const problems = problemsOf(withKey(path, value));
    expect(problems.some((p) => p.startsWith(`${key}:`)), problems.join('\n')).toBe(true);
  });

  it('reports duplicate host names by key', () => {
    const doc = parse(example) as { hosts: { name: string }[] };
    doc.hosts.push({ ...doc.hosts[0]! });
    expect(problemsOf(stringify(doc)).some((p) => p.startsWith('hosts.1.name:'))).toBe(true);
  });

  it('refuses runbook ids it does not know, naming the key and the known ids (a typo would drop four-eyes)', () => {
    const known = `known: ${runbooks.map((r) => r.id).join(', ')}`;
    expect(problemsOf(withKey(['gates', 'fourEyes'], ['restart', 'Restart']))).toEqual([`gates.fourEyes.1: names no runbook "Restart" (${known})`]);
    expect(problemsOf(withKey(['alerts', 0, 'runbook'], 'restrat'))).toEqual([`alerts.0.runbook: names no runbook "restrat" (${known})`]);
    expect(parseConfig(withKey(['gates', 'fourEyes'], ['restart'])).gates.fourEyes).toEqual(['restart']);
  });

  it('says when the file is not YAML', () => {
    expect(problemsOf('discord: [unclosed')[0]).toMatch(/not valid YAML/);
  });

  it('needs DISCORD_TOKEN from the environment and checks DISCORD_API_URL', () => {
    expect(() => loadEnv({})).toThrow(/DISCORD_TOKEN/);
    expect(() => loadEnv({ DISCORD_TOKEN: 'x'.repeat(30), DISCORD_API_URL: 'not a url' })).toThrow(/DISCORD_API_URL/);
    expect(loadEnv({ DISCORD_TOKEN: 'x'.repeat(30) }).OPSBOT_CONFIG).toBe('./opsbot.yaml');
  });
});
