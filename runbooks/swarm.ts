import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../src/engine/errors.js';
import type { StepContext, StepOutcome } from '../src/engine/runbook.js';
import type { Host } from '../src/host/index.js';
import type { SwarmTask } from '../src/host/swarm.js';
import { serviceLogs } from './docker-logs.js';
import { parseImageRef } from './images.js';

/*
 * The steps of the runbooks on a swarm host (`orchestrator: swarm`): Swarm's own operations on
 * one service of the stack, read back from the Swarm API. The runbooks branch on `host.swarm`
 * and keep one definition (params, gates, docs) for both kinds of host.
 */

/** How long a service's update may take to converge before the verification says it did not. */
const CONVERGE_MS = 90_000;

/** `docker service update --detach --force <stack>_<service>`: new tasks from the same spec, one by one (its update_config). */
export const swarmForceUpdateArgv = (host: Host, service: string): string[] => host.dockerArgv(['service', 'update', '--detach', '--force', host.swarmServiceName(service)]);

const nodesText = (nodes: { node: string; tasks: number }[]): string => (nodes.length === 0 ? 'no node' : nodes.map((n) => `${n.node}${n.tasks > 1 ? ` ×${n.tasks}` : ''}`).join(', '));

/** The service's replicas and nodes now (the first, read-only step). */
export async function swarmCurrent(ctx: StepContext<unknown>, service: string): Promise<StepOutcome> {
  const { host } = ctx;
  ctx.note(`docker API: service ${host.swarmServiceName(service)} and its tasks`);
  const s = (await host.stackStates()).find((r) => r.service === service);
  if (!s) throw new UserError('service.not-in-stack', `Stack "${host.stack}" on host "${host.name}" has no service "${service}". Use /ps to see the stack.`);
  return { ok: true, summary: `${s.running}/${s.desired} running on ${nodesText(s.nodes)}${s.update ? ` (last update: ${s.update.state})` : ''}` };
}

/** Starts Swarm's forced update of the service; the verification step watches it converge. */
export async function swarmForceUpdate(ctx: StepContext<unknown>, service: string): Promise<StepOutcome> {
  const res = await ctx.exec(swarmForceUpdateArgv(ctx.host, service));
  const out = (res.stdout + res.stderr).trim();
  if (res.timedOut) return { ok: false, summary: `timed out after ${Math.round(res.durationMs / 1000)} s`, output: out };
  return {
    ok: res.exitCode === 0,
    summary: res.exitCode === 0 ? 'update started: Swarm replaces the tasks as its update_config says' : `exit code ${res.exitCode}`,
    ...(out ? { output: out, outputTitle: 'service update output' } : {}),
  };
}

const isRunning = (t: SwarmTask): boolean => t.desiredState === 'running' && t.state === 'running';

/**
 * Waits until the service converged after its update: as many tasks running as it wants, every
 * one of them made from the current spec (its ForceUpdate counter and image: no old task left), and
 * Swarm neither paused the update nor rolled it back. Then shows its tasks and last log lines.
 * (The service's UpdatedAt moves again when the update completes, so it cannot tell old tasks
 * from new; and Swarm clears UpdateStatus when a spec is updated, so any status seen after the
 * update is this update's.)
 */
