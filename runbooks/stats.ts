import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { z } from 'zod';
import { defineRunbook } from '../src/engine/runbook.js';

/** The part of Docker's stats JSON we read; anything may be missing on some engines. */
const statsSchema = z.object({
  name: z.string().optional(),
  cpu_stats: z.object({ cpu_usage: z.object({ total_usage: z.number() }), system_cpu_usage: z.number().optional(), online_cpus: z.number().optional() }),
  memory_stats: z.object({ usage: z.number().optional(), limit: z.number().optional(), stats: z.record(z.string(), z.number()).optional() }),
  networks: z.record(z.string(), z.object({ rx_bytes: z.number(), tx_bytes: z.number() })).optional(),
  blkio_stats: z.object({ io_service_bytes_recursive: z.array(z.object({ op: z.string(), value: z.number() })).nullable().optional() }).optional(),
  pids_stats: z.object({ current: z.number().optional() }).optional(),
});
type Sample = z.infer<typeof statsSchema>;

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

const oneShot = async (docker: Docker, id: string): Promise<Sample | null> => {
  try {
    return statsSchema.parse(await docker.getContainer(id).stats({ stream: false, 'one-shot': true } as { stream: false }));
  } catch {
    return null; // the container stopped between listing and sampling
  }
};

/** Memory as `docker stats` shows it: usage minus the page cache. */
function memUsed(s: Sample): number {
  const usage = s.memory_stats.usage ?? 0;
  const cache = s.memory_stats.stats?.['inactive_file'] ?? s.memory_stats.stats?.['total_inactive_file'] ?? s.memory_stats.stats?.['cache'] ?? 0;
  return Math.max(0, usage - cache);
}

export function usageOf(name: string, a: Sample, b: Sample): ContainerUsage {
  const cpuDelta = b.cpu_stats.cpu_usage.total_usage - a.cpu_stats.cpu_usage.total_usage;
  const sysDelta = (b.cpu_stats.system_cpu_usage ?? 0) - (a.cpu_stats.system_cpu_usage ?? 0);
  const cpus = b.cpu_stats.online_cpus ?? 1;
  const used = memUsed(b);
  const limit = b.memory_stats.limit ?? 0;
  const nets = Object.values(b.networks ?? {});
  const io = b.blkio_stats?.io_service_bytes_recursive ?? [];
  const ioSum = (op: string) => io.filter((e) => e.op.toLowerCase() === op).reduce((t, e) => t + e.value, 0);
  return {
    name,
    cpuPercent: sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * cpus * 100 : 0,
    memUsed: used,
    memLimit: limit,
    memPercent: limit > 0 ? (used / limit) * 100 : 0,
    netRx: nets.reduce((t, n) => t + n.rx_bytes, 0),
    netTx: nets.reduce((t, n) => t + n.tx_bytes, 0),
    blockRead: ioSum('read'),
    blockWrite: ioSum('write'),
    pids: b.pids_stats?.current ?? 0,
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
    trigger: ['CPU > 80% for 5 minutes', 'Memory > 85% utilization', 'Container restarts due to OOM'],
    expected: ['The problematic container is identified'],
    escalation: ['Immediate notification to the DevOps team', 'If service degradation: consider failover'],
  },
  params: z.object({}),
  steps: [
    {
      title: 'Sample usage',
      mutates: false,
      async run({ host, note }) {
        note('docker API: list running containers + 2 one-shot stats samples each, 1 s apart');
        const list = await host.docker.listContainers();
        // Two one-shot samples in parallel instead of one blocking stats call each: the CPU
        // delta comes from our own interval, and the calls stay short on a few shared channels.
        const first = await Promise.all(list.map((c) => oneShot(host.docker, c.Id)));
        await sleep(1000);
        const second = await Promise.all(list.map((c) => oneShot(host.docker, c.Id)));
        const rows: ContainerUsage[] = [];
        list.forEach((c, i) => {
          const a = first[i];
          const b = second[i];
          if (a && b) rows.push(usageOf(c.Names[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12), a, b));
        });
        rows.sort((x, y) => y.cpuPercent - x.cpuPercent || x.name.localeCompare(y.name));
        const cpu = rows.reduce((t, r) => t + r.cpuPercent, 0);
        const mem = rows.reduce((t, r) => t + r.memUsed, 0);
        return { ok: true, summary: `${rows.length} containers · CPU ${cpu.toFixed(1)}% · memory ${bytes(mem)}`, output: statsTable(rows), outputTitle: 'docker stats' };
      },
    },
  ],
});
