import { posix } from 'node:path';
import type Docker from 'dockerode';
import { parse as parseYaml } from 'yaml';
import type { HostConfig } from '../config/schema.js';
import { UserError } from '../engine/errors.js';
import { commandLabel, hostCommandDuration, hostCommands } from '../metrics.js';
import { dockerOver } from './docker.js';
import { Lookup } from './lookup.js';
import { readStack, serviceTasks, stackDocument, type SwarmServiceState, type SwarmTask } from './swarm.js';
import { dockerCli, type ExecResult, type Transport } from './transport.js';
import { mapLimit } from '../map-limit.js';

export type ComposeFlavour = 'v1' | 'v2';

/** What /ps shows for one compose service. */
export interface ServiceState {
  service: string;
  containerId: string | null;
  containerName: string | null;
  /** Docker's State (running, exited, restarting, paused, created, dead) or `missing`. */
  state: string;
  health: string | null;
  startedAt: string | null;
  image: string | null;
  /** Docker's RestartCount (restarts by its restart policy; a manual restart shows in startedAt). */
  restartCount: number;
  /** When the container was created: a new value means it was recreated. */
  createdAt: string | null;
}

const SERVICES_TTL_MS = 30_000;
/** Container inspections in flight at once: each may need a Docker API channel of the SSH link. */
const INSPECT_CONCURRENCY = 2;

/** The project's compose configuration as the host resolves it (`compose config`). */
export interface ComposeConfig {
  services: string[];
  /** The parsed document: services with their resolved environment, images, volumes… */
  document: Record<string, unknown>;
}

const PROJECT_LABEL = 'com.docker.compose.project';
const SERVICE_LABEL = 'com.docker.compose.service';
const WORKDIR_LABEL = 'com.docker.compose.project.working_dir';

/**
 * One managed host: its compose project and its Docker engine, reached through a transport.
 * Service names come from the host's own compose configuration; container facts come from the
 * Docker API by compose labels (names and v1's `ps` columns are unreliable).
 */
export class Host {
  private dockerLink: ReturnType<typeof dockerOver> | undefined;
  // Every fact below is single-flight: concurrent callers share one lookup on the host.
  private readonly flavour = new Lookup(() => this.detectFlavour(), Number.POSITIVE_INFINITY);
  private readonly config_ = new Lookup(() => this.readComposeConfig(), SERVICES_TTL_MS);
  private readonly project = new Lookup(() => this.findProject(), Number.POSITIVE_INFINITY);
  private readonly snapshot = new Lookup(() => this.readServiceStates());
  private readonly containerList = new Lookup(() => this.listContainers());
  private readonly stackSnapshot = new Lookup(() => readStack(this.docker, this.name, this.stack));

  constructor(
    readonly config: HostConfig,
    readonly transport: Transport,
  ) {
    // Keep-alive sockets are channels of the SSH connection: when it drops, so must they.
    transport.onDisconnect(() => {
      this.dockerLink?.agent.destroy();
      // A reconnect may meet a changed host (a redeploy while the link was down): ask again.
      this.config_.forget();
    });
    if (config.compose !== 'auto') this.flavour.set(config.compose);
    if (config.composeProject !== undefined) this.project.set(config.composeProject);
    // A swarm host's "project" is its stack: the concurrency keys and the warm-up use that name.
    if (config.stack !== undefined) this.project.set(config.stack);
  }

  /** A Swarm manager whose services are those of a stack (`orchestrator: swarm`). */
  get swarm(): boolean {
    return this.config.orchestrator === 'swarm';
  }

  /** The stack a swarm host manages (the schema requires one for such a host). */
  get stack(): string {
    if (this.config.stack === undefined) throw new UserError('host.not-swarm', `Host "${this.name}" manages a compose project, not a swarm stack.`);
    return this.config.stack;
  }

  /** Swarm's name of a stack service: `<stack>_<service>`, as `docker stack deploy` names it. */
  swarmServiceName(service: string): string {
    return `${this.stack}_${service}`;
  }

  /** The argv of a docker CLI command on this host's engine (`--host=` when it is not the default). */
  dockerArgv(args: readonly string[]): string[] {
    return dockerCli(args, this.config.dockerHost);
  }

  /** A swarm host's stack: services, replicas wanted and running, nodes; concurrent callers share one read. */
  stackStates(): Promise<SwarmServiceState[]> {
    return this.stackSnapshot.get();
  }

