/**
 * Small helpers for the benchmarks: statistics, memory readings (own process and a child's, from
 * /proc), a periodic RSS sampler, a garbage-collection switch, and table printing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const MiB = 1024 * 1024;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Nearest-rank percentile (p in 0..100) of a non-empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? Number.NaN;
}

/** Median (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const hi = sorted[mid] ?? Number.NaN;
  return sorted.length % 2 === 1 ? hi : ((sorted[mid - 1] ?? hi) + hi) / 2;
}

export const ms = (v: number): string => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(1) : Math.round(v).toString()} ms` : 'n/a');
export const mib = (bytes: number): string => (Number.isFinite(bytes) ? `${(bytes / MiB).toFixed(1)} MB` : 'n/a');
export const ratio = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(2)}×` : 'n/a');
export const list = (values: readonly number[]): string => values.map((v) => Math.round(v)).join(', ');

/** Wall time of an async call, in ms. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

/**
 * A function that runs a full garbage collection: the exposed `gc` when node was started with
 * --expose-gc, otherwise the V8 flag is switched on at run time (`npm run bench` starts tsx
 * without node flags) and the function is taken from a fresh context.
 */
export function gcFunction(): { gc: (() => void) | undefined; how: string } {
  if (typeof globalThis.gc === 'function') return { gc: globalThis.gc, how: '--expose-gc' };
  try {
    setFlagsFromString('--expose-gc');
    const fn = runInNewContext('gc') as unknown;
    if (typeof fn === 'function') return { gc: fn as () => void, how: 'v8.setFlagsFromString("--expose-gc")' };
  } catch {
    // fall through: no GC available
  }
  return { gc: undefined, how: 'none available' };
}

/** A field of /proc/<pid>/status in bytes (VmRSS: resident now; VmHWM: peak resident). */
export function procMemory(pid: number | 'self', field: 'VmRSS' | 'VmHWM'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m?.[1] === undefined ? Number.NaN : Number(m[1]) * 1024;
  } catch {
    return Number.NaN;
  }
}

/** Resets the kernel's peak-RSS mark (VmHWM) of a process to its current RSS (Linux ≥ 4.0). */
export function resetPeakRss(pid: number | 'self'): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Reads an RSS figure every `intervalMs` (as far as the event loop lets it) and keeps the peak. */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  readonly samples: number[] = [];

  constructor(
    private readonly read: () => number,
    private readonly intervalMs = 10,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  private sample(): void {
    const v = this.read();
    if (Number.isFinite(v)) this.samples.push(v);
  }

  stop(): { peak: number; count: number } {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    return { peak: this.samples.reduce((a, b) => Math.max(a, b), 0), count: this.samples.length };
  }
}

export type Verdict = 'PASS' | 'MISS' | 'info' | 'n/a';

export interface Row {
  metric: string;
  measured: string;
  target: string;
  verdict: Verdict;
}

export const verdict = (ok: boolean | undefined): Verdict => (ok === undefined ? 'n/a' : ok ? 'PASS' : 'MISS');

/** A plain-text table with a header rule, columns padded to their widest cell. */
export function formatTable(rows: readonly Row[]): string {
  const header: Row = { metric: 'metric', measured: 'measured', target: 'target', verdict: 'info' };
  const cells = [header, ...rows].map((r) => [r.metric, r.measured, r.target, r === header ? 'PASS/MISS' : r.verdict]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(cells[0] ?? []), rule, ...cells.slice(1).map(line)].join('\n');
}
