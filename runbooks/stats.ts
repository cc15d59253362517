import { z } from 'zod';
import { defineRunbook } from '../src/engine/runbook.js';

/** One line of `docker stats --format '{{json .}}'`: human strings, parsed below. */
const statsLine = z.object({
  Name: z.string(),
  ID: z.string(),
  CPUPerc: z.string(),
  MemUsage: z.string(),
  MemPerc: z.string(),
  NetIO: z.string(),
  BlockIO: z.string(),
  PIDs: z.string(),
});

export interface ContainerUsage {
  name: string;
  cpuPercent: number;
  memUsed: number;
  memLimit: number;
  memPercent: number;
  netRx: number;
  netTx: number;
  blockRead: number;
  blockWrite: number;
  pids: number;
}

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
};

/** Docker's sizes: decimal units for IO ("1.2kB"), binary ones for memory ("3.4MiB"). */
export function parseSize(text: string): number {
  const m = /^([\d.]+)\s*([a-z]*)$/i.exec(text.trim());
  if (!m) return Number.NaN;
  const unit = UNITS[(m[2] ?? 'b').toLowerCase() || 'b'];
  return unit === undefined ? Number.NaN : Number(m[1]) * unit;
}

const pair = (text: string): [number, number] => {
  const [a = '', b = ''] = text.split('/');
  return [parseSize(a), parseSize(b)];
};

export function usageOfLine(raw: unknown): ContainerUsage {
  const l = statsLine.parse(raw);
  const [memUsed, memLimit] = pair(l.MemUsage);
  const [netRx, netTx] = pair(l.NetIO);
  const [blockRead, blockWrite] = pair(l.BlockIO);
  return {
    name: l.Name,
    cpuPercent: Number.parseFloat(l.CPUPerc) || 0,
    memUsed,
    memLimit,
    memPercent: Number.parseFloat(l.MemPerc) || 0,
    netRx,
    netTx,
    blockRead,
    blockWrite,
    pids: Number.parseInt(l.PIDs, 10) || 0,
  };
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)}${units[i]}`;
}

export function statsTable(rows: ContainerUsage[]): string {
  const header = ['NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'];
  const line = (r: ContainerUsage) => [r.name, `${r.cpuPercent.toFixed(2)}%`, `${bytes(r.memUsed)} / ${bytes(r.memLimit)}`, `${r.memPercent.toFixed(2)}%`, `${bytes(r.netRx)} / ${bytes(r.netTx)}`, `${bytes(r.blockRead)} / ${bytes(r.blockWrite)}`, String(r.pids)];
  const total: ContainerUsage = rows.reduce(
    (t, r) => ({ ...t, cpuPercent: t.cpuPercent + r.cpuPercent, memUsed: t.memUsed + r.memUsed, memPercent: t.memPercent + r.memPercent, netRx: t.netRx + r.netRx, netTx: t.netTx + r.netTx, blockRead: t.blockRead + r.blockRead, blockWrite: t.blockWrite + r.blockWrite, pids: t.pids + r.pids }),
    { name: 'TOTAL', cpuPercent: 0, memUsed: 0, memLimit: rows[0]?.memLimit ?? 0, memPercent: 0, netRx: 0, netTx: 0, blockRead: 0, blockWrite: 0, pids: 0 },
  );
  const cells = [header, ...rows.map(line), line(total)];
  const widths = header.map((_, i) => Math.max(...cells.map((c) => (c[i] ?? '').length)));
  return cells.map((c) => c.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

export const stats = defineRunbook({
  id: 'stats',
  title: 'Container resource usage',
  summary: "Every running container's CPU, memory, network and block IO and PIDs, like `docker stats`.",
  docs: {
    seedSection: 'Handle High CPU/Memory Usage',
    trigger: ['CPU > 80% for 5 minutes', 'Memory > 85% utilization', 'Container restarts due to OOM'],
    expected: ['The problematic container is identified'],
    escalation: ['Immediate notification to the DevOps team', 'If service degradation: consider failover'],
  },
  params: z.object({}),
  steps: [
    {
      title: 'Sample usage',
      mutates: false,
      async run({ exec, host }) {
        // One command on the host: the docker CLI samples every container in parallel over the
        // local socket (twice, for CPU deltas), so the time hardly grows with the container count,
        // and no SSH channel is needed per container.
        const res = await exec(['docker', 'stats', '--no-stream', '--no-trunc', '--format', '{{json .}}'], { timeoutMs: 60_000 });
        if (res.exitCode !== 0) {
          const err = res.stderr.trim().slice(0, 300);
          const down = /Cannot connect to the Docker daemon|Is the docker daemon running/i.test(err);
          return { ok: false, summary: down ? `Docker on host "${host.name}" is not running or cannot be reached: ${err}` : `docker stats exited ${res.exitCode}: ${err}` };
        }
        const rows = res.stdout
          .split('\n')
          .filter((l) => l.trim().startsWith('{'))
          .map((l) => usageOfLine(JSON.parse(l)));
        rows.sort((x, y) => y.cpuPercent - x.cpuPercent || x.name.localeCompare(y.name));
        const cpu = rows.reduce((t, r) => t + r.cpuPercent, 0);
        const mem = rows.reduce((t, r) => t + r.memUsed, 0);
        return { ok: true, summary: `${rows.length} containers · CPU ${cpu.toFixed(1)}% · memory ${bytes(mem)}`, output: statsTable(rows), outputTitle: 'docker stats' };
      },
    },
  ],
});
