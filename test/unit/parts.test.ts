import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { hostSchema } from '../../src/config/schema.js';
import { missingParts } from '../../src/engine/parts.js';
import { defineRunbook } from '../../src/engine/runbook.js';
import type { Host } from '../../src/host/index.js';

const base = { name: 'vps', transport: 'local', projectDir: '/srv/app' };
const hostWith = (parts: Record<string, unknown>, services: string[], extra: Record<string, unknown> = {}) =>
  ({ name: 'vps', config: hostSchema.parse({ ...base, parts, ...extra }), services: async () => services }) as unknown as Host;
const rb = (needs: NonNullable<ReturnType<typeof defineRunbook>['needs']>) =>
  defineRunbook({ id: 'x', title: 'x', summary: 'x', docs: { trigger: [], expected: [], escalation: [] }, params: z.object({}), needs, steps: [] });

describe('host parts', () => {
  it("default to the seed's names and are validated", () => {
    expect(hostSchema.parse(base).parts).toMatchObject({ proxy: 'reverse-proxy', database: 'mongo', updater: 'watchtower', backupsDir: '/backups', githubTokenEnv: 'GITHUB_TOKEN' });
    expect(hostSchema.safeParse({ ...base, parts: { database: 'mongo; rm -rf /' } }).success).toBe(false);
    expect(hostSchema.safeParse({ ...base, parts: { githubRepo: 'no-slash' } }).success).toBe(false);
  });

  it('a runbook whose service part the host lacks says which service and which setting', async () => {
    expect(await missingParts(rb(['proxy', 'database']), hostWith({}, ['reverse-proxy', 'mongo']))).toEqual([]);
    expect(await missingParts(rb(['proxy', 'database']), hostWith({ database: 'db' }, ['reverse-proxy', 'mongo']))).toEqual(['no service `db` on host vps (`parts.database`)']);
    expect(await missingParts(rb(['prometheus', 'github']), hostWith({}, []))).toEqual([
      'no Prometheus configured (`prometheusUrl`) for host vps',
      'no GitHub repository configured (`parts.githubRepo`) for host vps',
    ]);
    expect(await missingParts(rb(['prometheus', 'github']), hostWith({ githubRepo: 'o/r' }, [], { prometheusUrl: 'http://127.0.0.1:9090' }))).toEqual([]);
  });
});
