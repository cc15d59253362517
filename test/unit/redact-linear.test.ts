import { describe, expect, it } from 'vitest';
import { redact } from '../../src/engine/redact.js';

/**
 * Service logs are attacker-controlled text. These inputs made the old rules backtrack over every
 * position (an unanchored `[\w.-]*` before the secret word): 8 KB took 89 ms, 32 KB 1.4 s, so the
 * 512 KB lines below would block the event loop for many minutes. Linear rules return at once, so
 * this test finishes; its assertions are on the output, which must be exact (nothing here is a
 * secret, and a secret at the end of each line is still found).
 */
const SIZE = 512 * 1024;
const fill = (unit: string): string => unit.repeat(Math.ceil(SIZE / unit.length)).slice(0, SIZE);

describe('redaction on hostile input', () => {
  it.each([
    ['a long dotted path in a request line', `GET /${fill('a.')} HTTP/1.1`],
    ['one long token', fill('abcdefghij0123456789')],
    ['a long token of word characters and dashes', fill('a-')],
    ['many = and :', fill('a=b:')],
    ['key-like runs without a separator', fill('PASSWORD.')],
    ['scheme-like runs', fill('a://')],
    ['many tokens before a separator', fill('x.y-z ')],
    ['JWT-like and Discord-like starts', fill('eyJ-M-O-')],
  ])('leaves %s intact and still masks a secret after it', (_name, hostile) => {
    const line = `${hostile} DB_PASSWORD=hunter2secret`;
    const out = redact(line);
    expect(out.startsWith(hostile)).toBe(true);
    expect(out).not.toContain('hunter2secret');
    expect(out.endsWith('DB_PASSWORD=[redacted]')).toBe(true);
  });

  it('masks URL credentials after a long run of scheme separators', () => {
    const out = redact(`${fill('x://')} redis://:s3cretpw@cache:6379`);
    expect(out).not.toContain('s3cretpw');
  });
});
