/**
 * Splits output into pages on line boundaries; a line longer than a page is cut into pieces.
 * Nothing is dropped: joining the pages with '\n' (where a line ended) gives the text back.
 */
export function splitPages(text: string, pageSize: number): string[] {
  const pages: string[] = [];
  let current = '';
  const flush = () => {
    pages.push(current);
    current = '';
  };
  for (const line of text.replace(/\n$/, '').split('\n')) {
    if (line.length > pageSize) {
      if (current.length > 0) flush();
      for (let i = 0; i < line.length; i += pageSize) {
        current = line.slice(i, i + pageSize);
        if (i + pageSize < line.length) flush();
      }
      continue;
    }
    const next = current.length === 0 ? line : `${current}\n${line}`;
    if (next.length > pageSize && current.length > 0) {
      flush();
      current = line;
    } else {
      current = next;
    }
  }
  if (current.length > 0 || pages.length === 0) flush();
  return pages;
}

/** Output inside a code block must not close the block early. */
export function escapeFences(text: string): string {
  return text.replace(/```/g, '`\u200b``');
}

/** Wraps already-escaped text in a code block. */
export function codeBlock(escaped: string): string {
  return `\`\`\`\n${escaped}\n\`\`\``;
}

/**
 * Characters a page may hold: the fenced page, its title and footer (≤ ~3900) plus the status
 * embed (≤ 2000, see render.ts) stay under Discord's 6000 characters per message.
 */
export const PAGE_SIZE = 3500;

/** What a page click needs of a stored output, split once. */
export interface PagedOutput {
  title: string;
  attachment: string;
  pages: string[];
}

/**
 * The split pages of recently shown outputs, so ◀ ▶ neither re-reads a large output from the
 * database nor re-splits it on every click. Bounded by characters; the least recently used go first.
 */
export class PageCache {
  private readonly entries = new Map<string, PagedOutput & { size: number }>();
  private total = 0;
  constructor(private readonly maxChars = 16_000_000) {}

  get(outputId: string): PagedOutput | undefined {
    const e = this.entries.get(outputId);
    if (e) {
      this.entries.delete(outputId);
      this.entries.set(outputId, e);
    }
    return e;
  }

  set(outputId: string, value: PagedOutput): PagedOutput {
    const size = value.pages.reduce((t, p) => t + p.length, 0);
    if (size > this.maxChars) return value;
    const old = this.entries.get(outputId);
    if (old) this.total -= old.size;
    this.entries.delete(outputId);
    this.entries.set(outputId, { ...value, size });
    this.total += size;
    for (const [id, e] of this.entries) {
      if (this.total <= this.maxChars) break;
      this.entries.delete(id);
      this.total -= e.size;
    }
    return value;
  }
}
