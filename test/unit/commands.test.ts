import { describe, expect, it } from 'vitest';
import { buildCommands } from '../../commands/index.js';
import { runbooks } from '../../runbooks/index.js';
import { FormErrors } from '../discord-double/errors.js';
import { validateCommandList } from '../discord-double/limits.js';

const hostOption = (hosts: string[], name: string) => buildCommands(hosts).find((c) => c.data.name === name)?.data.options?.find((o) => o.name === 'host');

describe('slash command definitions', () => {
  it.each([[['production']], [['vps-1', 'vps-2']], [Array.from({ length: 30 }, (_, i) => `host-${i}`)]])('are valid for Discord with hosts %j', (hosts) => {
    const errors = new FormErrors();
    validateCommandList(errors, buildCommands(hosts).map((c) => c.data));
    expect(errors.flat).toEqual([]);
  });

  it('offer a host choice only when there is more than one host', () => {
    expect(hostOption(['production'], 'restart')).toBeUndefined();
    expect(hostOption(['vps-1', 'vps-2'], 'restart')).toMatchObject({ choices: [{ name: 'vps-1', value: 'vps-1' }, { name: 'vps-2', value: 'vps-2' }] });
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