  /** The tasks of one service of the stack, newest first. */
  async swarmTasks(service: string): Promise<SwarmTask[]> {
    const inspected = (await this.docker.getService(this.swarmServiceName(service)).inspect()) as { ID: string };
    return serviceTasks(this.docker, inspected.ID);
  }

  /** The host's Docker API (dockerode over channels of the SSH link), made on first use. */
  get docker(): Docker {
    this.dockerLink ??= dockerOver(() => this.transport.openDockerStream(this.config.dockerHost), this.config.name);
    return this.dockerLink.docker;
  }

  get name(): string {
    return this.config.name;
  }

  get timeoutMs(): number {
    return this.config.commandTimeoutSeconds * 1000;
  }

  /** `cwd` defaults to the project directory; null runs the command where the login starts (the user's home). */
  async exec(argv: readonly string[], options: { timeoutMs?: number; cwd?: string | null; mutating?: boolean; input?: string } = {}): Promise<ExecResult> {
    const labels = { host: this.name, command: commandLabel(argv) };
    let res: ExecResult;
    try {
      res = await this.transport.exec(argv, { timeoutMs: options.timeoutMs ?? this.timeoutMs, ...(options.cwd === null ? {} : { cwd: options.cwd ?? this.config.projectDir }), ...(options.mutating ? { mutating: true } : {}), ...(options.input === undefined ? {} : { input: options.input }) });
    } catch (err) {
      hostCommands.inc({ ...labels, outcome: err instanceof UserError ? err.code : 'error' });
      throw err;
    }
    hostCommandDuration.observe(labels, res.durationMs / 1000);
    hostCommands.inc({ ...labels, outcome: res.timedOut ? 'timeout' : res.exitCode === 0 ? 'ok' : 'exit_nonzero' });
    return res;
  }

  composeFlavour(): Promise<ComposeFlavour> {
    return this.flavour.get();
  }

  /**
   * One probe: the v2 plugin, or else v1. A host with neither is found out by the first compose
   * command (exit 127), which says so; probing `docker-compose version` too would start one more
   * Python process on the host for nothing.
   */
  private async detectFlavour(): Promise<ComposeFlavour> {
    const v2 = await this.exec(['docker', 'compose', 'version'], { timeoutMs: 15_000 });
    return v2.exitCode === 0 ? 'v2' : 'v1';
  }

  /** The argv of a compose command, exactly as it will run (shown in confirmations and audit). */
  async composeArgv(args: readonly string[]): Promise<string[]> {
    const files = this.config.composeFiles.flatMap((f) => ['-f', f]);
    const base = (await this.composeFlavour()) === 'v2' ? ['docker', 'compose'] : ['docker-compose'];
    return [...base, ...files, ...args];
  }

  async compose(args: readonly string[], options: { timeoutMs?: number; mutating?: boolean } = {}): Promise<ExecResult> {
    const res = await this.exec(await this.composeArgv(args), options);
    if (res.exitCode === 127 && (await this.composeFlavour()) === 'v1') {
      throw new UserError('host.no-compose', `Host "${this.name}" has neither \`docker compose\` nor \`docker-compose\` (exit 127: ${res.stderr.trim().slice(0, 200)}). Nothing was run.`);
    }
    return res;
  }

  /** The project's resolved compose configuration (cached briefly, shared by concurrent callers). */
  composeConfig(): Promise<ComposeConfig> {
    return this.config_.get();
  }

  /** The services the host's compose configuration declares. */
  async services(): Promise<string[]> {
    return (await this.composeConfig()).services;
  }

  /** Whatever changed on the host (a deploy, an edited compose file): ask again next time. */
  forgetComposeConfig(): void {
    this.config_.forget();
  }