export async function swarmVerify(ctx: StepContext<unknown>, service: string, options: { rollback?: boolean } = {}): Promise<StepOutcome> {
  const { host } = ctx;
  const name = host.swarmServiceName(service);
  ctx.note(`docker API: inspect service ${name} and its tasks until the update converges`);
  const deadline = Date.now() + CONVERGE_MS;
  type Inspected = { ID: string; Spec?: { Mode?: { Replicated?: { Replicas?: number } }; TaskTemplate?: { ForceUpdate?: number; ContainerSpec?: { Image?: string } } }; UpdateStatus?: { State?: string; Message?: string } };
  let svc: Inspected;
  let tasks: SwarmTask[];
  let converged = false;
  let stopped: string | undefined;
  // An update that changes the image (a deploy) is told apart by the image, a forced one by the counter.
  const isNew = (t: SwarmTask) => t.forceUpdate === (svc.Spec?.TaskTemplate?.ForceUpdate ?? 0) && t.image === (svc.Spec?.TaskTemplate?.ContainerSpec?.Image ?? '').replace(/@sha256:[0-9a-f]{64}$/, '');
  const wanted = () => svc.Spec?.Mode?.Replicated?.Replicas ?? tasks.filter((t) => t.desiredState === 'running').length;
  for (;;) {
    svc = (await host.docker.getService(name).inspect()) as Inspected;
    tasks = await host.swarmTasks(service);
    const running = tasks.filter(isRunning);
    const state = svc.UpdateStatus?.State;
    // paused: a new task failed and update_config says pause; rollback_*: Swarm undoes the update.
    // A rollback asked for (`service rollback`) is itself rollback_started, then rollback_completed.
    const halted = options.rollback ? state === 'paused' || state === 'rollback_paused' : state === 'paused' || state?.startsWith('rollback');
    if (halted) stopped = `${state}${svc.UpdateStatus?.Message ? `: ${svc.UpdateStatus.Message}` : ''}`;
    converged = running.length === wanted() && running.every(isNew) && state !== 'updating' && state !== 'rollback_started';
    ctx.progress(`${running.length}/${wanted()} running, ${running.filter(isNew).length} new${state ? ` · update ${state}` : ''}`);
    if (converged || stopped !== undefined || Date.now() > deadline) break;
    await sleep(500);
  }
  const running = tasks.filter(isRunning);
  const checks = [
    `${running.length}/${wanted()} tasks running, ${running.filter(isNew).length} of them made by this update`,
    `update: ${stopped ?? (converged ? (svc.UpdateStatus?.State ?? 'completed') : `not converged after ${CONVERGE_MS / 1000} s`)}`,
  ];
  const failed = tasks.find((t) => t.error !== null && isNew(t) && !isRunning(t));
  if (failed) checks.push(`a new task failed: ${failed.error ?? ''}`);
  const ok = converged && stopped === undefined;
  const table = tasks
    .slice(0, 12)
    .map((t) => `${`${service}.${t.slot ?? '-'}`.padEnd(16)} ${t.id.slice(0, 12)}  ${t.node.padEnd(12)} ${`${t.state}/${t.desiredState}`.padEnd(20)} ${t.createdAt.slice(0, 19)}Z${t.error ? `  ${t.error}` : ''}`)
    .join('\n');
  ctx.note(`docker API: service logs ${name} --tail 20`);
  const { text: logs } = await serviceLogs(host, svc.ID, { tail: 20 });
  return {
    ok,
    summary: ok ? `converged: ${running.length}/${wanted()} new tasks running` : 'verification failed',
    fields: [{ name: 'Verification', value: checks.join('\n') }],
    output: `TASK             ID            NODE         STATE/DESIRED        CREATED\n${table}\n\n${service}: last 20 log lines\n${logs.trimEnd() || '(no log lines)'}`,
    outputTitle: `${service}: tasks and last log lines`,
  };
}

/** `docker service scale --detach <stack>_<service>=N`: Swarm's own scale of one service. */
export const swarmScaleArgv = (host: Host, service: string, replicas: number): string[] => host.dockerArgv(['service', 'scale', '--detach', `${host.swarmServiceName(service)}=${replicas}`]);

/** The service's replicas now, recorded (`before`) so that the rollback scales back to them. */
export async function swarmUsage(ctx: StepContext<unknown>, service: string): Promise<StepOutcome> {
  const { host } = ctx;
  ctx.note(`docker API: service ${host.swarmServiceName(service)} and its tasks`);
  const s = (await host.stackStates()).find((r) => r.service === service);
  if (!s) throw new UserError('service.not-in-stack', `Stack "${host.stack}" on host "${host.name}" has no service "${service}". Use /ps to see the stack.`);
  if (s.mode !== 'replicated') throw new UserError('service.global', `Service "${service}" of stack "${host.stack}" is global (one task per node): it cannot be scaled. Nothing was run.`);
  return {
    ok: true,
    summary: `${s.running}/${s.desired} replicas running on ${nodesText(s.nodes)}`,
    fields: [{ name: 'Replicas before', value: String(s.desired), inline: true, record: 'before' }],
  };
}

/** Scales the service and waits until exactly `n` of its tasks run, and still do a moment later. */
export async function swarmScaleTo(ctx: StepContext<unknown>, service: string, n: number): Promise<StepOutcome> {
  const { host } = ctx;
  const res = await ctx.exec(swarmScaleArgv(host, service, n));
  const out = (res.stdout + res.stderr).trim();
  if (res.exitCode !== 0) return { ok: false, summary: res.timedOut ? 'timed out' : `exit code ${res.exitCode}`, output: out || '(no output)', outputTitle: 'service scale output' };
  ctx.note(`docker API: tasks of ${host.swarmServiceName(service)} until ${n} run`);
  const count = async () => (await host.swarmTasks(service)).filter(isRunning).length;
  const deadline = Date.now() + 30_000;
  let running = await count();
  while (running !== n && Date.now() < deadline) {
    await sleep(500);
    running = await count();
  }
  // A task that binds a fixed port (host networking) twice on one node starts, then fails.
  if (running === n) {
    await sleep(2000);
    running = await count();
  }
  return {
    ok: running === n,
    summary: running === n ? `${n} task${n === 1 ? '' : 's'} running` : `${running} running, ${n} wanted`,
    fields: [{ name: 'Tasks', value: `${running} running (wanted ${n})`, inline: true }],
    ...(out ? { output: out, outputTitle: 'service scale output' } : {}),
  };
}

/** `docker service update --detach --image <repo>:<version> <stack>_<service>`: Swarm's own update, as the service's update_config says (parallelism, failure action). */
export const swarmDeployArgv = (host: Host, service: string, image: string): string[] => host.dockerArgv(['service', 'update', '--detach', '--image', image, host.swarmServiceName(service)]);

