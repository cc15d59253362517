import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { UserError } from '../src/engine/errors.js';
import type { Field, Step, StepContext, StepOutcome } from '../src/engine/runbook.js';
import type { Host } from '../src/host/index.js';
import { containerLogs } from './docker-logs.js';
import { healthCheck } from './health-check.js';
import { errorLines } from './health.js';

/**
 * What deploy, watchtower and rolling-update share: the image a service runs (recorded before a
 * change, so its rollback returns to that very image), pulling into the tag compose names, and
 * the health gate after a recreate.
 */

/** A docker tag: what `version` may be (Docker's own rule). */
export const imageTag = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'must be an image tag (letters, digits, `_`, `.`, `-`; up to 128; not starting with `.` or `-`)');

/** A local image id as Docker reports it; what a run records and its rollback re-tags. */
export const imageId = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be an image id (sha256:…)');
/** repo@sha256:… — where the recorded image can be pulled again if it is gone from the host. */
export const repoDigest = z.string().regex(/^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$/, 'must be an image digest reference (repo@sha256:…)');

export interface ImageRef {
  /** host[:port] of the registry; undefined for Docker Hub (no host part). */
  registry: string | undefined;
  /** Everything before the tag or digest, registry included: what `docker pull` takes with `:tag`. */
  repository: string;
  tag: string | undefined;
  digest: string | undefined;
}

/** Splits an image reference the way Docker does: the first part is a registry when it has a `.` or `:` or is `localhost`. */
export function parseImageRef(ref: string): ImageRef {
  const [named = '', digest] = ref.split('@') as [string, string | undefined];
  const slash = named.lastIndexOf('/');
  const colon = named.lastIndexOf(':');
  const tag = colon > slash ? named.slice(colon + 1) : undefined;
  const repository = colon > slash ? named.slice(0, colon) : named;
  const first = repository.split('/')[0] ?? '';
  const registry = repository.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : undefined;
  return { registry, repository, tag, digest };
}

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

/** The image reference compose names for a service (`image:` of the resolved configuration). */
export async function composeImage(host: Host, service: string): Promise<string> {
  const services = (await host.composeConfig()).document.services as Record<string, { image?: unknown }> | undefined;
  const image = services?.[service]?.image;
  if (typeof image !== 'string' || image === '') {
    throw new UserError('image.none', `Service "${service}" names no image in the compose file (it is built on the host), so there is no version to pull. Nothing was run.`);
  }
  return image;
}

export interface RunningImage {
  service: string;
  containerId: string;
  /** The image id the container runs (sha256:…). */
  imageId: string;
  /** The registry digest of that image in the service's repository, when it came from a registry. */
  repoDigest: string | undefined;
  /** The image's `org.opencontainers.image.version` label, when it has one. */
  version: string | undefined;
  /** What compose names (`image:`). */
  ref: string;
}

/** What a service's (newest) container runs now, from the Docker API. */
export async function runningImage(host: Host, service: string): Promise<RunningImage> {
  const [ref, c] = await Promise.all([composeImage(host, service), host.requireContainer(service)]);
  const container = await host.docker.getContainer(c.Id).inspect();
  const image = await host.docker.getImage(container.Image).inspect();
  const repo = parseImageRef(ref).repository;
  const digests = image.RepoDigests ?? [];
  return {
    service,
    containerId: c.Id,
    imageId: container.Image,
    repoDigest: digests.find((d) => d.startsWith(`${repo}@`)) ?? digests[0],
    version: image.Config.Labels?.['org.opencontainers.image.version'],
    ref,
  };
}

export const describeImage = (img: Pick<RunningImage, 'imageId' | 'version' | 'repoDigest'>): string =>
  `${img.version ? `version ${img.version} · ` : ''}image ${short(img.imageId)}${img.repoDigest ? ` · ${img.repoDigest.replace(/^.*@/, '').slice(0, 19)}…` : ''}`;

