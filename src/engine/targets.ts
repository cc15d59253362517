import { ALL_HOSTS } from '../config/schema.js';
import { UserError } from './errors.js';
import type { Suggestion } from './runbook.js';

/** What target resolution reads of a configured host. */
export interface TargetHost {
  name: string;
  groups: readonly string[];
  labels: Readonly<Record<string, string>>;
}

/** What a `host:` value names: one host, a group of hosts, or every host (`all`). */
export interface Target {
  kind: 'host' | 'group' | 'all';
  /** The value as given (the default host's name when none was). */
  name: string;
  /** The hosts it stands for, in configuration order; never empty. */
  hosts: string[];
}

/** Every group and its hosts, in configuration order. */
export function groupsOf(hosts: readonly TargetHost[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const h of hosts) for (const g of h.groups) groups.set(g, [...(groups.get(g) ?? []), h.name]);
  return groups;
}

/**
 * A `host:` option's value as the hosts it stands for. No value is the default host (the first
 * when none is configured); an unknown value is a user error that lists what there is.
 */
export function resolveTarget(hosts: readonly TargetHost[], value: string | undefined, defaultHost?: string): Target {
  if (value === undefined) {
    const name = defaultHost ?? hosts[0]?.name;
    if (name === undefined || !hosts.some((h) => h.name === name)) throw new UserError('host.unknown', 'No host is configured.');
    return { kind: 'host', name, hosts: [name] };
  }
  if (hosts.some((h) => h.name === value)) return { kind: 'host', name: value, hosts: [value] };
  if (value === ALL_HOSTS) return { kind: 'all', name: value, hosts: hosts.map((h) => h.name) };
  const groups = groupsOf(hosts);
  const members = groups.get(value);
  if (members) return { kind: 'group', name: value, hosts: members };
  const known = [`hosts: ${hosts.map((h) => h.name).join(', ')}`, ...(groups.size > 0 ? [`groups: ${[...groups.keys()].join(', ')}`] : []), `or ${ALL_HOSTS}`];
  throw new UserError('host.unknown', `Unknown host or group "${value}". Known ${known.join('; ')}. Nothing was run.`);
}

const plural = (n: number) => `${n} host${n === 1 ? '' : 's'}`;

/**
 * What a `host:` option suggests: every group and `all` with how many hosts each stands for (when
 * there is more than one host), then every host with its groups and labels. Every command takes a
 * group: read-only ones fan out over it, ones that change hosts roll out over it.
 */
export function targetSuggestions(hosts: readonly TargetHost[]): Suggestion[] {
  const out: Suggestion[] = [];
  if (hosts.length > 1) {
    out.push({ value: ALL_HOSTS, label: `${ALL_HOSTS} (${plural(hosts.length)})` });
    for (const [g, members] of groupsOf(hosts)) out.push({ value: g, label: `${g} (${plural(members.length)})` });
  }
  for (const h of hosts) {
    const about = [...h.groups, ...Object.entries(h.labels).map(([k, v]) => `${k}=${v}`)];
    out.push({ value: h.name, label: about.length > 0 ? `${h.name} · ${about.join(', ')}` : h.name });
  }
  return out;
}
