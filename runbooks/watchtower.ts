import { z } from 'zod';
import { defineRunbook } from '../src/engine/runbook.js';
import { serviceOf } from '../src/engine/parts.js';
import { containerLogs } from './docker-logs.js';
import { composeImage, healthGateStep, imageId, parseImageRef, recordStep, repoDigest, rollbackSteps, runAll } from './images.js';
import { serviceName } from './params.js';

const params = z.object({
  service: serviceName.describe('Service that did not get its update'),
  previous: imageId.optional(),
  previousDigest: repoDigest.optional(),
});
type Params = z.infer<typeof params>;

const LOG_LINES = 50;


export const watchtower = defineRunbook({
  id: 'watchtower',
  title: (p: Params) => `Watchtower recovery: ${p.service}`,
  summary: "Watchtower's state and last logs, the registry login check, then (confirmed) a manual pull + recreate of one service; rollback to its previous image.",
  docs: {
    seedSection: 'Watchtower Failure Recovery',
    trigger: ['Watchtower container not running', 'Containers not updating to latest tags', 'Registry (GHCR) updates not reflected'],
    expected: ['Containers running the latest versions', 'Watchtower service operational', 'Registry access verified'],
    escalation: ['If registry access fails: contact the repository admin (the stored login or its token)', "If Watchtower won't start: review its logs and restart it (/restart watchtower)"],
  },
  params,
  serviceParams: ['service'],
  needs: ['updater'],
  internalParams: ['previous', 'previousDigest'],
  target: (p) => `service:${p.service}`,
  steps: [
    {
      title: 'Watchtower state and last logs',
      mutates: false,
      async run({ host, note }) {
        const name = serviceOf(host.config, 'updater');
        note(`docker API: inspect ${name}, logs --tail ${LOG_LINES}`);
        const c = await host.containerOf(name);
        if (!c) return { ok: true, summary: `⚠️ ${name} has no container (never started or removed): start it with /restart or compose up` };
        const state = await host.docker.getContainer(c.Id).inspect();
        const { text } = await containerLogs(host, c.Id, { tail: LOG_LINES });
        const running = state.State.Running;
        return {
          ok: true,
          summary: running ? `${name} running since ${state.State.StartedAt}` : `⚠️ ${name} ${state.State.Status} (exit code ${state.State.ExitCode}): it updates nothing until it runs again`,
          output: text.trimEnd() || '(no log lines)',
          outputTitle: `${name}: last ${LOG_LINES} log lines`,
        };
      },
    },
    {
      title: 'Registry login',
      mutates: false,
      async run({ host, params: p, exec }) {
        const registry = host.config.parts.registry ?? parseImageRef(await composeImage(host, p.service)).registry ?? 'docker.io';
        // With no user or password, docker checks the login it has stored (as the seed's
        // `docker login` sets it up): no token ever passes through the bot.
        const res = await exec(['docker', 'login', registry], { timeoutMs: 30_000 });
        const out = (res.stdout + res.stderr).trim();
        const ok = res.exitCode === 0;
        return {
          ok,
          summary: ok ? `the host's stored login to ${registry} works (credentials not shown)` : `the host cannot log in to ${registry} with its stored credentials (exit code ${res.exitCode}): ${out.split('\n').filter((l) => /error|denied|unauthorized|refused|no such host/i.test(l)).at(0)?.slice(0, 300) ?? 'see the output'}`,
          output: out || '(no output)',
          outputTitle: `docker login ${registry}`,
        };
      },
    },
    recordStep<Params>(),
    {
      title: 'Pull and recreate',
      mutates: true,
      plan: async ({ host, params: p }) => [await host.composeArgv(['pull', p.service]), await host.composeArgv(['up', '-d', '--no-deps', p.service])],
      run: (ctx) =>
        runAll(
          ctx,
          [
            { compose: ['pull', ctx.params.service], what: 'compose pull' },
            { compose: ['up', '-d', '--no-deps', ctx.params.service], what: 'compose up' },
          ],
          `pulled and recreated ${ctx.params.service}`,
        ),
    },
    healthGateStep<Params>(),
  ],
  rollbackAfterSuccess: true,
  rollback: rollbackSteps<Params>(),
  followUps: (p, host) => [{ id: `logs:${host}:${p.service}`, label: 'Logs', style: 'secondary' }],
});
