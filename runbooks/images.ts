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

const firstLine = (text: string) => text.trim().split('\n').find((l) => l.trim() !== '')?.trim().slice(0, 300) ?? '';

/**
 * Refuses a version the registry does not hold, before any gate: asked on the host with its
 * stored login (`docker manifest inspect` reads the manifest and pulls nothing), so a typo is
 * answered at once instead of after a confirmation, as a pull error. A registry that cannot be
 * asked refuses too: a deploy whose pull is bound to fail is not offered.
 */
export async function checkVersionInRegistry(host: Host, service: string, version: string): Promise<void> {
  const ref = await composeImage(host, service);
  const { repository, registry } = parseImageRef(ref);
  const wanted = `${repository}:${version}`;
  const insecure = (await plainHttpRegistry(host, registry)) ? ['--insecure'] : [];
  const res = await host.exec(['docker', 'manifest', 'inspect', ...insecure, wanted], { timeoutMs: 30_000 });
  if (res.exitCode === 0 && !res.timedOut) return;
  const said = firstLine(res.stderr) || firstLine(res.stdout);
  if (!res.timedOut && /no such manifest|manifest unknown|not found/i.test(said)) {
    const known = await localVersions(host, ref).catch(() => []);
    const hint = known.length > 0 ? ` Versions this host has pulled: ${known.slice(0, 8).map((v) => v.tag).join(', ')} (suggested as you type; the registry may hold newer ones).` : '';
    throw new UserError('deploy.no-such-version', `There is no version "${version}" of ${repository} in the registry. Nothing was run.${hint}`);
  }
  const why = res.timedOut ? 'no answer within 30 s' : said || `exit code ${res.exitCode}`;
  throw new UserError('deploy.registry-unreadable', `Could not check that ${wanted} exists in the registry (docker manifest inspect on the host: ${why}). Nothing was run. /runbook watchtower checks the host's registry login.`);
}

/**
 * Whether the host's engine talks plain HTTP to this registry: loopback registries (Docker's
 * default) and those its daemon lists as insecure. The CLI's `manifest inspect` does not share the
 * daemon's list and must be told (`--insecure`); never for any other registry, since the flag also
 * lets the CLI skip TLS verification.
 */
async function plainHttpRegistry(host: Host, registry: string | undefined): Promise<boolean> {
  if (registry === undefined) return false;
  const name = registry.replace(/:\d+$/, '');
  if (name === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(name) || name === '[::1]') return true;
  const info = (await host.docker.info().catch(() => undefined)) as { RegistryConfig?: { IndexConfigs?: Record<string, { Secure?: boolean }> } } | undefined;
  return info?.RegistryConfig?.IndexConfigs?.[registry]?.Secure === false;
}

export interface LocalVersion {
  tag: string;
  imageId: string;
  /** When the image was built (the image's own date). */
  created: number;
  running: boolean;
}

/**
 * The versions of a service's repository that the host holds, newest tag first: what version
 * autocomplete offers. The registry's own tag list would need its credentials in the bot; the
 * host's stored login is used by docker itself only.
 */
export async function localVersions(host: Host, ref: string, runningId?: string): Promise<LocalVersion[]> {
  const { repository, tag: composeTag = 'latest' } = parseImageRef(ref);
  const images = await host.docker.listImages({ filters: JSON.stringify({ reference: [repository] }) });
  const out: LocalVersion[] = [];
  for (const img of images) {
    for (const rt of img.RepoTags ?? []) {
      if (!rt.startsWith(`${repository}:`)) continue;
      const tag = rt.slice(repository.length + 1);
      // The tag compose names moves with every deploy: it says nothing about a version.
      if (tag === composeTag || !imageTag.safeParse(tag).success) continue;
      out.push({ tag, imageId: img.Id, created: img.Created * 1000, running: img.Id === runningId });
    }
  }
  return out.sort((a, b) => b.tag.localeCompare(a.tag, 'en', { numeric: true }));
}

/** Autocomplete for a version param beside a `service` param: the host's versions, the running one marked. */
export async function suggestVersions(host: Host, given: Readonly<Record<string, unknown>>): Promise<{ value: string; label: string }[]> {
  const service = given.service;
  if (typeof service !== 'string' || !(await host.services()).includes(service)) return [];
  const ref = await composeImage(host, service);
  const running = await host.containerOf(service).then((c) => c?.ImageID, () => undefined);
  const versions = await localVersions(host, ref, running);
  return versions.map((v) => ({ value: v.tag, label: `${v.tag} · built ${new Date(v.created).toISOString().slice(0, 10)}${v.running ? ' · running now' : ''}` }));
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
