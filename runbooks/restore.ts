import { z } from 'zod';
import { UserError } from '../src/engine/errors.js';
import { serviceOf } from '../src/engine/parts.js';
import { defineRunbook, type Step, type StepContext, type StepOutcome, type Suggestion } from '../src/engine/runbook.js';
import type { Host } from '../src/host/index.js';
import { containerLogs } from './docker-logs.js';
import { formatAge } from './params.js';

/** A file name inside the backups folder: no path, no option, no shell character. */
const backupName = z.string().max(200).regex(/^[A-Za-z0-9][A-Za-z0-9._:+-]*$/, 'must be the name of a file in the backups folder (as suggested), not a path');

const params = z.object({
  backup: backupName.describe('Backup to restore (newest first, with age and size)'),
  /** The backup just older than the one restored, recorded by the first step: a failed restore offers it. */
  previous: backupName.optional(),
});
type Params = z.infer<typeof params>;

export interface Backup {
  name: string;
  /** Modification time, ms since the epoch. */
  at: number;
  bytes: number;
  /** For a link such as latest.dump: the file it names. */
  target?: string;
}

/** `ls -l --full-time DIR` (busybox or GNU): the backups, newest first (same time: by name, newest dump names last). */
export function parseBackups(text: string): Backup[] {
  const out: Backup[] = [];
  for (const line of text.split('\n')) {
    if (!/^[-l]/.test(line)) continue; // files and links, not `total` or folders
    const m = /^\S+\s+\d+\s+\S+\s+\S+\s+(\d+)\s+(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.\d+)? ([+-]\d{4})\s+(.+)$/.exec(line);
    if (!m) continue;
    const [name, target] = m[5]!.split(' -> ');
    const at = Date.parse(`${m[2]}T${m[3]}${m[4]!.slice(0, 3)}:${m[4]!.slice(3)}`);
    out.push({ name: name!, at, bytes: Number(m[1]), ...(target ? { target } : {}) });
  }
  return out.sort((a, b) => b.at - a.at || b.name.localeCompare(a.name));
}

