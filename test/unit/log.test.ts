import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';

const KEY_BODY = ['MIIEowIBAAKCAQEAvqbBrQ3kfT0l5mZp3Vx8Yw2N6hJ9gT4cR1sL0aK7eD2fH5jM', 'Qy9UrXk1aP2z8QmW7eR4tY6uI0oP3aS5dF8gH1jK4lZ7xC9vB2nM6qW0eR3tY5uI'];

function capture(): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      cb();
    },
  });
  return { lines, log: createLogger('debug', sink) };
}

describe('the log', () => {
  it('redacts fields before they are serialized: escaped quotes, cut keys, error messages, stacks and causes', () => {
    const { lines, log } = capture();
    const cause = new Error('auth failed for redis://:cause-pw-123@cache:6379');
    const err = new Error('connect failed: DB_PASSWORD="hunter2x"', { cause });
    log.warn(
      {
        stderr: `DB_PASSWORD="hunter2y"\nwarning: key in output\n${KEY_BODY.join('\n')}\n-----END RSA PRIVATE KEY-----`,
        argv: ['redis-server', '--requirepass', 'argv-secret-1'],
        err,
      },
      'step failed with API_TOKEN=msg-secret-9',
    );
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    for (const secret of ['argv-secret-1', 'hunter2x', 'hunter2y', 'cause-pw-123', 'msg-secret-9', ...KEY_BODY]) expect(line).not.toContain(secret);
    const parsed = JSON.parse(line) as { err: { message: string; stack: string; cause?: { message: string } }; stderr: string; msg: string };
    expect(parsed.err.message).toBe('connect failed: DB_PASSWORD="[redacted]"');
    expect(parsed.err.stack).toContain('connect failed: DB_PASSWORD="[redacted]"');
    expect(JSON.stringify(parsed.err)).toContain('redis://:[redacted]@cache');
    expect(parsed.stderr).toContain('warning: key in output');
    expect(parsed.msg).toBe('step failed with API_TOKEN=[redacted]');
  });

  it('a secret given as the argument after its flag in an argv array is found by reading the argv as one command line', () => {
    const { lines, log } = capture();
    log.info({ argv: ['mysql', '-u', 'root', '-pArgvPass77'] }, 'ran');
    expect(lines[0]).not.toContain('ArgvPass77');
  });
});
