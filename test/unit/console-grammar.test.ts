import { describe, expect, it } from 'vitest';
import { runbooks } from '../../runbooks/index.js';
import { parseCommand, tokenize } from '../../src/console/grammar.js';
import { Painter, actionWord, markdown, pagesOf, renderView } from '../../src/console/render.js';

describe('the console command line', () => {
  it('reads the slash commands as the Discord bot takes them', () => {
    expect(parseCommand('/ps', runbooks)).toEqual({ kind: 'run', runbook: 'ps', params: {} });
    expect(parseCommand('/restart adonisjs', runbooks)).toEqual({ kind: 'run', runbook: 'restart', params: { service: 'adonisjs' } });
    expect(parseCommand('logs service:adonisjs lines:50', runbooks)).toEqual({ kind: 'run', runbook: 'logs', params: { service: 'adonisjs', lines: 50 } });
    expect(parseCommand('/logs adonisjs 50 host:web-2', runbooks)).toEqual({ kind: 'run', runbook: 'logs', params: { service: 'adonisjs', lines: 50 }, host: 'web-2' });
    expect(parseCommand('/runbook health', runbooks)).toMatchObject({ kind: 'run', runbook: 'health' });
    expect(parseCommand('/runbook list', runbooks)).toEqual({ kind: 'list' });
    expect(parseCommand('/runbook help runbook:restart', runbooks)).toEqual({ kind: 'help', runbook: 'restart' });
    expect(parseCommand('/runbook help restart', runbooks)).toEqual({ kind: 'help', runbook: 'restart' });
    expect(parseCommand('/audit count:5', runbooks)).toEqual({ kind: 'audit', count: 5 });
    expect(parseCommand('/audit run:rAbC123xyZ', runbooks)).toEqual({ kind: 'audit', count: 10, run: 'rAbC123xyZ' });
  });

  it('keeps quoted values whole and leaves values of the wrong type to the runbook schema', () => {
    expect(tokenize('/logs adonisjs since:"2026-11-23T09:00Z"')).toEqual(['/logs', 'adonisjs', 'since:2026-11-23T09:00Z']);
    // "fifty" is passed on as text: the runbook's zod schema then says what is wrong with it.
    expect(parseCommand('/logs adonisjs lines:fifty', runbooks)).toMatchObject({ params: { lines: 'fifty' } });
  });

  it('refuses unknown commands, options and left-over words with what there is instead', () => {
    expect(() => parseCommand('/reboot', runbooks)).toThrow(/Unknown command "\/reboot"/);
    expect(() => parseCommand('/restart adonisjs force:true', runbooks)).toThrow(/no option `force`\. Its options: service, host/);
    expect(() => parseCommand('/restart adonisjs nextjs', runbooks)).toThrow(/"nextjs" is left over/);
    expect(() => parseCommand('/runbook nope', runbooks)).toThrow(/no runbook "nope"/);
    expect(() => parseCommand('/audit count:0', runbooks)).toThrow(/count/);
  });
});

describe('the console renderer', () => {
  it('pages long output on whole lines, losing none', () => {
    const text = Array.from({ length: 95 }, (_, i) => `line ${i}`).join('\n');
    const pages = pagesOf(text, 40);
    expect(pages).toHaveLength(3);
    expect(pages.join('\n')).toBe(text);
  });

  it('turns the engine Markdown into terminal text, and actions into the words typed at the prompt', () => {
    expect(markdown('**Restart** `adonisjs`\n```\ndocker-compose restart adonisjs\n```', new Painter(false))).toEqual(['Restart adonisjs', '    docker-compose restart adonisjs']);
    expect(actionWord('gate:rX:1:confirm:abc')).toBe('confirm');
    expect(actionWord('gate:rX:1:cancel')).toBe('cancel');
    expect(actionWord('rollback:rX')).toBe('rollback');
    expect(actionWord('logs:staging:adonisjs')).toBe('logs');
  });

  it('shows field values as terminal text too: a fleet run has a section per host holding its run result', () => {
    const view = { runId: '-', title: 'Compose services · all 2 hosts', status: 'succeeded' as const, description: '**2 ok · 0 failing · 0 unreachable**', fields: [{ name: '✅ web-1', value: '✅ **Read service states** — all 5 running\n**adonisjs**: 🟢 running · `healthy`' }], blocks: [], actions: [], footer: '' };
    const lines = renderView(view, new Painter(false), 40).lines;
    expect(lines).toContain('2 ok · 0 failing · 0 unreachable');
    expect(lines).toContain('  ✅ web-1  ✅ Read service states — all 5 running');
    expect(lines).toContain('           adonisjs: 🟢 running · healthy');
  });
});
