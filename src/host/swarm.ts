import type Docker from 'dockerode';
import { UserError } from '../engine/errors.js';

/** The label `docker stack deploy` puts on a stack's services (and their tasks' containers). */
export const STACK_LABEL = 'com.docker.stack.namespace';

/** What /ps shows for one service of a swarm stack. */
export interface SwarmServiceState {
  /** The name in the stack file (`api`); Swarm's own name is `<stack>_<service>`. */
  service: string;
  /** Swarm's name of the service, `<stack>_<service>`. */
  name: string;
  id: string;
  /** `replicated` or `global`. */
  mode: string;
  /** Tasks wanted: the replica count, or for a global service the nodes it should run on. */
  desired: number;
  /** Tasks running now that are meant to run. */
  running: number;
  /** The nodes (hostnames) its running tasks are on, with how many tasks each. */
  nodes: { node: string; tasks: number }[];
  /** The image of its spec, without the pinned digest. */
  image: string;
  /** Swarm's last update of the service (`updating`, `completed`, `paused`, `rollback_completed`…). */
  update: { state: string; message: string | null } | null;
  /** Why its newest task that is not running failed, if one did after the newest running one. */
  lastError: string | null;
}

/** One task of a service, as the bot reads it (the Swarm API's Task, trimmed). */
export interface SwarmTask {
  id: string;
  slot: number | null;
  node: string;
  desiredState: string;
  state: string;
  error: string | null;
  createdAt: string;
  containerId: string | null;
  /** The ForceUpdate counter of the spec it was made from: `service update --force` bumps the service's. */
  forceUpdate: number;
  /** The image of the spec it was made from, without the pinned digest. */
  image: string;
}

