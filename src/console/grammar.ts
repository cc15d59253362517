import { paramSpecs, type ParamSpec } from '../engine/catalog.js';
import { UserError } from '../engine/errors.js';
import type { AnyRunbook } from '../engine/runbook.js';

/**
 * The console's command line, the same words as the slash commands: `/ps`, `/restart adonisjs`,
 * `/logs service:adonisjs lines:50`, `/runbook health`, `/runbook list`, `/runbook help restart`,
 * `/audit count:5`, `/audit run:<id>`. `name:value` sets an option; a bare word fills the next
 * parameter in the runbook's order (required ones first), so `/logs adonisjs 50` works too.
 * The leading `/` is optional.
 */
export type ConsoleRequest =
  | { kind: 'run'; runbook: string; params: Record<string, unknown>; host?: string }
  | { kind: 'list' }
  | { kind: 'help'; runbook: string }
  | { kind: 'audit'; count: number; run?: string };

/** `key:value` and bare words; a value may be quoted to hold spaces (`since:"2026-11-23T09:00Z"`). */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g)) out.push(m[0].replace(/(["'])(.*?)\1/g, '$2'));
  return out;
}

function value(spec: ParamSpec, raw: string): unknown {
  // Left as text when it does not read as the type: the runbook's zod schema then says why.
  if (spec.type === 'integer' || spec.type === 'number') return /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  if (spec.type === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  return raw;
}

function options(args: string[]): { named: Map<string, string>; bare: string[] } {
  const named = new Map<string, string>();
  const bare: string[] = [];
  for (const a of args) {
    const at = a.indexOf(':');
    if (at > 0 && /^[a-z][a-zA-Z0-9_]*$/.test(a.slice(0, at))) named.set(a.slice(0, at), a.slice(at + 1));
    else bare.push(a);
  }
  return { named, bare };
}

function runRequest(rb: AnyRunbook, args: string[]): ConsoleRequest {
  const specs = paramSpecs(rb);
  const { named, bare } = options(args);
  const params: Record<string, unknown> = {};
  let host: string | undefined;
  for (const [k, v] of named) {
    if (k === 'host') {
      host = v;
      continue;
    }
    const spec = specs.find((s) => s.name === k);
    if (!spec) throw new UserError('params.invalid', `/${rb.id} has no option \`${k}\`. Its options: ${[...specs.map((s) => s.name), 'host'].join(', ')}. Nothing was run.`);
    params[k] = value(spec, v);
  }
  const free = specs.filter((s) => !(s.name in params));
  if (bare.length > free.length) throw new UserError('params.invalid', `/${rb.id} takes ${free.length === 0 ? 'no more values' : `at most ${free.map((s) => s.name).join(', ')}`}; "${bare.slice(free.length).join(' ')}" is left over. Nothing was run.`);
  bare.forEach((b, n) => {
    const spec = free[n]!;
    params[spec.name] = value(spec, b);
  });
  return { kind: 'run', runbook: rb.id, params, ...(host === undefined ? {} : { host }) };
}

export function parseCommand(line: string, runbooks: readonly AnyRunbook[]): ConsoleRequest {
  const [head = '', ...args] = tokenize(line.trim().replace(/^\//, ''));
  const byId = (id: string) => runbooks.find((r) => r.id === id);
  if (head === 'runbook') {
    const [sub = 'list', ...rest] = args;
    if (sub === 'list') return { kind: 'list' };
    if (sub === 'help') {
      const { named, bare } = options(rest);
      const id = named.get('runbook') ?? bare[0];
      if (id === undefined) throw new UserError('params.invalid', '`/runbook help <id>` explains one runbook; `/runbook list` shows them all.');
      if (!byId(id)) throw new UserError('runbook.unknown', `There is no runbook "${id}". \`/runbook list\` shows them all.`);
      return { kind: 'help', runbook: id };
    }
    const rb = byId(sub);
    if (!rb) throw new UserError('runbook.unknown', `There is no runbook "${sub}". \`/runbook list\` shows them all.`);
    return runRequest(rb, rest);
  }
  if (head === 'audit') {
    const { named, bare } = options(args);
    const count = Number(named.get('count') ?? bare[0] ?? 10);
    if (!Number.isInteger(count) || count < 1 || count > 100) throw new UserError('params.invalid', '`count` must be a whole number from 1 to 100.');
    const run = named.get('run');
    return { kind: 'audit', count, ...(run === undefined ? {} : { run }) };
  }
  const rb = byId(head);
  if (!rb) throw new UserError('command.unknown', `Unknown command "/${head}". Type help for the commands.`);
  return runRequest(rb, args);
}
