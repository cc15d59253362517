import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostSchema } from '../../src/config/schema.js';
import { checkDatabase, checkHost, checkToken, formatChecks, guardCheck } from '../../src/doctor.js';

describe('opsbot doctor checks', () => {
  it("tells a bot token's shape from the usual wrong pastes", () => {
    const id = Buffer.from('123456789012345678').toString('base64url');
    expect(checkToken(`${id}.GabcdE.${'x'.repeat(38)}`)).toMatchObject({ ok: true, detail: 'shaped like a bot token for application 123456789012345678' });
    expect(checkToken(undefined)).toMatchObject({ ok: false, detail: 'DISCORD_TOKEN is not set' });
    expect(checkToken(`Bot ${id}.GabcdE.${'x'.repeat(38)}`)).toMatchObject({ ok: false, detail: 'DISCORD_TOKEN starts with "Bot "' });
    expect(checkToken('a'.repeat(32))).toMatchObject({ ok: false, detail: 'DISCORD_TOKEN is only 32 characters', fix: expect.stringContaining('not the client secret') });
  });

  it('tells a guarded host key from one that runs any command', () => {
    expect(guardCheck({ exitCode: 126, stderr: 'opsbot-guard: refused: not a command opsbot sends: true\n' }, 'deploy')).toMatchObject({ ok: true, name: 'host guard' });
    expect(guardCheck({ exitCode: 0, stderr: '' }, 'deploy')).toMatchObject({ ok: false, detail: expect.stringContaining('runs any command as deploy'), fix: expect.stringContaining('opsbot-guard') });
    expect(guardCheck({ exitCode: 1, stderr: 'something else\n' }, 'deploy')).toMatchObject({ ok: false, detail: expect.stringContaining('cannot tell') });
  });

  it('finds the database writable, or says why not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsbot-doctor-'));
    expect(checkDatabase(join(dir, 'sub', 'opsbot.db'))).toMatchObject({ ok: true, detail: expect.stringContaining('will be created') });
    const file = join(dir, 'junk.db');
    writeFileSync(file, 'not a database, just text that is long enough to be read as a header by SQLite........');
    expect(checkDatabase(file)).toMatchObject({ ok: false, detail: expect.stringContaining('file is not a database') });
    if (process.getuid?.() !== 0) {
      chmodSync(file, 0o400);
      expect(checkDatabase(file).ok).toBe(false);
    }
  });

  it('a local host whose project directory is missing: ✘ with the fix, nothing else tried', async () => {
    const checks = await checkHost(hostSchema.parse({ name: 'here', transport: 'local', projectDir: '/nonexistent/project' }));
    expect(checks).toEqual([{ scope: 'here', name: 'project dir', ok: false, detail: '/nonexistent/project does not exist', fix: expect.stringContaining('create it or fix projectDir') }]);
    const table = formatChecks([{ scope: 'discord', name: 'token', ok: true, detail: 'fine' }, ...checks]);
    expect(table.split('\n')).toEqual([
      '✔ discord  token        fine',
      '✘ here     project dir  /nonexistent/project does not exist',
      '                        fix: projectDir must be the directory of the compose project: create it or fix projectDir',
      '',
      '1 of 2 checks failed.',
    ]);
  });
});
