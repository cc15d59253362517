import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { buildCommands } from '../../commands/index.js';
import { runbooks } from '../../runbooks/index.js';
import { helpLines, rolesOf } from '../../src/engine/catalog.js';
import { completerOf } from '../../src/engine/runbook.js';
import { FormErrors } from '../discord-double/errors.js';
import { validateCommandList } from '../discord-double/limits.js';

const hostOption = (hosts: string[], name: string) => buildCommands(hosts).find((c) => c.data.name === name)?.data.options?.find((o) => o.name === 'host');

describe('slash command definitions', () => {
  it.each([[['production']], [['vps-1', 'vps-2']], [Array.from({ length: 30 }, (_, i) => `host-${i}`)]])('are valid for Discord with hosts %j', (hosts) => {
    const errors = new FormErrors();
    validateCommandList(errors, buildCommands(hosts).map((c) => c.data));
    expect(errors.flat).toEqual([]);
  });

  it('offer a host option only when there is more than one host, autocompleted (a host, a group or all) rather than 25 fixed choices', () => {
    expect(hostOption(['production'], 'restart')).toBeUndefined();
    for (const name of ['ps', 'stats', 'restart', 'logs', 'top', 'report']) {
      const o = hostOption(['vps-1', 'vps-2'], name);
      expect(o, name).toMatchObject({ autocomplete: true });
      expect(o && 'choices' in o ? o.choices : undefined, name).toBeUndefined();
    }
  });

  it('every runbook a command names exists, with the seed documentation filled in', () => {
    const ids = new Set(runbooks.map((r) => r.id));
    for (const id of ['ps', 'restart', 'stats', 'logs', 'top']) expect(ids.has(id)).toBe(true);
    for (const r of runbooks) {
      expect(r.summary.length).toBeGreaterThan(10);
      expect(r.docs.trigger.length + r.docs.expected.length + r.docs.escalation.length).toBeGreaterThan(0);
      expect(r.steps.every((s) => !s.mutates || typeof s.plan === 'function'), `${r.id}: a mutating step must say what it will run`).toBe(true);
    }
  });
});

describe('/runbook, generated from the runbook definitions', () => {
  type Opt = { name: string; type: number; required?: boolean; min_value?: number; max_value?: number; autocomplete?: boolean; choices?: { value: string }[]; options?: Opt[] };
  const runbookData = (hosts: string[]) => buildCommands(hosts).find((c) => c.data.name === 'runbook')!.data as unknown as { options: Opt[] };
  const OPTION_TYPE = { string: 3, integer: 4, boolean: 5, number: 10 } as const;

  it.each([[['production']], [Array.from({ length: 30 }, (_, i) => `host-${i}`)]])('has one subcommand per runbook plus list and help, within Discord limits, with hosts %j', (hosts) => {
    const subs = runbookData(hosts).options;
    expect(subs.map((s) => s.name)).toEqual(['list', 'help', ...runbooks.map((r) => r.id)]);
    expect(subs.length).toBeLessThanOrEqual(25);
    expect(subs.every((s) => s.type === 1)).toBe(true);
    // The host is autocompleted, not offered as choices: the size must not grow with hosts × runbooks.
    const hostOpts = subs.flatMap((s) => s.options ?? []).filter((o) => o.name === 'host');
    expect(hostOpts).toHaveLength(hosts.length > 1 ? runbooks.length : 0);
    expect(hostOpts.every((o) => o.autocomplete === true && o.choices === undefined)).toBe(true);
    const help = subs.find((s) => s.name === 'help')!.options![0]!;
    expect(help.choices?.map((c) => c.value)).toEqual(runbooks.map((r) => r.id));
  });

  it.each(runbooks.map((r) => [r.id, r] as const))('%s: its options match its zod params (type, required, range, choices, autocomplete)', (id, rb) => {
    const sub = runbookData(['production']).options.find((s) => s.name === id)!;
    const opts = sub.options ?? [];
    const shape = (rb.params as unknown as z.ZodObject).shape as Record<string, z.ZodType>;
    const offered = Object.keys(shape).filter((k) => !(rb.internalParams ?? []).includes(k));
    expect(opts.map((o) => o.name).sort()).toEqual(offered.sort());
    // Required options come first, as Discord demands.
    const firstOptional = opts.findIndex((o) => o.required !== true);
    expect(firstOptional === -1 || opts.slice(firstOptional).every((o) => o.required !== true)).toBe(true);
    const sample = (o: Opt): unknown => (o.type === OPTION_TYPE.integer || o.type === OPTION_TYPE.number ? (o.min_value ?? 1) : o.type === OPTION_TYPE.boolean ? true : (o.choices?.[0]?.value ?? 'adonisjs'));
    const required = Object.fromEntries(opts.filter((o) => o.required === true).map((o) => [o.name, sample(o)]));
    // What Discord can send for the required options is accepted; leaving one out is refused.
    expect(rb.params.safeParse(required).success, JSON.stringify(required)).toBe(true);
    for (const o of opts) {
      const key = o.name;
      if (o.required === true) {
        const { [key]: _gone, ...without } = required;
        expect(rb.params.safeParse(without).success, `${key} is required`).toBe(false);
      }
      const withValue = (v: unknown) => rb.params.safeParse({ ...required, [key]: v }).success;
      if (o.type === OPTION_TYPE.integer) {
        expect(withValue(1.5), `${key} is an integer`).toBe(false);
        if (o.min_value !== undefined) expect([withValue(o.min_value), withValue(o.min_value - 1)], `${key} ≥ ${o.min_value}`).toEqual([true, false]);
        if (o.max_value !== undefined) expect([withValue(o.max_value), withValue(o.max_value + 1)], `${key} ≤ ${o.max_value}`).toEqual([true, false]);
      }
      if (o.type === OPTION_TYPE.boolean) expect(withValue('yes')).toBe(false);
      if (o.choices) {
        for (const c of o.choices) expect(withValue(c.value)).toBe(true);
        expect(withValue('not-a-choice')).toBe(false);
      }
      expect(o.autocomplete === true, `${key} autocompleted iff a service param or suggested by the runbook`).toBe(o.choices === undefined && ((rb.serviceParams ?? ([] as string[])).includes(key) || completerOf(rb, key) !== undefined));
    }
  });

  it('gives every runbook the seed section it implements and who may run it', () => {
    for (const r of runbooks) expect(r.docs.seedSection, r.id).toMatch(/\w{4}/);
    const byId = Object.fromEntries(runbooks.map((r) => [r.id, r]));
    expect(rolesOf(byId.health!)).toEqual({ start: 'viewer', confirm: null });
    expect(rolesOf(byId.restart!)).toEqual({ start: 'operator', confirm: 'operator' });
    expect(rolesOf(byId.restart!, ['restart'])).toEqual({ start: 'operator', confirm: 'approver' });
    const help = helpLines(byId['high-usage']!).join('\n');
    expect(help).toMatch(/4\. Scale up \(temporary mitigation\) — \*\*changes the host\*\*/);
    expect(help).toMatch(/1\. Container stats — read-only/);
    expect(help).toMatch(/`replicas` \(integer 1–10\)/);
    expect(help).toMatch(/Seed section:\*\* Handle High CPU\/Memory Usage/);
  });
});
