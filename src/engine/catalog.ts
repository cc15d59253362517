import { z } from 'zod';
import { completerOf, type AnyRunbook } from './runbook.js';
import type { Role } from './view.js';

/**
 * What every adapter and the docs need to know about a runbook, derived from its definition
 * alone: its params as typed inputs (from the zod schema, through zod's own JSON Schema export),
 * who may start and confirm it, and its documentation as text. `/runbook`, `/runbook help` and
 * docs/runbooks.md all read this, so they cannot drift from the code.
 */

export interface ParamSpec {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean';
  required: boolean;
  description: string;
  min?: number;
  max?: number;
  minLength?: number;
  maxLength?: number;
  choices?: string[];
  /** A compose service of the host: suggested from it, and checked against it before a run. */
  service: boolean;
  /** Suggested from the host by the runbook's `complete` hook (backups, certificate names…). */
  suggested: boolean;
}

const property = z.looseObject({
  type: z.string().optional(),
  description: z.string().optional(),
  minimum: z.number().optional(),
  maximum: z.number().optional(),
  minLength: z.number().optional(),
  maxLength: z.number().optional(),
  enum: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
});
const objectSchema = z.looseObject({ type: z.literal('object'), properties: z.record(z.string(), property).default({}), required: z.array(z.string()).default([]) });

const TYPES = new Set(['string', 'integer', 'number', 'boolean']);

/** A runbook's params as typed inputs, required ones first (Discord wants them first). Throws for a shape no slash option can carry. */
export function paramSpecs(rb: AnyRunbook): ParamSpec[] {
  const json = objectSchema.safeParse(z.toJSONSchema(rb.params, { io: 'input', unrepresentable: 'any' }));
  if (!json.success) throw new Error(`runbook ${rb.id}: params must be a z.object of strings, numbers, booleans or enums`);
  const internal = new Set(rb.internalParams ?? []);
  const services = new Set<string>(rb.serviceParams ?? []);
  const specs: ParamSpec[] = [];
  for (const [name, p] of Object.entries(json.data.properties)) {
    if (internal.has(name)) continue;
    const choices = p.enum?.filter((v): v is string => typeof v === 'string');
    const type = p.type ?? (choices ? 'string' : undefined);
    if (type === undefined || !TYPES.has(type)) throw new Error(`runbook ${rb.id}: param "${name}" has type ${type ?? 'unknown'}; a slash option can only be a string, number, boolean or enum`);
    specs.push({
      name,
      type: type as ParamSpec['type'],
      required: json.data.required.includes(name),
      description: p.description ?? (services.has(name) ? 'Compose service' : name),
      ...(p.minimum === undefined ? {} : { min: p.minimum }),
      ...(p.maximum === undefined ? {} : { max: p.maximum }),
      ...(p.minLength === undefined ? {} : { minLength: p.minLength }),
      ...(p.maxLength === undefined ? {} : { maxLength: p.maxLength }),
      ...(choices && choices.length > 0 ? { choices } : {}),
      service: services.has(name),
      suggested: completerOf(rb, name) !== undefined,
    });
  }
  return specs.sort((a, b) => Number(b.required) - Number(a.required));
}

/** Whether any step of the runbook changes the host. */
export const mutates = (rb: AnyRunbook): boolean => rb.steps.some((s) => s.mutates);

/** Who may start a runbook, and who must confirm its gates (null: it has none). */
export function rolesOf(rb: AnyRunbook, fourEyes: readonly string[] = []): { start: Role; confirm: Role | null } {
  if (!mutates(rb)) return { start: 'viewer', confirm: null };
  return { start: 'operator', confirm: rb.fourEyes === true || fourEyes.includes(rb.id) ? 'approver' : 'operator' };
}

export function rolesText(rb: AnyRunbook, fourEyes: readonly string[] = []): string {
  const r = rolesOf(rb, fourEyes);
  if (r.confirm === null) return 'viewer (read-only)';
  return r.confirm === 'approver' ? 'operator starts, a second person with the approver role confirms (four-eyes)' : 'operator (an operator confirms each change)';
}

function paramText(p: ParamSpec): string {
  const range = p.min !== undefined || p.max !== undefined ? ` ${p.min ?? '…'}–${p.max ?? '…'}` : '';
  const choices = p.choices ? `: ${p.choices.join(' | ')}` : '';
  return `\`${p.name}\` (${p.type}${range}${choices}${p.required ? '' : ', optional'}${p.service ? ', a service of the host' : ''}) — ${p.description}`;
}

/** The runbook's documentation as Markdown lines: the same text for `/runbook help` and docs/runbooks.md. */
export function helpLines(rb: AnyRunbook, fourEyes: readonly string[] = []): string[] {
  const list = (items: string[]) => (items.length === 0 ? ['- —'] : items.map((t) => `- ${t}`));
  const specs = paramSpecs(rb);
  const step = (s: { title: string; mutates: boolean }, n: number) => `${n + 1}. ${s.title}${s.mutates ? ' — **changes the host** (waits for a confirmation that shows the exact command)' : ' — read-only'}`;
  return [
    rb.summary,
    '',
    `**Seed section:** ${rb.docs.seedSection ?? '—'} · **Who:** ${rolesText(rb, fourEyes)}${rb.wholeProject === true ? ' · **Holds:** the whole project of its host (no run that changes a service starts there beside it, nor it beside one)' : ''}`,
    '',
    '**Parameters**',
    ...(specs.length === 0 ? ['- none'] : specs.map((p) => `- ${paramText(p)}`)),
    '',
    '**When to run it**',
    ...list(rb.docs.trigger),
    '',
    '**Steps**',
    ...rb.steps.map(step),
    ...(rb.rollback && rb.rollback.length > 0 ? ['', `**Rollback** (offered as a button ${rb.rollbackAfterSuccess ? 'after the run' : 'when a step fails'})`, ...rb.rollback.map(step)] : []),
    '',
    '**Expected outcome**',
    ...list(rb.docs.expected),
    '',
    '**Escalation**',
    ...list(rb.docs.escalation),
  ];
}

/** docs/runbooks.md, generated (`npm run docs`); a unit test fails when the committed file differs. */
export function runbooksMarkdown(runbooks: readonly AnyRunbook[]): string {
  const out = [
    '# Runbooks',
    '',
    '<!-- Generated from runbooks/*.ts by `npm run docs`; edit the runbook definitions, not this file. -->',
    '',
    'Every runbook runs from Discord as `/runbook <id>` (and `/runbook list`, `/runbook help runbook:<id>` show this text).',
    'Steps that change the host stop at a gate that shows the exact command; `gates.fourEyes` in the configuration',
    'makes more runbooks need a second person.',
    '',
    '| runbook | who | what it does | seed section |',
    '| --- | --- | --- | --- |',
    ...runbooks.map((rb) => `| [\`${rb.id}\`](#${rb.id}) | ${rolesOf(rb).start} | ${rb.summary.replace(/\|/g, '\\|')} | ${rb.docs.seedSection ?? '—'} |`),
  ];
  for (const rb of runbooks) out.push('', `## ${rb.id}`, '', ...helpLines(rb));
  return `${out.join('\n')}\n`;
}
