import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { commandLine, quoteArg } from '../../src/host/quote.js';

const hostile = ['; rm -rf /', '&& id', '$(id)', '`id`', 'a\nb', `it's "quoted"`, '-rf', '../../etc/passwd', 'ａｄｏｎｉｓｊｓ', '$HOME', '*', 'x'.repeat(10_000), ''];

describe('argv quoting', () => {
  it.each(hostile.map((h) => [h.slice(0, 30), h]))('passes %j to the program as one literal argument', (_label, arg) => {
    const out = execFileSync('sh', ['-c', commandLine(['printf', '%s', arg])], { encoding: 'utf8' });
    expect(out).toBe(arg);
  });

  it('quotes the working directory too', () => {
    expect(commandLine(['ls'], "/srv/my dir; id")).toBe(`cd '/srv/my dir; id' && exec ls`);
  });

  it('refuses NUL bytes', () => {
    expect(() => quoteArg('a\0b')).toThrow(/NUL/);
  });
});