  private async readComposeConfig(): Promise<ComposeConfig> {
    // A stack's services come from the Swarm API (their specs), not from a compose file.
    if (this.swarm) return stackDocument(this.docker, this.name, this.stack);
    // The whole configuration, not `config --services`: one process gives the services and the
    // resolved environment (whose values the redaction must know).
    const res = await this.compose(['config'], { timeoutMs: 30_000 });
    if (res.exitCode !== 0) {
      throw new UserError('host.compose-config', `Cannot read the compose configuration on host "${this.name}" (${this.config.projectDir}, ${this.config.composeFiles.join(', ')}): \`config\` exited ${res.exitCode}: ${res.stderr.trim().slice(0, 300)}`);
    }
    let document: unknown;
    try {
      document = parseYaml(res.stdout);
    } catch (err) {
      throw new UserError('host.compose-config', `The compose configuration on host "${this.name}" is not valid YAML: ${(err as Error).message.split('\n')[0] ?? ''}`, { cause: err });
    }
    const doc = (typeof document === 'object' && document !== null ? document : {}) as Record<string, unknown>;
    const services = doc.services;
    const names = typeof services === 'object' && services !== null ? Object.keys(services).sort() : [];
    return { services: names, document: doc };
  }

  /** The compose project name: configured, or found from the working-dir label of its containers. */
  projectName(): Promise<string> {
    return this.project.get();
  }

  private async findProject(): Promise<string> {
    const dirs = new Set([this.config.projectDir, ...this.config.composeFiles.map((f) => posix.dirname(posix.resolve(this.config.projectDir, f)))]);
    const containers = await this.docker.listContainers({ all: true, filters: { label: [WORKDIR_LABEL] } });
    const match = containers.find((c) => dirs.has(c.Labels[WORKDIR_LABEL] ?? ''));
    const name = match?.Labels[PROJECT_LABEL];
    if (name === undefined) {
      throw new UserError('host.no-project', `No containers of the compose project in ${this.config.projectDir} exist on host "${this.name}" yet; set composeProject in the configuration or start the project.`);
    }
    return name;
  }

  /** The project's containers, stopped ones included; callers in the same instant share one listing. */
  containers(): Promise<Docker.ContainerInfo[]> {
    return this.containerList.get();
  }

  private async listContainers(): Promise<Docker.ContainerInfo[]> {
    let project: string;
    try {
      project = await this.projectName();
    } catch (err) {
      // A project with no containers at all is a state to report (all services missing), not an error.
      if (err instanceof UserError && err.code === 'host.no-project') return [];
      throw err;
    }
    return this.docker.listContainers({ all: true, filters: { label: [`${PROJECT_LABEL}=${project}`] } });
  }

  /** The container of a service (the newest one if scaled), or undefined when none exists. */
  async containerOf(service: string): Promise<Docker.ContainerInfo | undefined> {
    const project = await this.projectName();
    const list = await this.docker.listContainers({ all: true, filters: { label: [`${PROJECT_LABEL}=${project}`, `${SERVICE_LABEL}=${service}`] } });
    return list.sort((a, b) => b.Created - a.Created)[0];
  }

  /** Like containerOf, but a service without a container is a user-facing error. */
  async requireContainer(service: string): Promise<Docker.ContainerInfo> {
    const c = await this.containerOf(service);
    if (!c) throw new UserError('service.no-container', `Service "${service}" has no container on host "${this.name}"; it was never started or was removed. Use /ps to see the project.`);
    return c;
  }

  /** Every service with its container(s); concurrent callers share one snapshot. */
  serviceStates(): Promise<ServiceState[]> {
    return this.snapshot.get();
  }

  private async readServiceStates(): Promise<ServiceState[]> {
    // The containers are inspected while the services are still being read: on a cold start the
    // services come from `compose config` (Python, most of a second with v1), and the inspection
    // need not wait for it.
    const inspecting = this.containers().then((containers) => mapLimit(containers, INSPECT_CONCURRENCY, (c) => this.docker.getContainer(c.Id).inspect()));
    const [services, inspected] = await Promise.all([this.services(), inspecting]);
    const rows: ServiceState[] = [];
    for (const service of services) {
      const mine = inspected.filter((c) => c.Config.Labels[SERVICE_LABEL] === service);
      if (mine.length === 0) {
        rows.push({ service, containerId: null, containerName: null, state: 'missing', health: null, startedAt: null, image: null, restartCount: 0, createdAt: null });
        continue;
      }
      for (const c of mine) {
        rows.push({
          service,
          containerId: c.Id,
          containerName: c.Name.replace(/^\//, ''),
          state: c.State.Status,
          health: c.State.Health?.Status ?? null,
          startedAt: c.State.Running ? c.State.StartedAt : null,
          image: c.Config.Image,
          restartCount: c.RestartCount ?? 0,
          createdAt: c.Created ?? null,
        });
      }
    }
    return rows;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}