/** `docker service rollback --detach <stack>_<service>`: Swarm puts the service's previous spec back. */
export const swarmRollbackArgv = (host: Host, service: string): string[] => host.dockerArgv(['service', 'rollback', '--detach', host.swarmServiceName(service)]);

interface SpecImages {
  /** The image of the service's spec, as Swarm keeps it (pinned digest included, if any). */
  image: string;
  /** The image of its previous spec (what `service rollback` returns to), if it has one. */
  previous: string | undefined;
}

type ImageSpec = { TaskTemplate?: { ContainerSpec?: { Image?: string } } } | undefined;

/** The images of a stack service's spec and previous spec, from the Swarm API. */
export async function swarmSpecImages(host: Host, service: string): Promise<SpecImages> {
  const svc = (await host.docker
    .getService(host.swarmServiceName(service))
    .inspect()
    .catch((err: unknown) => {
      if ((err as { statusCode?: unknown } | null)?.statusCode === 404) throw new UserError('service.not-in-stack', `Stack "${host.stack}" on host "${host.name}" has no service "${service}". Use /ps to see the stack.`);
      throw err;
    })) as { Spec?: ImageSpec; PreviousSpec?: ImageSpec };
  return { image: svc.Spec?.TaskTemplate?.ContainerSpec?.Image ?? '', previous: svc.PreviousSpec?.TaskTemplate?.ContainerSpec?.Image };
}

const withoutDigest = (image: string): string => image.replace(/@sha256:[0-9a-f]{64}$/, '');

/** The reference a deploy sets: the repository of the service's spec image, with the wanted tag. */
export async function swarmWanted(host: Host, service: string, version: string): Promise<string> {
  const { image } = await swarmSpecImages(host, service);
  return `${parseImageRef(withoutDigest(image)).repository}:${version}`;
}

/**
 * Refuses, before any gate, a version the swarm cannot run: it must be an image of the manager's
 * engine or in the registry. In a real swarm the image comes from the registry (every node pulls
 * it); a tag present on the manager only is enough for a single-node swarm, or where images are
 * loaded on every node (the staging swarm: its namespace reaches no registry). The registry is
 * asked by the manager's engine (`GET /distribution/…/json`, what `docker service update` asks to
 * pin the digest), not by the CLI on the host: the engine is the one that pulls, through its own
 * network and registry settings.
 */
export async function checkSwarmVersion(host: Host, service: string, version: string): Promise<void> {
  const wanted = await swarmWanted(host, service, version);
  const local = await host.docker.getImage(wanted).inspect().then(
    () => true,
    () => false,
  );
  if (local) return;
  const asked = await new Promise<{ ok: true } | { ok: false; status: number | undefined; text: string }>((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, status: undefined, text: 'no answer within 30 s' }), 30_000);
    host.docker.modem.dial({ path: `/distribution/${wanted}/json`, method: 'GET', options: {}, statusCodes: { 200: true, 401: 'unauthorized', 403: 'forbidden', 404: 'not found', 500: 'server error' } }, (err: unknown) => {
      clearTimeout(timer);
      if (!err) return resolve({ ok: true });
      const e = err as { statusCode?: number; json?: { message?: string }; message?: string };
      resolve({ ok: false, status: e.statusCode, text: (e.json?.message ?? e.message ?? String(err)).split('\n')[0]?.slice(0, 300) ?? '' });
    });
  });
  if (asked.ok) return;
  if (/manifest unknown|no such manifest|not found/i.test(asked.text) && asked.status !== 500) {
    throw new UserError('deploy.no-such-version', `There is no version "${version}" of ${wanted.replace(/:[^:/]*$/, '')}: not an image of the swarm manager, and not in the registry. Nothing was run.`);
  }
  throw new UserError('deploy.registry-unreadable', `Version "${version}" (${wanted}) is not an image of the swarm manager, and its engine could not check the registry (${asked.text}). Nothing was run.`);
}

/**
 * A swarm deploy's rollback is `service rollback`, which puts back whatever the previous spec is:
 * refused unless the service still runs the spec this deploy set and its previous spec holds the
 * image recorded before it. After Swarm rolled the update back itself (failure_action) or another
 * change since, the previous spec is something else, and rolling back would bring that back.
 */
export async function checkSwarmRollback(host: Host, service: string, version: string, recorded: string | undefined): Promise<void> {
  if (recorded === undefined) throw new UserError('rollback.no-record', `The run recorded no image for ${service} before its change; nothing was run. /ps shows what runs; /runbook deploy can put a version back.`);
  const { image, previous } = await swarmSpecImages(host, service);
  const deployed = withoutDigest(image);
  if (parseImageRef(deployed).tag !== version || previous !== recorded) {
    throw new UserError('rollback.spec-moved', `Service "${service}" is no longer on the spec this deploy set (it runs ${deployed}${previous ? `, its previous spec is ${withoutDigest(previous)}` : ''}; the deploy had recorded ${withoutDigest(recorded)}): \`service rollback\` would not return to the recorded image. Nothing was run. /runbook deploy can put a version back.`);
  }
}