interface RawTask {
  ID: string;
  ServiceID: string;
  Slot?: number;
  NodeID?: string;
  DesiredState: string;
  CreatedAt: string;
  Status: { State: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
  Spec?: { ForceUpdate?: number; ContainerSpec?: { Image?: string } };
}

interface RawNode {
  ID: string;
  Description?: { Hostname?: string };
}

/** Docker answers "This node is not a swarm manager" (503) on a plain engine: say what to check. */
function notSwarm(hostName: string, err: unknown): never {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  const text = String((err as { message?: unknown } | null)?.message ?? err);
  if (status === 503 || /not a swarm manager|swarm mode/i.test(text)) {
    throw new UserError('host.not-swarm', `Host "${hostName}" is configured with orchestrator: swarm, but its Docker engine is not a swarm manager (${text.split('\n')[0]?.slice(0, 200) ?? ''}). Check the host's dockerHost and that \`docker node ls\` works there.`, { cause: err });
  }
  throw err;
}

const withoutDigest = (image: string): string => image.replace(/@sha256:[0-9a-f]{64}$/, '');
export const imageOf = (s: Docker.Service): string => withoutDigest((s.Spec?.TaskTemplate as { ContainerSpec?: { Image?: string } } | undefined)?.ContainerSpec?.Image ?? '');

/** The services of a stack, by its label, sorted by name. */
export async function stackServices(docker: Docker, hostName: string, stack: string): Promise<Docker.Service[]> {
  const list = await docker.listServices({ filters: { label: [`${STACK_LABEL}=${stack}`] } }).catch((err: unknown) => notSwarm(hostName, err));
  return list.sort((a, b) => (a.Spec?.Name ?? '').localeCompare(b.Spec?.Name ?? ''));
}

/** The short name of a stack's service (`shop_api` → `api`). */
export const shortName = (stack: string, name: string): string => (name.startsWith(`${stack}_`) ? name.slice(stack.length + 1) : name);

/**
 * The stack as a compose-like document: its services with image, environment and deploy
 * settings from their Swarm specs. The engine reads it where it reads a compose project's
 * configuration: the services a param may name, the values to redact, and the fingerprint that
 * shows a service changed between a confirmation's preview and its click.
 */
export async function stackDocument(docker: Docker, hostName: string, stack: string): Promise<{ services: string[]; document: Record<string, unknown> }> {
  const services: Record<string, unknown> = {};
  for (const s of await stackServices(docker, hostName, stack)) {
    const spec = s.Spec ?? {};
    const container = (spec.TaskTemplate as { ContainerSpec?: { Env?: string[] } } | undefined)?.ContainerSpec;
    // The definition a deploy changes, not what the bot's own operations move: a scale changes
    // the replicas and a forced update its ForceUpdate counter, and neither must make a gate
    // shown before it look stale.
    services[shortName(stack, spec.Name ?? '')] = { image: imageOf(s), environment: container?.Env ?? [], deploy: { update_config: spec.UpdateConfig, rollback_config: spec.RollbackConfig, labels: spec.Labels } };
  }
  return { services: Object.keys(services).sort(), document: { services } };
}

/** Hostnames by node id (a task names its node by id). */
async function nodeNames(docker: Docker): Promise<Map<string, string>> {
  const nodes = (await docker.listNodes()) as RawNode[];
  return new Map(nodes.map((n) => [n.ID, n.Description?.Hostname ?? n.ID.slice(0, 12)]));
}

function toTask(t: RawTask, nodes: Map<string, string>): SwarmTask {
  return {
    id: t.ID,
    slot: t.Slot ?? null,
    node: t.NodeID ? (nodes.get(t.NodeID) ?? t.NodeID.slice(0, 12)) : '—',
    desiredState: t.DesiredState,
    state: t.Status.State,
    error: t.Status.Err ?? null,
    createdAt: t.CreatedAt,
    containerId: t.Status.ContainerStatus?.ContainerID ?? null,
    forceUpdate: t.Spec?.ForceUpdate ?? 0,
    image: withoutDigest(t.Spec?.ContainerSpec?.Image ?? ''),
  };
}

/** A service's tasks, newest first (Swarm keeps a few old ones per slot as history). */
export async function serviceTasks(docker: Docker, serviceId: string): Promise<SwarmTask[]> {
  const [tasks, nodes] = await Promise.all([docker.listTasks({ filters: { service: [serviceId] } }) as Promise<RawTask[]>, nodeNames(docker)]);
  // The filter matches a name prefix as well: keep this service's tasks only.
  return tasks
    .filter((t) => t.ServiceID === serviceId)
    .map((t) => toTask(t, nodes))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

const isRunning = (t: SwarmTask): boolean => t.desiredState === 'running' && t.state === 'running';

/** Every service of the stack: replicas wanted and running, and the nodes their tasks run on. */
export async function readStack(docker: Docker, hostName: string, stack: string): Promise<SwarmServiceState[]> {
  const services = await stackServices(docker, hostName, stack);
  if (services.length === 0) return [];
  const [tasks, nodes] = await Promise.all([docker.listTasks({ filters: { service: services.map((s) => s.ID) } }) as Promise<RawTask[]>, nodeNames(docker)]);
  return services.map((s) => {
    const mine = tasks
      .filter((t) => t.ServiceID === s.ID)
      .map((t) => toTask(t, nodes))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    const running = mine.filter(isRunning);
    const perNode = new Map<string, number>();
    for (const t of running) perNode.set(t.node, (perNode.get(t.node) ?? 0) + 1);
    const mode = s.Spec?.Mode as { Replicated?: { Replicas?: number }; Global?: object } | undefined;
    const desired = mode?.Replicated ? (mode.Replicated.Replicas ?? 0) : mine.filter((t) => t.desiredState === 'running').length;
    const failed = mine.find((t) => t.error !== null && t.state !== 'running');
    const newestRunning = running[0]?.createdAt ?? '';
    const update = s.UpdateStatus as { State?: string; Message?: string } | undefined;
    return {
      service: shortName(stack, s.Spec?.Name ?? ''),
      name: s.Spec?.Name ?? s.ID,
      id: s.ID,
      mode: mode?.Replicated ? 'replicated' : 'global',
      desired,
      running: running.length,
      nodes: [...perNode].map(([node, n]) => ({ node, tasks: n })).sort((a, b) => a.node.localeCompare(b.node)),
      image: imageOf(s),
      update: update?.State ? { state: update.State, message: update.Message ?? null } : null,
      lastError: failed && failed.createdAt > newestRunning ? failed.error : null,
    };
  });
}