const size = (n: number) => (n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : n < 1024 ** 3 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${(n / 1024 ** 3).toFixed(2)} GiB`);
const describe = (b: Backup, all: Backup[]) => {
  if (b.target) {
    const t = all.find((x) => x.name === b.target);
    return `${b.name} → ${b.target}${t ? ` (${formatAge(new Date(t.at).toISOString())} old, ${size(t.bytes)})` : ''}`;
  }
  return `${b.name} (${formatAge(new Date(b.at).toISOString())} old, ${size(b.bytes)})`;
};

const database = (host: Host) => serviceOf(host.config, 'database');
const dir = (host: Host) => host.config.parts.backupsDir.replace(/\/+$/, '') || '/';
const archive = (host: Host, name: string) => `${dir(host)}/${name}`;

async function listBackups(host: Host, exec: (argv: readonly string[]) => Promise<{ exitCode: number | null; stdout: string; stderr: string }>): Promise<Backup[]> {
  const c = await host.requireContainer(database(host));
  const res = await exec(['docker', 'exec', (c.Names[0] ?? c.Id).replace(/^\//, ''), 'ls', '-l', '--full-time', dir(host)]);
  if (res.exitCode !== 0) throw new UserError('restore.no-listing', `Could not list ${dir(host)} in ${database(host)} (exit ${res.exitCode ?? 'none'}): ${res.stderr.trim().slice(0, 200)}`);
  return parseBackups(res.stdout);
}

/** Services that depend on the database (directly or through another), except the reverse proxy in front of all. */
async function dependants(host: Host): Promise<string[]> {
  const services = ((await host.composeConfig()).document.services ?? {}) as Record<string, { depends_on?: unknown }>;
  const dependsOn = (svc: string): string[] => {
    const d = services[svc]?.depends_on;
    return Array.isArray(d) ? d.map(String) : d && typeof d === 'object' ? Object.keys(d) : [];
  };
  const found = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const svc of Object.keys(services)) {
      if (found.has(svc) || svc === database(host)) continue;
      if (dependsOn(svc).some((d) => d === database(host) || found.has(d))) {
        found.add(svc);
        grew = true;
      }
    }
  }
  found.delete(serviceOf(host.config, 'proxy'));
  return [...found].sort();
}

const restoreArgs = (host: Host, name: string) => ['exec', '-T', database(host), 'mongorestore', '--drop', '--gzip', `--archive=${archive(host, name)}`];

async function restoreFrom(ctx: StepContext<Params>, name: string): Promise<StepOutcome> {
  const res = await ctx.compose(restoreArgs(ctx.host, name), { timeoutMs: 3_600_000 });
  const out = (res.stdout + res.stderr).trim();
  if (res.exitCode !== 0) {
    const failed = /Failed: (.*)/.exec(out)?.[1];
    return { ok: false, summary: `mongorestore exited ${res.exitCode ?? 'without a code'}${failed ? `: ${failed}` : ''}`, output: out || '(no output)', outputTitle: 'mongorestore output' };
  }
  return { ok: true, summary: /(\d+) document\(s\) restored/.exec(out)?.[0] ?? `restored ${name}`, output: out, outputTitle: 'mongorestore output' };
}

const upStep = (title: string): Step<Params> => ({
  title,
  mutates: true,
  plan: async ({ host }) => [await host.composeArgv(['up', '-d'])],
  async run(ctx) {
    const res = await ctx.compose(['up', '-d']);
    const out = (res.stdout + res.stderr).trim();
    return { ok: res.exitCode === 0, summary: res.exitCode === 0 ? 'services up' : `exit code ${res.exitCode ?? 'none'}`, ...(out ? { output: out, outputTitle: 'compose up output' } : {}) };
  },
});

export const restoreBackup = defineRunbook({
  id: 'restore',
  title: (p: Params) => `Restore backup ${p.backup}`,
  summary: 'Restore the database from a backup: stop the services that use it, mongorestore --drop (four-eyes), start them, verify.',
  docs: {
    seedSection: 'Restore from Backup',
    trigger: ['Data corruption detected', 'Accidental data deletion', 'Failed deployment with data issues'],
    expected: ['Database restored to the chosen known good state', 'Data consistency verified (the restore logged by the database)', 'Services running with restored data'],
    escalation: ['Notify the team lead immediately', 'If the restore fails: restore the previous backup (offered), then escalate to a senior DBA', 'If data loss occurred: notify stakeholders'],
  },
  params,
  needs: ['database'],
  internalParams: ['previous'],
  // Dropping collections loses whatever was written since the backup.
  fourEyes: true,
  target: () => 'database',
  wholeProject: true,
  complete: {
    backup: async (host: Host): Promise<Suggestion[]> => {
      const all = await listBackups(host, (argv) => host.exec(argv, { timeoutMs: 15_000 }));
      return all.map((b) => ({ value: b.name, label: describe(b, all) }));
    },
  },
  steps: [
    {
      title: 'Available backups',
      mutates: false,
      async run(ctx) {
        const all = await listBackups(ctx.host, (argv) => ctx.exec(argv));
        const chosen = all.find((b) => b.name === ctx.params.backup);
        if (!chosen) throw new UserError('restore.unknown-backup', `There is no backup "${ctx.params.backup}" in ${dir(ctx.host)}. Newest first: ${all.slice(0, 5).map((b) => b.name).join(', ') || 'none'}. Nothing was changed.`);
        // The one to fall back on: the newest file older than the chosen one (a link counts as its target).
        const files = all.filter((b) => !b.target);
        const real = chosen.target ?? chosen.name;
        const idx = files.findIndex((b) => b.name === real);
        const previous = idx >= 0 ? files[idx + 1] : undefined;
        return {
          ok: true,
          summary: `${describe(chosen, all)}; ${previous ? `previous: ${previous.name}` : 'no older backup to fall back on'}`,
          fields: previous ? [{ name: 'Previous backup', value: previous.name, inline: true, record: 'previous' }] : [],
          output: all.map((b) => describe(b, all)).join('\n'),
          outputTitle: `${dir(ctx.host)} (newest first)`,
        };
      },
    },
    {
      title: 'Stop the services that use the database',
      mutates: true,
      plan: async ({ host }) => {
        const deps = await dependants(host);
        return deps.length > 0 ? [await host.composeArgv(['stop', ...deps])] : [];
      },
      async run(ctx) {
        const deps = await dependants(ctx.host);
        if (deps.length === 0) return { ok: true, summary: 'no service depends on the database' };
        const res = await ctx.compose(['stop', ...deps]);
        return { ok: res.exitCode === 0, summary: res.exitCode === 0 ? `stopped ${deps.join(', ')}` : `exit code ${res.exitCode ?? 'none'}`, output: (res.stdout + res.stderr).trim() || '(no output)', outputTitle: 'compose stop output' };
      },
    },
    {
      title: 'Restore the database',
      mutates: true,
      plan: async ({ host, params: p }) => [await host.composeArgv(restoreArgs(host, p.backup))],
      run: (ctx) => restoreFrom(ctx, ctx.params.backup),
    },
    upStep('Start the services'),
    {
      title: 'Verify',
      mutates: false,
      async run(ctx) {
        const { host, params: p } = ctx;
        const db = await host.requireContainer(database(host));
        ctx.note(`docker API: logs ${database(host)} --tail 200`);
        const { text } = await containerLogs(host, db.Id, { tail: 200 });
        const restored = text.includes(`restoring from ${archive(host, p.backup)}`);
        ctx.note('docker API: service states');
        const states = await host.serviceStates();
        const deps = await dependants(host);
        const down = states.filter((s) => (deps.includes(s.service) || s.service === database(host)) && s.state !== 'running');
        const ok = restored && down.length === 0;
        return {
          ok,
          summary: ok ? `${database(host)} logged the restore of ${p.backup}; ${[database(host), ...deps].join(', ')} running` : [!restored ? `${database(host)} did not log a restore of ${p.backup}` : '', down.length > 0 ? `not running: ${down.map((s) => s.service).join(', ')}` : ''].filter(Boolean).join('; '),
          output: text.split('\n').filter((l) => /restor|Failed|done/i.test(l)).slice(-20).join('\n') || '(no restore lines in the log)',
          outputTitle: `${database(host)}: restore lines in its log`,
        };
      },
    },
  ],
  // The seed: "If restore fails, attempt previous backup".
  rollbackLabel: 'Restore the previous backup',
  rollback: [
    {
      title: 'Restore the previous backup',
      mutates: true,
      plan: async ({ host, params: p }) => {
        if (!p.previous) throw new UserError('rollback.no-previous', `There is no backup older than ${p.backup}; nothing was run. Escalate to a senior DBA (the seed's escalation path).`);
        return [await host.composeArgv(restoreArgs(host, p.previous))];
      },
      run: (ctx) => restoreFrom(ctx, ctx.params.previous ?? ''),
    },
    upStep('Start the services'),
  ],
});
