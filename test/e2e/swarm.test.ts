import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHost } from '../../src/doctor.js';
import { commandsLogMark, commandsLogSince, stagingDir } from '../staging/staging.js';
import { useBot } from './suite.js';
import { buttonId, buttonsOf, finalAnswer, isEphemeral, textOf } from './util.js';

const run = promisify(execFile);
const SWARM_PART = fileURLToPath(new URL('../staging/parts/swarm', import.meta.url));

/** `$STAGING_DIR/swarm/env.json`, written by `parts/swarm start`. */
interface SwarmEnv {
  netns: string;
  socket: string;
  dockerHost: string;
  stack: string;
  services: string[];
  /** A second tag of the stack's image in the swarm engine, for deploy. */
  version: string;
  dockerdPid: number;
}

// Started before the bot reads its configuration (the harness needs the socket path): idempotent,
// about 3 s from nothing and under a second when it runs.
await run('bash', [SWARM_PART, 'start'], { timeout: 120_000 });
const swarm = JSON.parse(readFileSync(`${stagingDir()}/swarm/env.json`, 'utf8')) as SwarmEnv;
/** The swarm engine's own API, as root: what really happened, not what the bot says. */
const engine = new Docker({ socketPath: swarm.socket });

interface Task {
  ID: string;
  ServiceID: string;
  CreatedAt: string;
  DesiredState: string;
  Status: { State: string };
  Spec?: { ContainerSpec?: { Image?: string } };
}
async function runningTasks(service: string): Promise<Task[]> {
  const s = (await engine.getService(`${swarm.stack}_${service}`).inspect()) as { ID: string };
  const tasks = (await engine.listTasks({ filters: { service: [s.ID] } })) as Task[];
  return tasks.filter((t) => t.ServiceID === s.ID && t.DesiredState === 'running' && t.Status.State === 'running');
}

/** The image stack.yml gives every service, and the deployable second version of it. */
const STACK_IMAGE = 'opsbot-staging/busybox:latest';
const VERSION_IMAGE = `opsbot-staging/busybox:${swarm.version}`;
const noDigest = (image: string | undefined) => (image ?? '').replace(/@sha256:[0-9a-f]{64}$/, '');
/** The image of a service's spec, and its update state, as the engine has them. */
async function specImage(service: string): Promise<string> {
  const s = (await engine.getService(`${swarm.stack}_${service}`).inspect()) as { Spec: { TaskTemplate: { ContainerSpec: { Image: string } } } };
  return noDigest(s.Spec.TaskTemplate.ContainerSpec.Image);
}
async function updateState(service: string): Promise<string | undefined> {
  return ((await engine.getService(`${swarm.stack}_${service}`).inspect()) as { UpdateStatus?: { State?: string } }).UpdateStatus?.State;
}
/** The images of the specs the running tasks of a service were made from. */
async function taskImages(service: string): Promise<string[]> {
  return (await runningTasks(service)).map((t) => noDigest(t.Spec?.ContainerSpec?.Image));
}

