import { z } from 'zod';
import { UserError } from '../src/engine/errors.js';
import { defineRunbook, type StepContext, type StepOutcome } from '../src/engine/runbook.js';
import type { Host } from '../src/host/index.js';
import { describeImage, healthGate, restoreCommands, runAll, runningImage } from './images.js';

const utcStamp = () => new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);

/** `svc=sha256:…,svc2=sha256:…`: the images the services ran before, in update order. */
const RECORD = /^([A-Za-z0-9][A-Za-z0-9_.-]*=sha256:[0-9a-f]{64})(,[A-Za-z0-9][A-Za-z0-9_.-]*=sha256:[0-9a-f]{64})*$/;

const params = z.object({
  /** Fixed when the run starts, so the gate's preview and the run name the same backup file. */
  stamp: z.string().regex(/^\d{8}-\d{6}$/).default(utcStamp),
  /** Recorded by the first step; the rollback returns each service to it. */
  previous: z.string().regex(RECORD).optional(),
});
type Params = z.infer<typeof params>;

const backupFile = (p: Params) => `backup-config-${p.stamp}.yml`;
const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

function parseRecord(record: string | undefined): [string, string][] {
  if (record === undefined) return [];
  return record.split(',').map((pair) => pair.split('=') as [string, string]);
}

/**
 * The services a rolling update moves: those whose running image came from a registry (a
 * built or imported image has nothing to pull), dependencies first, then by name.
 */
async function updatable(host: Host): Promise<string[]> {
  const doc = (await host.composeConfig()).document.services as Record<string, { image?: unknown; depends_on?: unknown }> | undefined;
  const names = Object.keys(doc ?? {}).sort();
  const deps = (n: string): string[] => {
    const d = doc?.[n]?.depends_on;
    return Array.isArray(d) ? d.map(String) : typeof d === 'object' && d !== null ? Object.keys(d) : [];
  };
  const ordered: string[] = [];
  const visit = (n: string, path: Set<string>) => {
    if (ordered.includes(n) || path.has(n)) return;
    path.add(n);
    for (const d of deps(n).sort()) if (names.includes(d)) visit(d, path);
    ordered.push(n);
  };
  for (const n of names) visit(n, new Set());
  const out: string[] = [];
  for (const n of ordered) {
    if (typeof doc?.[n]?.image !== 'string' || !(await host.containerOf(n))) continue;
    const img = await runningImage(host, n);
    if (img.repoDigest) out.push(n);
  }
  return out;
}

/** A service back on its recorded image: re-tag, recreate, and the health gate again. */
async function restore(ctx: StepContext<Params>, service: string, previous: string): Promise<{ ok: boolean; text: string }> {
  const commands = await restoreCommands(ctx.host, service, previous, undefined);
  const res = await runAll(ctx, [...commands, { compose: ['up', '-d', '--no-deps', service], what: 'compose up' }], 'restored');
  if (!res.ok) return { ok: false, text: res.summary };
  const health = await healthGate(ctx, service);
  return { ok: health.ok, text: health.ok ? `back on image ${short(previous)}, healthy` : `back on image ${short(previous)}, but: ${health.failed.join('; ')}` };
}