/** Fields that record the running image for the rollback (its id, and its digest to pull it again). */
export function recordFields(img: RunningImage): Field[] {
  return [
    { name: 'Image before (rollback returns to it)', value: img.imageId, record: 'previous' },
    img.repoDigest ? { name: 'Registry digest before', value: img.repoDigest, record: 'previousDigest' } : { name: 'Registry digest before', value: '— (not pulled from a registry)' },
  ];
}

/** The first step of deploy and watchtower: what runs now, recorded; a service whose image no registry served is refused. */
export function recordStep<P extends { service: string }>(): Step<P> {
  return {
    title: 'Record the running image',
    mutates: false,
    async run({ host, params: p, note }) {
      note(`docker API: inspect ${p.service} and its image`);
      const img = await runningImage(host, p.service);
      if (!img.repoDigest) {
        throw new UserError('image.not-from-registry', `Service "${p.service}" runs ${img.ref} (image ${short(img.imageId)}), which was not pulled from a registry: there is no registry to update it from. Nothing was run.`);
      }
      return { ok: true, summary: `${img.ref} · ${describeImage(img)}`, fields: recordFields(img) };
    },
  };
}

const outputOf = (parts: { argv: string[]; text: string }[]) => parts.map((p) => `$ ${p.argv.join(' ')}\n${p.text.trim()}`).join('\n\n');
const lastLine = (text: string) => text.trim().split('\n').filter(Boolean).at(-1)?.slice(0, 300) ?? '';

/** Runs commands in order, stopping at the first that fails; the outcome quotes what failed. */
export async function runAll(ctx: Pick<StepContext<unknown>, 'exec' | 'compose'>, commands: { argv?: string[]; compose?: string[]; what: string }[], done: string): Promise<StepOutcome> {
  const parts: { argv: string[]; text: string }[] = [];
  for (const c of commands) {
    const res = c.compose ? await ctx.compose(c.compose, { timeoutMs: 300_000 }) : await ctx.exec(c.argv ?? [], { timeoutMs: 300_000 });
    parts.push({ argv: res.argv, text: res.stdout + res.stderr });
    if (res.exitCode !== 0) {
      const why = res.timedOut ? 'timed out' : `exit code ${res.exitCode}`;
      return { ok: false, summary: `${c.what} failed (${why}): ${lastLine(res.stderr || res.stdout)}`, output: outputOf(parts), outputTitle: 'commands and their output' };
    }
  }
  return { ok: true, summary: done, output: outputOf(parts), outputTitle: 'commands and their output' };
}

/** Puts the recorded image back under the tag compose names: from the host, or pulled by its digest when gone. */
export async function restoreCommands(host: Host, service: string, previous: string | undefined, previousDigest: string | undefined): Promise<{ argv: string[]; what: string }[]> {
  if (previous === undefined) {
    throw new UserError('rollback.no-record', `The run recorded no image for ${service} before its change; nothing was run. /ps shows what runs; /runbook deploy can put a version back.`);
  }
  const ref = await composeImage(host, service);
  const present = await host.docker.getImage(previous).inspect().then(
    () => true,
    () => false,
  );
  if (present) return [{ argv: ['docker', 'tag', previous, ref], what: 'docker tag' }];
  if (previousDigest === undefined) {
    throw new UserError('rollback.image-gone', `The recorded image ${short(previous)} of ${service} is no longer on the host and the run recorded no registry digest to pull it by. Nothing was run.`);
  }
  return [
    { argv: ['docker', 'pull', previousDigest], what: 'docker pull' },
    { argv: ['docker', 'tag', previousDigest, ref], what: 'docker tag' },
  ];
}

/** The rollback of deploy and watchtower: the recorded image under compose's tag, recreated, then the health gate. */
export function rollbackSteps<P extends { service: string; previous?: string | undefined; previousDigest?: string | undefined }>(): Step<P>[] {
  return [
    {
      title: 'Put the recorded image back and recreate',
      mutates: true,
      plan: async ({ host, params: p }) => [...(await restoreCommands(host, p.service, p.previous, p.previousDigest)).map((c) => c.argv), await host.composeArgv(['up', '-d', '--no-deps', p.service])],
      async run(ctx) {
        const p = ctx.params;
        const commands = await restoreCommands(ctx.host, p.service, p.previous, p.previousDigest);
        return runAll(ctx, [...commands, { compose: ['up', '-d', '--no-deps', p.service], what: 'compose up' }], `${p.service} recreated from image ${short(p.previous ?? '')}`);
      },
    },
    healthGateStep<P>(),
  ];
}