describe('a Docker Swarm stack as a target (orchestrator: swarm), on a swarm in its own network namespace', () => {
  // Host 0 is the usual compose staging host; host 1 is the swarm manager behind the same sshd,
  // reached with `docker --host=unix://…/swarm/docker.sock` (allowed by the guard for that socket).
  const h = useBot({
    hostCount: 2,
    hostConfig: (n) => (n === 1 ? { name: 'swarm', orchestrator: 'swarm', stack: swarm.stack, dockerHost: swarm.dockerHost, healthChecks: {} } : {}),
  });

  afterAll(async () => {
    // Whatever a failed assertion left behind, the next run expects the stack as stack.yml has it.
    const worker = (await engine.getService(`${swarm.stack}_worker`).inspect()) as { Spec: { Mode: { Replicated?: { Replicas?: number } } } };
    if (worker.Spec.Mode.Replicated?.Replicas !== 1) await run('docker', [`--host=${swarm.dockerHost}`, 'service', 'scale', '--detach', `${swarm.stack}_worker=1`]);
    if ((await specImage('api')) !== STACK_IMAGE) await run('docker', [`--host=${swarm.dockerHost}`, 'service', 'update', '--detach', '--image', STACK_IMAGE, `${swarm.stack}_api`]);
  });

  beforeAll(async () => {
    // Swarm's bridges exist inside the namespace only, never in this machine's own.
    const { stdout: root } = await run('ip', ['-o', 'link', 'show']);
    expect(root).not.toMatch(/docker_gwbridge|docker0/);
    const { stdout: inside } = await run('ip', ['netns', 'exec', swarm.netns, 'ip', '-o', 'link', 'show']);
    expect(inside).toMatch(/docker_gwbridge/);
  });

  it("/ps on the swarm host shows the stack's services, replicas wanted/running and the node of their tasks", async () => {
    const handle = await h.double.sendCommand({ name: 'ps', options: { host: 'swarm' }, member: 'viewer', channel: 'alerts' });
    const body = textOf(await handle.waitForReply());
    expect(body).toContain(`stack ${swarm.stack}: all 2 services at their replicas`);
    expect(body).toMatch(/api[\s\S]*🟢 2\/2 replicas/);
    expect(body).toMatch(/worker[\s\S]*🟢 1\/1 replicas/);
    // Swarm names a node by its hostname: the namespace shares this machine's.
    expect(body).toContain(`nodes: ${hostname()} ×2`);
    expect(body).toContain(`nodes: ${hostname()}`);
  });

  it('restart behind the gate is `docker service update --force`: every task of the service is replaced, verified by the tasks converging', async () => {
    const before = await runningTasks('api');
    expect(before).toHaveLength(2);
    const mark = await commandsLogMark();
    const handle = await h.double.sendCommand({ name: 'restart', options: { host: 'swarm', service: 'api' }, member: 'operator', channel: 'alerts' });
    const gate = await handle.waitForReply((m) => buttonsOf(m).length > 0);
    const argv = `docker --host=${swarm.dockerHost} service update --detach --force ${swarm.stack}_api`;
    expect(textOf(gate)).toContain(argv);
    expect(textOf(gate)).toMatch(/2\/2 running on/);
    // Nothing changes before the confirmation.
    expect((await runningTasks('api')).map((t) => t.ID).sort()).toEqual(before.map((t) => t.ID).sort());

    const click = await h.double.clickButton({ message: gate, customId: buttonId(gate, 'Confirm'), member: 'operator' });
    const done = await click.waitForUpdate((m) => /[✅❌] \*\*Verify\*\* — /.test(textOf(m)), { timeoutMs: 60_000 });
    const body = textOf(done);
    expect(body).toMatch(/✅ \*\*Restart\*\*/);
    expect(body).toMatch(/✅ \*\*Verify\*\* — converged: 2\/2 new tasks running/);

    // The engine agrees: two running tasks, neither of them one that ran before.
    const after = await runningTasks('api');
    expect(after).toHaveLength(2);
    for (const t of after) expect(before.map((b) => b.ID)).not.toContain(t.ID);
    const svc = (await engine.getService(`${swarm.stack}_api`).inspect()) as { Spec: { TaskTemplate: { ForceUpdate?: number } }; UpdateStatus?: { State: string } };
    expect(svc.UpdateStatus?.State).toBe('completed');
    // worker was not touched.
    expect(await runningTasks('worker')).toHaveLength(1);
    // The one mutating command reached the host as shown at the gate, through the guard.
    const sent = (await commandsLogSince(mark)).filter((l) => l.includes('service update'));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toContain(argv);
  }, 90_000);

  it('logs on the swarm host are the service logs of all its tasks', async () => {
    const handle = await h.double.sendCommand({ name: 'logs', options: { host: 'swarm', service: 'worker', lines: 5 }, member: 'viewer', channel: 'alerts' });
    const body = textOf(await handle.waitForReply());
    expect(body).toMatch(/worker: queue empty|worker started/);
  });

  it('high-usage scales with `docker service scale` after Confirm, and Roll back returns to the recorded replicas', async () => {
    expect(await runningTasks('worker')).toHaveLength(1);
    const ask = h.double.sendCommand({ name: 'runbook', subcommand: 'high-usage', options: { host: 'swarm', service: 'worker', replicas: 2 }, member: 'operator', channel: 'alerts' });
    const gate = await ask.waitForReply((m) => buttonsOf(m).length > 0, { timeoutMs: 30_000 });
    expect(textOf(gate)).toContain(`docker --host=${swarm.dockerHost} service scale --detach ${swarm.stack}_worker=2`);
    expect(textOf(gate)).toMatch(/1\/1 replicas running on/);
    expect(textOf(gate)).toMatch(/✅ \*\*Last 200 log lines\*\* — \d+ lines/);
    expect(await runningTasks('worker')).toHaveLength(1);
    const confirm = await h.double.clickButton({ message: gate, customId: buttonId(gate, 'Confirm'), member: 'operator' });
    const done = await confirm.waitForUpdate((m) => /[✅❌] \*\*Scale up/.test(textOf(m)), { timeoutMs: 60_000 });
    expect(textOf(done)).toMatch(/✅ \*\*Scale up \(temporary mitigation\)\*\* — 2 tasks running/);
    expect(await runningTasks('worker')).toHaveLength(2);
    const rollback = await h.double.clickButton({ message: done, customId: buttonId(done, 'Roll back'), member: 'operator' });
    const rbGate = await rollback.waitForReply((m) => buttonsOf(m).length > 0, { timeoutMs: 30_000 });
    expect(textOf(rbGate)).toContain(`service scale --detach ${swarm.stack}_worker=1`);
    const rbConfirm = await h.double.clickButton({ message: rbGate, customId: buttonId(rbGate, 'Confirm'), member: 'operator' });
    const back = await rbConfirm.waitForUpdate((m) => /[✅❌] \*\*Scale back/.test(textOf(m)), { timeoutMs: 60_000 });
    expect(textOf(back)).toMatch(/✅ \*\*Scale back to the count recorded before\*\* — 1 task running/);
    expect(await runningTasks('worker')).toHaveLength(1);
    const spec = (await engine.getService(`${swarm.stack}_worker`).inspect()) as { Spec: { Mode: { Replicated: { Replicas: number } } } };
    expect(spec.Spec.Mode.Replicated.Replicas).toBe(1);
  }, 90_000);

  it("deploy is `docker service update --image` behind the gate, verified by the tasks converging on the new image; Roll back is Swarm's `service rollback`", async () => {
    expect(await specImage('api')).toBe(STACK_IMAGE);
    const mark = await commandsLogMark();
    const ask = h.double.sendCommand({ name: 'runbook', subcommand: 'deploy', options: { host: 'swarm', service: 'api', version: swarm.version }, member: 'operator', channel: 'alerts' });
    const gate = await ask.waitForReply((m) => buttonsOf(m).length > 0, { timeoutMs: 30_000 });
    const argv = `docker --host=${swarm.dockerHost} service update --detach --image ${VERSION_IMAGE} ${swarm.stack}_api`;
    expect(textOf(gate)).toContain(argv);
    expect(textOf(gate)).toMatch(new RegExp(`✅ \\*\\*Record the running image\\*\\* — ${swarm.stack}_api runs ${STACK_IMAGE}`));
    // Nothing changes before the confirmation.
    expect(await specImage('api')).toBe(STACK_IMAGE);

    const confirm = await h.double.clickButton({ message: gate, customId: buttonId(gate, 'Confirm'), member: 'operator' });
    const done = await confirm.waitForUpdate((m) => /[✅❌] \*\*Health gate\*\* — /.test(textOf(m)), { timeoutMs: 90_000 });
    expect(textOf(done)).toMatch(/✅ \*\*Health gate\*\* — converged: 2\/2 new tasks running/);
    // The engine agrees: the spec names the version, both running tasks were made from it.
    expect(await specImage('api')).toBe(VERSION_IMAGE);
    expect(await taskImages('api')).toEqual([VERSION_IMAGE, VERSION_IMAGE]);
    expect(await updateState('api')).toBe('completed');
    expect(await taskImages('worker')).toEqual([STACK_IMAGE]);

    const rollback = await h.double.clickButton({ message: done, customId: buttonId(done, 'Roll back'), member: 'operator' });
    const rbGate = await rollback.waitForReply((m) => buttonsOf(m).length > 0, { timeoutMs: 30_000 });
    expect(textOf(rbGate)).toContain(`docker --host=${swarm.dockerHost} service rollback --detach ${swarm.stack}_api`);
    expect(await specImage('api')).toBe(VERSION_IMAGE);
    const rbConfirm = await h.double.clickButton({ message: rbGate, customId: buttonId(rbGate, 'Confirm'), member: 'operator' });
    const back = await rbConfirm.waitForUpdate((m) => /[✅❌] \*\*Health gate\*\* — /.test(textOf(m)), { timeoutMs: 90_000 });
    expect(textOf(back)).toMatch(/✅ \*\*Health gate\*\* — converged: 2\/2 new tasks running/);
    expect(await specImage('api')).toBe(STACK_IMAGE);
    expect(await taskImages('api')).toEqual([STACK_IMAGE, STACK_IMAGE]);
    expect(await updateState('api')).toBe('rollback_completed');
    // The two changes reached the host as shown at their gates, through the guard.
    const sent = (await commandsLogSince(mark)).filter((l) => /service (update|rollback)/.test(l));
    expect(sent).toHaveLength(2);
    expect(sent[0]).toContain(argv);
    expect(sent[1]).toContain(`service rollback --detach ${swarm.stack}_api`);
  }, 120_000);

  it('deploy refuses a version neither the swarm engine nor a registry has, before any gate, and runs nothing', async () => {
    const mark = await commandsLogMark();
    const answer = await finalAnswer(h.double.sendCommand({ name: 'runbook', subcommand: 'deploy', options: { host: 'swarm', service: 'api', version: '9.9.9' }, member: 'operator', channel: 'alerts' }));
    expect(isEphemeral(answer)).toBe(true);
    // The namespace reaches no registry: the engine cannot ask one, and says so.
    expect(textOf(answer)).toMatch(/Version "9\.9\.9" \(opsbot-staging\/busybox:9\.9\.9\) is not an image of the swarm manager, and its engine could not check the registry \(.+\)\. Nothing was run\./);
    expect(buttonsOf(answer)).toEqual([]);
    expect((await commandsLogSince(mark)).filter((l) => l.includes('service '))).toEqual([]);
    expect(await specImage('api')).toBe(STACK_IMAGE);
  });

  it("refuses a service the stack does not have, and runs nothing that changes the swarm", async () => {
    const before = (await runningTasks('api')).map((t) => t.ID).sort();
    const mark = await commandsLogMark();
    const handle = await h.double.sendCommand({ name: 'restart', options: { host: 'swarm', service: 'nosuch' }, member: 'operator', channel: 'alerts' });
    const answer = await finalAnswer(handle);
    expect(isEphemeral(answer)).toBe(true);
    expect(textOf(answer)).toMatch(/Host "swarm" has no service in stack shop "nosuch"\. Its services: api, worker\. Nothing was run\./);
    expect(buttonsOf(answer)).toEqual([]);
    expect((await commandsLogSince(mark)).filter((l) => l.includes('service update'))).toEqual([]);
    expect((await runningTasks('api')).map((t) => t.ID).sort()).toEqual(before);
  });

  it('doctor checks the swarm host through the same link: the guard, the engine, and the stack instead of a compose project', async () => {
    const checks = await checkHost(h.config.hosts[1]!);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.find((c) => c.name === 'stack')?.detail).toBe(`${swarm.stack}: api, worker, all at their replicas`);
    expect(checks.map((c) => c.name)).not.toContain('compose');
  });

  it('a command that reads compose containers is refused on the swarm host, before anything runs there', async () => {
    const mark = await commandsLogMark();
    const answer = await finalAnswer(h.double.sendCommand({ name: 'stats', options: { host: 'swarm' }, member: 'viewer', channel: 'alerts' }));
    expect(textOf(answer)).toMatch(/cannot run on host "swarm": host swarm is a swarm manager \(stack shop\), and this runbook reads compose containers; on a swarm host: deploy, high-usage, logs, ps, restart\. Nothing was run\./);
    expect((await commandsLogSince(mark)).filter((l) => /docker (--host=\S+ )?stats/.test(l))).toEqual([]);
  });
});