export const rollingUpdate = defineRunbook({
  id: 'rolling-update',
  title: 'Rolling update',
  summary: 'Save `compose config` to a dated file, pull, then update one service at a time with a health gate; a service that fails it is rolled back and the update stops.',
  docs: {
    seedSection: 'Rolling Update Strategy',
    trigger: ['Scheduled deployment window', 'Security patches', 'Feature releases'],
    expected: ['Zero-downtime deployment: one service at a time', 'All services operational', 'Performance within thresholds'],
    escalation: ['For rollback issues: follow incident response (the saved backup-config-….yml is on the host: `docker-compose -f backup-config-….yml up -d`)', 'For data issues: contact the DBA'],
  },
  params,
  internalParams: ['stamp', 'previous'],
  target: () => 'rolling-update',
  wholeProject: true,
  steps: [
    {
      title: 'Services to update',
      mutates: false,
      async run({ host, note }) {
        note('docker API: the running image of each service (those pulled from a registry are updated)');
        const services = await updatable(host);
        if (services.length === 0) throw new UserError('rolling.nothing', 'No service of this project runs an image pulled from a registry: there is nothing a pull could update. Nothing was run.');
        const images = await Promise.all(services.map((s) => runningImage(host, s)));
        return {
          ok: true,
          summary: `${services.length} service${services.length === 1 ? '' : 's'}, in this order: ${services.join(', ')}`,
          fields: [
            { name: 'Running now', value: images.map((i) => `${i.service}: ${describeImage(i)}`).join('\n').slice(0, 1024) },
            { name: 'Recorded for the rollback', value: images.map((i) => `${i.service}=${i.imageId}`).join(','), record: 'previous' },
          ],
        };
      },
    },
    {
      title: 'Save the config, pull, update one service at a time',
      mutates: true,
      plan: async ({ host, params: p }) => {
        const services = await updatable(host);
        return [
          await host.composeArgv(['config']),
          ['tee', backupFile(p)],
          await host.composeArgv(['pull', ...services]),
          ...(await Promise.all(services.map((s) => host.composeArgv(['up', '-d', '--no-deps', s])))),
        ];
      },
      async run(ctx) {
        const { params: p } = ctx;
        const services = await updatable(ctx.host);
        // What each service runs now, read again right before the change: what its automatic rollback returns to.
        const recorded = new Map(await Promise.all(services.map(async (s) => [s, (await runningImage(ctx.host, s)).imageId] as const)));
        const state = new Map<string, string>(services.map((s) => [s, '⏸️ waiting']));
        const show = () => ctx.progress(services.map((s) => `${s} ${state.get(s) ?? ''}`).join(' · '));
        const log: string[] = [];
        const done = (outcome: StepOutcome): StepOutcome => ({
          ...outcome,
          fields: [{ name: 'Services', value: services.map((s) => `${s}: ${state.get(s) ?? ''}`).join('\n').slice(0, 1024) }],
          output: log.join('\n\n'),
          outputTitle: 'rolling update: commands, health gates',
        });

        ctx.progress(`saving the compose config to ${backupFile(p)}…`);
        const config = await ctx.compose(['config'], { timeoutMs: 60_000 });
        if (config.exitCode !== 0) return done({ ok: false, summary: `compose config failed (exit code ${config.exitCode}); nothing was updated` });
        const saved = await ctx.exec(['tee', backupFile(p)], { input: config.stdout, timeoutMs: 30_000 });
        if (saved.exitCode !== 0) return done({ ok: false, summary: `could not save ${backupFile(p)} (exit code ${saved.exitCode}: ${saved.stderr.trim().slice(0, 200)}); nothing was updated` });
        log.push(`saved the resolved compose config to ${backupFile(p)} (${config.stdout.length} bytes, readable by its owner only)`);

        ctx.progress(`pulling ${services.join(', ')}…`);
        const pull = await runAll(ctx, [{ compose: ['pull', ...services], what: 'compose pull' }], 'pulled');
        log.push(pull.output ?? '');
        if (!pull.ok) return done({ ok: false, summary: `${pull.summary}; nothing was updated` });

        for (const [n, s] of services.entries()) {
          state.set(s, '⏳ recreating');
          show();
          const up = await runAll(ctx, [{ compose: ['up', '-d', '--no-deps', s], what: `compose up ${s}` }], `${s} recreated`);
          log.push(up.output ?? '');
          let failure = up.ok ? undefined : up.summary;
          if (up.ok) {
            state.set(s, '⏳ health gate');
            show();
            const health = await healthGate(ctx, s);
            log.push(`health gate of ${s}:\n${health.checks.map((c) => `  ${c}`).join('\n')}`);
            if (health.ok) {
              state.set(s, `✅ ${health.image ? describeImage(health.image) : 'healthy'}`);
              show();
              continue;
            }
            failure = `failed its health gate: ${health.failed.join('; ')}`;
          }
          // The seed's rule: never leave a broken service behind, and go no further.
          const previous = recorded.get(s);
          state.set(s, '↩️ rolling back');
          show();
          const back = previous === undefined ? { ok: false, text: 'no recorded image to return to' } : await restore(ctx, s, previous);
          log.push(`rollback of ${s}: ${back.text}`);
          state.set(s, `❌ ${failure ?? 'failed'} → ${back.ok ? '↩️ rolled back' : `⚠️ rollback failed: ${back.text}`}`);
          for (const rest of services.slice(n + 1)) state.set(rest, '⏭️ not updated (stopped)');
          show();
          const kept = services.slice(0, n);
          return done({
            ok: false,
            summary: `${s} ${failure ?? 'failed'}; ${back.ok ? `it was rolled back to image ${short(previous ?? '')}` : `its rollback failed (${back.text})`} and the update stopped${kept.length ? ` (${kept.join(', ')} updated; Roll back returns them too)` : ''}`,
          });
        }
        return done({ ok: true, summary: `${services.length} service${services.length === 1 ? '' : 's'} updated one at a time, each healthy; config saved as ${backupFile(p)}` });
      },
    },
  ],
  rollbackAfterSuccess: true,
  rollback: [
    {
      title: 'Return every service to its recorded image',
      mutates: true,
      plan: async ({ host, params: p }) => {
        const record = parseRecord(p.previous);
        if (record.length === 0) throw new UserError('rollback.no-record', 'The run recorded no images before its update; nothing was run.');
        const out: string[][] = [];
        for (const [s, id] of record) {
          out.push(...(await restoreCommands(host, s, id, undefined)).map((c) => c.argv), await host.composeArgv(['up', '-d', '--no-deps', s]));
        }
        return out;
      },
      async run(ctx) {
        const record = parseRecord(ctx.params.previous);
        const results: string[] = [];
        let ok = true;
        for (const [s, id] of record) {
          ctx.progress(`${s}: returning to image ${short(id)}…`);
          const r = await restore(ctx, s, id);
          ok &&= r.ok;
          results.push(`${s}: ${r.text}`);
        }
        return { ok, summary: ok ? `${record.length} service${record.length === 1 ? '' : 's'} back on their recorded images, healthy` : 'not every service came back healthy', fields: [{ name: 'Services', value: results.join('\n').slice(0, 1024) }] };
      },
    },
  ],
});
