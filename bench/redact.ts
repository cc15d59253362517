/**
 * Redaction throughput on hostile text: 10 MB of what an attacker can make a proxy log (long
 * dotted paths, long tokens, runs of `=` and `:`, scheme-like and key-like runs), with 200
 * registered host secrets, redacted in one call. Target: < 1 s (issue 11). Run alone with
 * `npx tsx bench/redact.ts`; `npm run bench` includes its rows.
 */
import { pathToFileURL } from 'node:url';
import { addSecretValues, redact } from '../src/engine/redact.js';
import type { Row } from './lib.js';
import { formatTable, median, ms, verdict } from './lib.js';

const MB = 1024 * 1024;
const TARGET_MS = 1000;

/** 10 MB made of the shapes that made the old rules backtrack, each as lines of 8 to 64 KB. */
export function hostileText(bytes = 10 * MB): string {
  const shapes = [
    (n: number) => `GET /${'a.'.repeat(n / 2)} HTTP/1.1`,
    (n: number) => 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(n / 36),
    (n: number) => 'a=b:'.repeat(n / 4),
    (n: number) => 'PASSWORD.'.repeat(n / 9),
    (n: number) => 'x://'.repeat(n / 4),
    (n: number) => 'eyJ-M-O-'.repeat(n / 8),
    (n: number) => 'token:key=secret '.repeat(n / 17),
    (n: number) => `2026-01-01T00:00:00Z GET /api/items?id=42&q=a.b.c 200 ${'0123456789abcdef'.repeat(4)} `.repeat(n / 100),
  ];
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = shapes[i % shapes.length]!(i % 2 === 0 ? 8192 : 65536);
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join('\n').slice(0, bytes);
}

export function benchRedact(runs = 3): { rows: Row[]; notes: string[] } {
  addSecretValues(Array.from({ length: 200 }, (_, i) => [`HOST_SECRET_${i}`, `host-secret-value-${i}-${(i * 7919).toString(36)}`] as const));
  const text = hostileText();
  redact(text.slice(0, 100_000)); // warm-up: compile the patterns
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    redact(text);
    times.push(performance.now() - start);
  }
  const med = median(times);
  return {
    rows: [{ metric: '6. redact 10 MB of hostile text (200 host secrets registered)', measured: ms(med), target: '< 1 s', verdict: verdict(med < TARGET_MS) }],
    notes: [
      `6. Redaction: \`redact()\` on one 10 MB string of adversarial lines (8 and 64 KB: a dotted request path, one long token, \`a=b:\` runs, ` +
        `\`PASSWORD.\` runs, \`x://\` runs, JWT/Discord-like starts, key-like words, ordinary access-log lines) with 200 host secret values ` +
        `(and their encoded forms) registered; median of ${runs} runs: ${times.map((t) => ms(t)).join(', ')}.`,
    ],
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { rows, notes } = benchRedact();
  process.stdout.write(`${formatTable(rows)}\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
}
