import { inspect } from 'node:util';
import { ago } from '../engine/engine.js';
import type { OutputBlock, RunView } from '../engine/view.js';

type Style = 'bold' | 'italic' | 'dim' | 'red' | 'green' | 'yellow' | 'blue' | 'cyan' | 'gray';

/** Colours only on a terminal that wants them (https://no-color.org). */
export function colourEnabled(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.NO_COLOR ?? '') !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

export class Painter {
  constructor(readonly enabled: boolean) {}
  paint(style: Style, text: string): string {
    // The codes themselves, not util.styleText: whether to colour is decided once, here (styleText
    // also reads NO_COLOR/FORCE_COLOR itself, differently across Node versions).
    const [open, close] = inspect.colors[style] ?? [0, 0];
    return this.enabled ? `\x1b[${open}m${text}\x1b[${close}m` : text;
  }
}

const STATUS: Record<RunView['status'], { icon: string; word: string; style: Style }> = {
  succeeded: { icon: '✔', word: 'succeeded', style: 'green' },
  failed: { icon: '✘', word: 'failed', style: 'red' },
  running: { icon: '…', word: 'running', style: 'blue' },
  awaiting_confirmation: { icon: '⏸', word: 'waiting for confirmation', style: 'yellow' },
  cancelled: { icon: '🚫', word: 'cancelled', style: 'gray' },
  expired: { icon: '⌛', word: 'expired', style: 'gray' },
};

/** The engine writes a little Markdown (bold, code, fences) for Discord: shown as terminal styles. */
export function markdown(text: string, p: Painter): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) {
      fenced = !fenced;
      continue;
    }
    if (fenced) {
      out.push(`    ${p.paint('cyan', line)}`);
      continue;
    }
    out.push(
      line
        .replace(/\*\*([^*]+)\*\*/g, (_m, s: string) => p.paint('bold', s))
        .replace(/\*([^*\s][^*]*)\*/g, (_m, s: string) => p.paint('italic', s))
        .replace(/`([^`]+)`/g, (_m, s: string) => p.paint('cyan', s)),
    );
  }
  return out;
}

/** A long output's pages: whole lines, `lines` per page (a longer line stays whole: the terminal wraps it). */
export function pagesOf(text: string, lines: number): string[] {
  const all = text.replace(/\n$/, '').split('\n');
  const pages: string[] = [];
  for (let i = 0; i < all.length; i += lines) pages.push(all.slice(i, i + lines).join('\n'));
  return pages.length === 0 ? [''] : pages;
}

/** What the console can do with an action of a view, by the word typed at the prompt. */
export function actionWord(id: string): string | undefined {
  const [kind, , , decision] = id.split(':');
  if (kind === 'gate') return decision === 'confirm' ? 'confirm' : 'cancel';
  if (kind === 'rollback') return 'rollback';
  if (kind === 'logs') return 'logs';
  return undefined;
}

export interface Rendered {
  lines: string[];
  /** The first output too long to show whole: the console pages it. */
  paged?: { block: OutputBlock; pages: string[] };
}

/** A RunView as terminal lines: title and status, steps, fields as an aligned table, outputs, who, actions. */
export function renderView(view: RunView, p: Painter, pageLines: number): Rendered {
  const s = STATUS[view.status];
  const lines = [`${p.paint('bold', `── ${view.title} ──`)} ${p.paint(s.style, `${s.icon} ${s.word}`)}`];
  if (view.description) lines.push(...markdown(view.description, p));
  if (view.fields.length > 0) {
    const width = Math.min(24, Math.max(...view.fields.map((f) => f.name.length)));
    for (const f of view.fields) {
      // Values carry the same Markdown as descriptions (a fleet run's sections hold whole run results).
      const [first = '', ...rest] = markdown(f.value || '—', p);
      // Inline fields are short facts (a service's state, health, uptime): one row of a table.
      if (f.inline) lines.push(`  ${p.paint('bold', f.name.padEnd(width))}  ${[first, ...rest].join('  ·  ')}`);
      else lines.push(`  ${p.paint('bold', f.name.padEnd(width))}  ${first}`, ...rest.map((r) => `  ${' '.repeat(width)}  ${r}`));
    }
  }
  let paged: Rendered['paged'];
  for (const block of view.blocks) {
    const pages = pagesOf(block.text, pageLines);
    lines.push(p.paint('dim', `┄┄ ${block.title} (${block.text.split('\n').length} lines) ┄┄`));
    if (pages.length === 1 || paged) {
      if (pages.length === 1) lines.push(...block.text.replace(/\n$/, '').split('\n'));
      else lines.push(p.paint('dim', `   (${pages.length} pages, not shown: \`save FILE\` writes every output of this result to a file)`));
      continue;
    }
    paged = { block, pages };
    lines.push(...(pages[0] ?? '').split('\n'));
  }
  if (view.gate) {
    const who = view.gate.fourEyes ? 'someone with the approver role other than the requester' : 'someone with the operator role';
    lines.push(p.paint('yellow', `Needs ${who} to confirm · expires ${ago(view.gate.expiresAt)}`));
  }
  // Who asked and who decided is in the footer (`requested by … · confirmed by …`).
  lines.push(p.paint('dim', view.footer));
  const words = view.actions.filter((a) => !a.disabled).map((a) => actionWord(a.id)).filter((w): w is string => w !== undefined);
  if (words.length > 0) lines.push(`Actions: ${words.map((w) => p.paint('bold', w)).join(' · ')}`);
  return paged ? { lines, paged } : { lines };
}
