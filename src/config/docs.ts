import { z } from 'zod';
import { configSchema, envSchema } from './schema.js';

/**
 * The configuration's reference, derived from the zod schema alone (its `.describe()` texts,
 * types, bounds and defaults): opsbot.schema.json for editors (yaml-language-server) and
 * docs/configuration.md for people. `npm run docs` writes both; a unit test fails when either is
 * stale or when a key has no description.
 */

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  pattern?: string;
  format?: string;
  [key: string]: unknown;
}

/** Formats JSON Schema (draft 7) defines; zod adds its own names (e.g. starts_with), which editors would flag. */
const STANDARD_FORMATS = new Set(['uri', 'email', 'date-time', 'date', 'time', 'ipv4', 'ipv6', 'hostname', 'uuid', 'regex']);

function clean(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(clean);
  if (node === null || typeof node !== 'object') return;
  const o = node as JsonSchema;
  if (typeof o.format === 'string' && !STANDARD_FORMATS.has(o.format)) delete o.format;
  Object.values(o).forEach(clean);
}

/** opsbot.schema.json: what an editor needs to complete and check opsbot.yaml. */
export function configJsonSchema(): JsonSchema {
  const json = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-7', unrepresentable: 'any' }) as JsonSchema;
  clean(json);
  return { ...json, $id: 'https://github.com/opsbot/opsbot/opsbot.schema.json', title: 'opsbot.yaml', description: 'opsbot configuration (docs/configuration.md)' };
}

interface KeyDoc {
  path: string;
  type: string;
  required: boolean;
  default?: unknown;
  limits: string[];
  description?: string;
  /** Which host transports have this key, when not all do. */
  only?: string;
}

function typeOf(s: JsonSchema): string {
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.enum) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'values'}`;
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') return `map of name → ${typeOf(s.additionalProperties)}`;
  if (s.oneOf || s.anyOf) return 'object';
  return Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'any');
}

function limitsOf(s: JsonSchema): string[] {
  const out: string[] = [];
  if (s.minimum !== undefined || s.maximum !== undefined) out.push(`${s.minimum ?? '…'}–${s.maximum ?? '…'}`);
  if (s.minLength !== undefined && s.minLength > 1) out.push(`at least ${s.minLength} characters`);
  if (s.minItems !== undefined) out.push(`at least ${s.minItems}`);
  if (s.format === 'uri') out.push('http(s) URL');
  if (s.pattern !== undefined) out.push(`matches \`${s.pattern}\``);
  return out;
}

function walk(s: JsonSchema, path: string, required: boolean, out: KeyDoc[], only?: string): void {
  if (path !== '') {
    out.push({
      path,
      type: typeOf(s),
      required,
      ...(s.default === undefined ? {} : { default: s.default }),
      limits: limitsOf(s),
      ...(s.description === undefined ? {} : { description: s.description }),
      ...(only === undefined ? {} : { only }),
    });
  }
  const prefix = path === '' ? '' : `${path}.`;
  for (const [key, child] of Object.entries(s.properties ?? {})) walk(child, `${prefix}${key}`, (s.required ?? []).includes(key), out, only);
  if (s.type === 'array' && s.items) walkItems(s.items, `${path}[]`, out);
  if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    for (const [key, child] of Object.entries(s.additionalProperties.properties ?? {})) {
      walk(child, `${path}.<name>.${key}`, (s.additionalProperties.required ?? []).includes(key), out, only);
    }
  }
}

/** A list's items: a union (the host transports) is merged key by key, marking the keys only some variants have. */
function walkItems(items: JsonSchema, path: string, out: KeyDoc[]): void {
  const variants = items.oneOf ?? items.anyOf;
  if (!variants) {
    for (const [key, child] of Object.entries(items.properties ?? {})) walk(child, `${path}.${key}`, (items.required ?? []).includes(key), out);
    return;
  }
  const tag = (v: JsonSchema) => {
    const t = v.properties?.transport;
    return String(t?.const ?? t?.enum?.[0] ?? '?');
  };
  const seen = new Map<string, { doc: KeyDoc; tags: string[] }>();
  for (const v of variants) {
    const docs: KeyDoc[] = [];
    walk(v, path, false, docs);
    for (const d of docs.slice(1)) {
      const had = seen.get(d.path);
      if (had) {
        had.tags.push(tag(v));
        if (d.path.endsWith('.transport')) had.doc.type = `${had.doc.type} \\| ${d.type}`;
      } else seen.set(d.path, { doc: d, tags: [tag(v)] });
    }
  }
  for (const { doc, tags } of seen.values()) {
    out.push(tags.length < variants.length && !doc.path.endsWith('.transport') ? { ...doc, only: `transport: ${tags.join(', ')}` } : doc);
  }
}

function keyDocs(schema: JsonSchema): KeyDoc[] {
  const out: KeyDoc[] = [];
  walk(schema, '', true, out);
  return out;
}

/** Keys without a `.describe()` text: each needs one, since the docs come from them. */
export function undocumentedConfigKeys(): string[] {
  const env = z.toJSONSchema(envSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return [...keyDocs(configJsonSchema()), ...keyDocs(env).map((d) => ({ ...d, path: `env ${d.path}` }))]
    .filter((d) => d.description === undefined)
    .map((d) => d.path);
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function row(d: KeyDoc): string {
  const dflt = d.default === undefined ? (d.required ? '**required**' : '—') : `\`${JSON.stringify(d.default)}\``;
  const notes = [...(d.only ? [`only for ${d.only}`] : []), ...d.limits].join('; ');
  return `| \`${d.path}\` | ${d.type} | ${dflt} | ${cell(d.description ?? '')}${notes ? ` (${cell(notes)})` : ''} |`;
}

/** docs/configuration.md */
export function configMarkdown(): string {
  const schema = configJsonSchema();
  const docs = keyDocs(schema);
  const env = keyDocs(z.toJSONSchema(envSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema);
  const out = [
    '# Configuration',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs`; edit the schema, not this file. -->',
    '',
    'One YAML file, `OPSBOT_CONFIG` (default `./opsbot.yaml`), validated at start: an invalid file stops the bot',
    'with exit code 2 and one line per problem naming the key and the reason (`opsbot doctor` checks it too).',
    '[`opsbot.example.yaml`](../opsbot.example.yaml) is a commented starting point. Editors with the YAML language',
    'server (VS Code\'s YAML extension, JetBrains, Neovim) complete and check the file against',
    '[`opsbot.schema.json`](../opsbot.schema.json) through the modeline at its top:',
    '',
    '```yaml',
    '# yaml-language-server: $schema=./opsbot.schema.json',
    '```',
    '',
    'A key written `a.b` is `b` inside `a`; `hosts[]` is each item of the `hosts` list; `<name>` is a key you choose.',
    'Secrets never go in this file: they come from the environment (last section).',
  ];
  const top = Object.keys(schema.properties ?? {});
  for (const key of top) {
    const section = docs.filter((d) => d.path === key || d.path.startsWith(`${key}.`) || d.path.startsWith(`${key}[]`));
    out.push('', `## \`${key}\``, '', '| key | type | default | meaning |', '| --- | --- | --- | --- |', ...section.map(row));
  }
  out.push(
    '',
    '## Environment',
    '',
    'Secrets and deployment settings come from the environment, never from the file.',
    '',
    '| variable | type | default | meaning |',
    '| --- | --- | --- | --- |',
    ...env.map(row),
  );
  return `${out.join('\n')}\n`;
}
