import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { readFileSync } from 'node:fs';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { hostSchema } from '../../src/config/schema.js';
import { Host } from '../../src/host/host.js';
import { readStack, stackDocument } from '../../src/host/swarm.js';
import type { Transport } from '../../src/host/transport.js';
import { runbooks } from '../../runbooks/index.js';
import { checkSwarmRollback, swarmDeployArgv, swarmForceUpdateArgv, swarmRollbackArgv } from '../../runbooks/swarm.js';
import { SWARM_RUNBOOKS, missingParts } from '../../src/engine/parts.js';

const example = readFileSync('opsbot.example.yaml', 'utf8');

function problemsOf(hosts: Record<string, unknown>[]): string[] {
  const doc = parse(example) as { hosts: Record<string, unknown>[] };
  doc.hosts = hosts;
  try {
    parseConfig(stringify(doc), 'opsbot.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  return [];
}

const base = { name: 'manager', address: '10.0.0.5', user: 'deploy', keyPath: '/keys/id', hostKeyFingerprint: `SHA256:${'a'.repeat(43)}`, projectDir: '/srv/shop' };

describe('configuration of a swarm host', () => {
  it('a host is a compose project unless it says orchestrator: swarm, which needs its stack', () => {
    expect(hostSchema.parse(base).orchestrator).toBe('compose');
    expect(problemsOf([{ ...base, orchestrator: 'swarm', stack: 'shop' }])).toEqual([]);
    expect(problemsOf([{ ...base, orchestrator: 'swarm' }]).join('\n')).toMatch(/hosts\.0\.stack.*must name its stack/);
    expect(problemsOf([{ ...base, stack: 'shop' }]).join('\n')).toMatch(/hosts\.0\.stack.*for orchestrator: swarm hosts/);
    expect(problemsOf([{ ...base, orchestrator: 'kubernetes', stack: 'shop' }]).join('\n')).toMatch(/hosts\.0\.orchestrator/);
    expect(problemsOf([{ ...base, orchestrator: 'swarm', stack: 'Shop Stack' }]).join('\n')).toMatch(/hosts\.0\.stack.*stack name/);
  });

  it('dockerHost is a unix socket path only', () => {
    expect(problemsOf([{ ...base, dockerHost: 'unix:///run/swarm/docker.sock' }])).toEqual([]);
    for (const bad of ['tcp://10.0.0.1:2375', 'unix://relative.sock', 'unix:///run/../var/run/docker.sock', 'unix:///run/a b.sock', '/run/docker.sock']) {
      expect(problemsOf([{ ...base, dockerHost: bad }]).join('\n'), bad).toMatch(/hosts\.0\.dockerHost/);
    }
  });
});

const never = (): never => {
  throw new Error('not expected in this test');
};
const transport: Transport = { description: 'test', exec: never, openDockerStream: never, onDisconnect: () => undefined, close: async () => undefined };

describe('a swarm host', () => {
  it('builds docker argv for its engine, and restart as a forced update of <stack>_<service>', () => {
    const host = new Host(hostSchema.parse({ ...base, orchestrator: 'swarm', stack: 'shop', dockerHost: 'unix:///run/swarm.sock' }), transport);
    expect(host.swarm).toBe(true);
    expect(swarmForceUpdateArgv(host, 'api')).toEqual(['docker', '--host=unix:///run/swarm.sock', 'service', 'update', '--detach', '--force', 'shop_api']);
    const plain = new Host(hostSchema.parse({ ...base, orchestrator: 'swarm', stack: 'shop' }), transport);
    expect(swarmForceUpdateArgv(plain, 'api')).toEqual(['docker', 'service', 'update', '--detach', '--force', 'shop_api']);
    const compose = new Host(hostSchema.parse(base), transport);
    expect(compose.swarm).toBe(false);
    expect(() => compose.stack).toThrow(/manages a compose project, not a swarm stack/);
  });
});

describe('runbooks on a swarm host', () => {
  it('the runbooks that read compose containers are refused there before anything runs; the swarm-aware ones and their rollbacks are not', async () => {
    const host = new Host(hostSchema.parse({ ...base, orchestrator: 'swarm', stack: 'shop' }), transport);
    const byId = (id: string) => runbooks.find((r) => r.id === id)!;
    for (const id of SWARM_RUNBOOKS) expect(await missingParts(byId(id), host), id).toEqual([]);
    expect(await missingParts({ ...byId('restart'), id: 'restart:rollback' }, host)).toEqual([]);
    expect((await missingParts(byId('stats'), host)).join()).toMatch(/host manager is a swarm manager \(stack shop\), and this runbook reads compose containers; on a swarm host: deploy, high-usage, logs, ps, restart/);
    // A compose host is unaffected.
    expect(await missingParts(byId('stats'), new Host(hostSchema.parse(base), transport))).toEqual([]);
  });
});

/** The Swarm API's answers for a stack of two services on two nodes (trimmed to what the bot reads). */
function fakeDocker(): Docker {
  const services = [
    { ID: 'svc-w', Spec: { Name: 'shop_worker', Mode: { Replicated: { Replicas: 2 } }, TaskTemplate: { ContainerSpec: { Image: `shop/worker:1.2@sha256:${'c'.repeat(64)}`, Env: ['QUEUE_TOKEN=s3cret'] } } }, UpdateStatus: { State: 'paused', Message: 'update paused due to failure' } },
    { ID: 'svc-a', Spec: { Name: 'shop_api', Mode: { Replicated: { Replicas: 3 } }, TaskTemplate: { ContainerSpec: { Image: 'shop/api:2.0' } } } },
    { ID: 'svc-m', Spec: { Name: 'shop_metrics', Mode: { Global: {} }, TaskTemplate: { ContainerSpec: { Image: 'exporter' } } } },
  ];
  const task = (id: string, svc: string, node: string, desired: string, state: string, at: string, err?: string) => ({ ID: id, ServiceID: svc, NodeID: node, Slot: 1, DesiredState: desired, CreatedAt: at, Status: { State: state, ...(err ? { Err: err } : {}) } });
  const tasks = [
    task('a1', 'svc-a', 'n1', 'running', 'running', '2026-12-01T10:00:00Z'),
    task('a2', 'svc-a', 'n2', 'running', 'running', '2026-12-01T10:00:01Z'),
    task('a3', 'svc-a', 'n2', 'running', 'running', '2026-12-01T10:00:02Z'),
    task('a0', 'svc-a', 'n1', 'shutdown', 'complete', '2026-11-30T10:00:00Z'),
    task('w1', 'svc-w', 'n1', 'running', 'running', '2026-12-01T09:00:00Z'),
    task('w2', 'svc-w', 'n2', 'shutdown', 'failed', '2026-12-01T11:00:00Z', 'task: non-zero exit (1)'),
    task('m1', 'svc-m', 'n1', 'running', 'running', '2026-12-01T09:00:00Z'),
    task('m2', 'svc-m', 'n2', 'running', 'preparing', '2026-12-01T09:00:00Z'),
    task('x1', 'svc-other', 'n1', 'running', 'running', '2026-12-01T09:00:00Z'),
  ];
  const nodes = [
    { ID: 'n1', Description: { Hostname: 'manager-1' } },
    { ID: 'n2', Description: { Hostname: 'worker-1' } },
  ];
  return {
    listServices: async (o: { filters: { label: string[] } }) => {
      expect(o.filters.label).toEqual(['com.docker.stack.namespace=shop']);
      return services;
    },
    listTasks: async () => tasks,
    listNodes: async () => nodes,
  } as unknown as Docker;
}

describe('reading a stack from the Swarm API', () => {
  it('gives each service its replicas wanted and running, the nodes of its running tasks, and why it is short', async () => {
    const rows = await readStack(fakeDocker(), 'manager', 'shop');
    expect(rows.map((r) => r.service)).toEqual(['api', 'metrics', 'worker']);
    const [api, metrics, worker] = rows;
    expect(api).toMatchObject({ name: 'shop_api', mode: 'replicated', desired: 3, running: 3, nodes: [{ node: 'manager-1', tasks: 1 }, { node: 'worker-1', tasks: 2 }], image: 'shop/api:2.0', update: null, lastError: null });
    // A global service wants one task per node it runs on; one of them is still preparing.
    expect(metrics).toMatchObject({ mode: 'global', desired: 2, running: 1, nodes: [{ node: 'manager-1', tasks: 1 }] });
    // The pinned digest is not shown; the failed newer task and the paused update are.
    expect(worker).toMatchObject({ desired: 2, running: 1, image: 'shop/worker:1.2', update: { state: 'paused', message: 'update paused due to failure' }, lastError: 'task: non-zero exit (1)' });
  });

  it('serves the engine a compose-like document: services by short name, their environment for redaction', async () => {
    const { services, document } = await stackDocument(fakeDocker(), 'manager', 'shop');
    expect(services).toEqual(['api', 'metrics', 'worker']);
    expect((document.services as Record<string, { environment: string[] }>).worker?.environment).toEqual(['QUEUE_TOKEN=s3cret']);
  });

  it("leaves replicas and the forced-update counter out of a service's definition: the bot's own scale or restart must not make a shown gate look stale", async () => {
    const spec = (replicas: number, force: number) => ({ ID: 'svc-a', Spec: { Name: 'shop_api', Mode: { Replicated: { Replicas: replicas } }, TaskTemplate: { ForceUpdate: force, ContainerSpec: { Image: 'shop/api:2.0' } } } });
    const docker = (s: unknown) => ({ listServices: async () => [s] }) as unknown as Docker;
    const a = await stackDocument(docker(spec(1, 0)), 'manager', 'shop');
    expect((await stackDocument(docker(spec(3, 7)), 'manager', 'shop')).document).toEqual(a.document);
    const other = { ...spec(1, 0), Spec: { ...spec(1, 0).Spec, TaskTemplate: { ContainerSpec: { Image: 'shop/api:2.1' } } } };
    expect((await stackDocument(docker(other), 'manager', 'shop')).document).not.toEqual(a.document);
  });

  it('says so when the engine is not a swarm manager', async () => {
    const docker = { listServices: async () => Promise.reject(Object.assign(new Error('(HTTP code 503) unexpected - This node is not a swarm manager.'), { statusCode: 503 })) } as unknown as Docker;
    await expect(readStack(docker, 'manager', 'shop')).rejects.toThrow(/Host "manager" is configured with orchestrator: swarm, but its Docker engine is not a swarm manager/);
  });
});

describe('deploy on a swarm host', () => {
  const host = new Host(hostSchema.parse({ ...base, orchestrator: 'swarm', stack: 'shop' }), transport);
  /** The host with its engine answering one service inspect: the spec's and the previous spec's image. */
  const withSpecs = (image: string, previous: string | undefined): Host => {
    const spec = (i: string) => ({ TaskTemplate: { ContainerSpec: { Image: i } } });
    const docker = { getService: () => ({ inspect: async () => ({ Spec: spec(image), ...(previous ? { PreviousSpec: spec(previous) } : {}) }) }) };
    return Object.defineProperty(Object.create(host) as Host, 'docker', { value: docker });
  };
  const before = 'opsbot-staging/busybox:latest';

  it('is `service update --image` of <stack>_<service>, and its rollback `service rollback`', () => {
    expect(swarmDeployArgv(host, 'api', 'repo/app:2.0')).toEqual(['docker', 'service', 'update', '--detach', '--image', 'repo/app:2.0', 'shop_api']);
    expect(swarmRollbackArgv(host, 'api')).toEqual(['docker', 'service', 'rollback', '--detach', 'shop_api']);
  });

  it('rolls back only from the spec the deploy set to the recorded image: not after Swarm rolled back itself, nor without a record', async () => {
    await expect(checkSwarmRollback(withSpecs(`opsbot-staging/busybox:2.0@sha256:${'b'.repeat(64)}`, before), 'api', '2.0', before)).resolves.toBeUndefined();
    // failure_action: rollback swapped the specs: the previous spec is now the failed version.
    await expect(checkSwarmRollback(withSpecs(before, 'opsbot-staging/busybox:2.0'), 'api', '2.0', before)).rejects.toThrow(/no longer on the spec this deploy set \(it runs opsbot-staging\/busybox:latest, its previous spec is opsbot-staging\/busybox:2\.0.*Nothing was run/);
    await expect(checkSwarmRollback(withSpecs('opsbot-staging/busybox:2.0', 'opsbot-staging/busybox:1.9'), 'api', '2.0', before)).rejects.toThrow(/would not return to the recorded image/);
    await expect(checkSwarmRollback(withSpecs('opsbot-staging/busybox:2.0', before), 'api', '2.0', undefined)).rejects.toThrow(/recorded no image/);
  });
});