export interface HealthResult {
  ok: boolean;
  checks: string[];
  /** The checks that failed, as shown. */
  failed: string[];
  logs: string;
  image: RunningImage | undefined;
}

/** A container just (re)created is watched this long before its logs are judged: errors come at start. */
const SETTLE_MS = 3000;

/**
 * The health gate after a recreate: the service's container runs (and stays up past its first
 * seconds), its healthcheck (if any) says healthy, its health URL (if configured) answers 2xx,
 * and the log lines since it started hold no error lines.
 */
export async function healthGate(ctx: Pick<StepContext<unknown>, 'host' | 'exec' | 'note'>, service: string, timeoutMs = 60_000): Promise<HealthResult> {
  const { host } = ctx;
  ctx.note(`docker API: inspect ${service} until running (and healthy), then its logs since it started`);
  const deadline = Date.now() + timeoutMs;
  const c = await host.requireContainer(service);
  let state = await host.docker.getContainer(c.Id).inspect();
  const settling = () => Date.now() - Date.parse(state.State.StartedAt) < SETTLE_MS;
  while (Date.now() < deadline && (!state.State.Running || state.State.Health?.Status === 'starting' || settling())) {
    await sleep(500);
    state = await host.docker.getContainer(c.Id).inspect();
  }
  const checks: string[] = [];
  const failed: string[] = [];
  const check = (passed: boolean, text: string) => {
    checks.push(text);
    if (!passed) failed.push(text);
  };
  const running = state.State.Running && !state.State.Restarting;
  check(running, running ? `running since ${state.State.StartedAt}` : `not running (${state.State.Status}${state.State.ExitCode ? `, exit code ${state.State.ExitCode}` : ''})`);
  if (state.State.Health) check(state.State.Health.Status === 'healthy', `healthcheck: ${state.State.Health.Status}`);
  const hc = host.config.healthChecks[service];
  if (hc) {
    const r = await healthCheck(ctx, hc.url, hc.timeoutSeconds);
    check(r.ok, `${hc.url}: ${r.detail}`);
  }
  const since = Math.floor(Date.parse(state.State.StartedAt) / 1000);
  const { text } = await containerLogs(host, c.Id, { tail: 200, ...(Number.isFinite(since) && since > 0 ? { since } : {}) });
  const errors = errorLines(service, text);
  check(errors.count === 0, errors.count === 0 ? 'no error lines in its logs since it started' : `${errors.count} error line${errors.count === 1 ? '' : 's'} in its logs since it started: ${errors.samples.at(-1) ?? ''}`);
  const image = await runningImage(host, service).catch(() => undefined);
  return { ok: failed.length === 0, checks, failed, logs: text, image };
}

/** The health gate as a step of its own (deploy, watchtower and their rollbacks). */
export function healthGateStep<P extends { service: string }>(): Step<P> {
  return {
    title: 'Health gate',
    mutates: false,
    async run(ctx) {
      const r = await healthGate(ctx, ctx.params.service);
      const fields: Field[] = [{ name: 'Health gate', value: r.checks.map((c) => `• ${c}`).join('\n').slice(0, 1024) }];
      if (r.image) fields.push({ name: 'Running now', value: `${r.image.imageId}\n${describeImage(r.image)}` });
      return {
        ok: r.ok,
        summary: r.ok ? `healthy${r.image ? ` · ${describeImage(r.image)}` : ''}` : `failed: ${r.failed.join('; ')}`,
        fields,
        output: r.logs.trimEnd() || '(no log lines)',
        outputTitle: `${ctx.params.service}: log lines since it started`,
      };
    },
  };
}
