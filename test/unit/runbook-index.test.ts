import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runbooks } from '../../runbooks/index.js';
import { discoverRunbooks, runbookIndexFile, runbookIndexSource } from '../../src/runbook-index.js';

describe('runbooks/index.ts, generated from the files in runbooks/', () => {
  it('is what `npm run docs` makes (a new runbook is one file in runbooks/; run it after adding one)', async () => {
    expect(readFileSync(runbookIndexFile, 'utf8'), 'runbooks/index.ts is stale: run `npm run docs` and commit it').toBe(await runbookIndexSource());
  });

  it('lists every exported runbook once, in order of id; helper files add none', async () => {
    const ids = runbooks.map((r) => r.id);
    expect(ids).toEqual([...ids].sort());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ['restart', 'health', 'config-drift', 'ssh-revoke']) expect(ids).toContain(id);
    expect((await discoverRunbooks()).map((f) => f.file)).not.toContain('params.ts');
  });

  it('refuses two runbooks with one id', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsbot-rb-'));
    try {
      const body = (name: string) => `export const ${name} = { id: 'same', steps: [], docs: {}, params: { safeParse() {} } };\n`;
      writeFileSync(join(dir, 'a.ts'), body('a'));
      writeFileSync(join(dir, 'b.ts'), body('b'));
      await expect(discoverRunbooks(pathToFileURL(`${dir}/`))).rejects.toThrow(/exported twice: same \(a\.ts:a, b\.ts:b\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
