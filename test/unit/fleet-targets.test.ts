import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { isUserError } from '../../src/engine/errors.js';
import { resolveTarget, targetSuggestions, type TargetHost } from '../../src/engine/targets.js';

const example = parse(readFileSync('opsbot.example.yaml', 'utf8')) as { hosts: Record<string, unknown>[] } & Record<string, unknown>;

/** The example with its one host copied under these names, each with the given extra keys. */
function withHosts(hosts: Record<string, unknown>[]): string {
  return stringify({ ...example, hosts: hosts.map((h) => ({ ...example.hosts[0], groups: [], labels: {}, ...h })) });
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

describe('fleet configuration: groups and labels', () => {
  it('takes groups and labels per host; both are optional, and fleet has defaults', () => {
    const cfg = parseConfig(withHosts([{ name: 'web-1', groups: ['production', 'eu'], labels: { region: 'eu-west' } }, { name: 'web-2', groups: undefined, labels: undefined }]));
    expect(cfg.hosts.map((h) => [h.name, h.groups, h.labels])).toEqual([
      ['web-1', ['production', 'eu'], { region: 'eu-west' }],
      ['web-2', [], {}],
    ]);
    expect(cfg.fleet).toEqual({ concurrency: 8, hostTimeoutSeconds: 30 });
  });

  it('the documented example has groups and labels, and they load', () => {
    const cfg = parseConfig(readFileSync('opsbot.example.yaml', 'utf8'));
    expect(cfg.hosts[0]?.groups.length).toBeGreaterThan(0);
    expect(Object.keys(cfg.hosts[0]?.labels ?? {}).length).toBeGreaterThan(0);
  });

  it.each([
    ['a group named like a host', [{ name: 'web-1', groups: ['web-2'] }, { name: 'web-2' }], 'hosts.0.groups.0: group "web-2" has the name of a host'],
    ['a group called all', [{ name: 'web-1', groups: ['all'] }], 'hosts.0.groups.0: "all" is reserved'],
    ['a host called all', [{ name: 'all' }], 'hosts.0.name: "all" is reserved'],
    ['an upper-case group', [{ name: 'web-1', groups: ['Prod'] }], 'hosts.0.groups.0: must be 1–32 lowercase letters'],
    ['a group with a space', [{ name: 'web-1', groups: ['eu west'] }], 'hosts.0.groups.0: must be 1–32 lowercase letters'],
    ['a group starting with a digit', [{ name: 'web-1', groups: ['1eu'] }], 'hosts.0.groups.0: must be 1–32 lowercase letters'],
    ['a group listed twice', [{ name: 'web-1', groups: ['eu', 'eu'] }], 'hosts.0.groups.1: group "eu" is listed twice'],
    ['an odd label key', [{ name: 'web-1', labels: { 'Region!': 'x' } }], 'hosts.0.labels.Region!: label keys must be'],
    ['an empty label value', [{ name: 'web-1', labels: { region: '' } }], 'hosts.0.labels.region:'],
  ])('refuses %s, naming the key', (_what, hosts, problem) => {
    expect(problemsOf(withHosts(hosts)).some((p) => p.startsWith(problem))).toBe(true);
  });

  it('refuses fleet settings out of range', () => {
    const text = stringify({ ...parse(withHosts([{ name: 'web-1' }])), fleet: { concurrency: 0, hostTimeoutSeconds: 0 } });
    const problems = problemsOf(text);
    expect(problems.some((p) => p.startsWith('fleet.concurrency:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('fleet.hostTimeoutSeconds:'))).toBe(true);
  });
});

const fleet: TargetHost[] = [
  { name: 'web-1', groups: ['production', 'eu'], labels: { region: 'eu-west' } },
  { name: 'web-2', groups: ['production'], labels: {} },
  { name: 'worker', groups: ['eu'], labels: {} },
  { name: 'staging', groups: [], labels: {} },
];

describe('target resolution: a host, a group or all', () => {
  it('a host name is that host alone', () => {
    expect(resolveTarget(fleet, 'worker')).toEqual({ kind: 'host', name: 'worker', hosts: ['worker'] });
  });

  it('a group is its hosts, in configuration order', () => {
    expect(resolveTarget(fleet, 'production')).toEqual({ kind: 'group', name: 'production', hosts: ['web-1', 'web-2'] });
    expect(resolveTarget(fleet, 'eu')).toEqual({ kind: 'group', name: 'eu', hosts: ['web-1', 'worker'] });
  });

  it('all is every host', () => {
    expect(resolveTarget(fleet, 'all')).toEqual({ kind: 'all', name: 'all', hosts: ['web-1', 'web-2', 'worker', 'staging'] });
  });

  it('no value is the default host, else the first', () => {
    expect(resolveTarget(fleet, undefined)).toEqual({ kind: 'host', name: 'web-1', hosts: ['web-1'] });
    expect(resolveTarget(fleet, undefined, 'staging')).toEqual({ kind: 'host', name: 'staging', hosts: ['staging'] });
  });

  it('an unknown value is a user error listing hosts, groups and all', () => {
    let err: unknown;
    try {
      resolveTarget(fleet, 'prod');
    } catch (e) {
      err = e;
    }
    expect(isUserError(err)).toBe(true);
    expect((err as Error).message).toBe('Unknown host or group "prod". Known hosts: web-1, web-2, worker, staging; groups: production, eu; or all. Nothing was run.');
  });

  it('suggests all and groups with their sizes, then hosts with groups and labels; hosts only when there is one', () => {
    expect(targetSuggestions(fleet)).toEqual([
      { value: 'all', label: 'all (4 hosts)' },
      { value: 'production', label: 'production (2 hosts)' },
      { value: 'eu', label: 'eu (2 hosts)' },
      { value: 'web-1', label: 'web-1 · production, eu, region=eu-west' },
      { value: 'web-2', label: 'web-2 · production' },
      { value: 'worker', label: 'worker · eu' },
      { value: 'staging', label: 'staging' },
    ]);
    expect(targetSuggestions(fleet.slice(0, 1)).map((s) => s.value)).toEqual(['web-1']);
  });
});
