import { describe, expect, it } from 'vitest';
import { PAGE_SIZE, codeBlock, escapeFences, splitPages } from '../../src/discord/pages.js';

describe('pagination', () => {
  it('keeps every line, in order, on pages no larger than the page size', () => {
    const text = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'x'.repeat(i % 120)}`).join('\n');
    const pages = splitPages(text, PAGE_SIZE);
    expect(pages.length).toBeGreaterThan(100);
    expect(Math.max(...pages.map((p) => p.length))).toBeLessThanOrEqual(PAGE_SIZE);
    expect(pages.join('\n')).toBe(text);
  });

  it('cuts a line longer than a page without losing characters', () => {
    const long = 'y'.repeat(PAGE_SIZE * 2 + 7);
    const pages = splitPages(`a\n${long}\nb`, PAGE_SIZE);
    expect(pages.join('').replace(/\n/g, '')).toBe(`a${long}b`);
    expect(pages.every((p) => p.length <= PAGE_SIZE)).toBe(true);
  });

  it('gives one empty page for empty output', () => {
    expect(splitPages('', PAGE_SIZE)).toEqual(['']);
  });

  it('does not let output close the code block', () => {
    const block = codeBlock(escapeFences('before ``` after'));
    expect(block.match(/```/g)).toHaveLength(2);
  });
});

describe('page cache', () => {
  it('stays within its character budget, dropping the least recently used first', async () => {
    const { PageCache } = await import('../../src/discord/pages.js');
    const cache = new PageCache(100);
    const entry = (n: number) => ({ title: 't', attachment: 't.txt', pages: ['x'.repeat(n)] });
    cache.set('a', entry(40));
    cache.set('b', entry(40));
    cache.get('a');
    cache.set('c', entry(40));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
    cache.set('huge', entry(500));
    expect(cache.get('huge')).toBeUndefined();
  });
});
