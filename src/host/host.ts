import { posix } from 'node:path';
import type Docker from 'dockerode';
import type { HostConfig } from '../config/schema.js';
import { UserError } from '../engine/errors.js';
import { dockerOver } from './docker.js';
import type { ExecResult, Transport } from './transport.js';

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
}

const SERVICES_TTL_MS = 30_000;
const PROJECT_LABEL = 'com.docker.compose.project';
const SERVICE_LABEL = 'com.docker.compose.service';
const WORKDIR_LABEL = 'com.docker.compose.project.working_dir';

/**
 * One managed host: its compose project and its Docker engine, reached through a transport.
 * Service names come from the host's own compose configuration; container facts come from the
 * Docker API by compose labels (names and v1's `ps` columns are unreliable).
 */
export class Host {
  readonly docker: Docker;
  private flavour: ComposeFlavour | undefined;
  private servicesCache: { at: number; names: string[] } | undefined;
  private project: string | undefined;

  constructor(
    readonly config: HostConfig,
    readonly transport: Transport,
  ) {
    const { docker, agent } = dockerOver(() => transport.openDockerStream());
    this.docker = docker;
    // Keep-alive sockets are channels of the SSH connection: when it drops, so must they.
    transport.onDisconnect(() => agent.destroy());
    if (config.compose !== 'auto') this.flavour = config.compose;
    this.project = config.composeProject;
  }

  get name(): string {
    return this.config.name;
  }

  get timeoutMs(): number {
    return this.config.commandTimeoutSeconds * 1000;
  }

  exec(argv: readonly string[], options: { timeoutMs?: number; cwd?: string } = {}): Promise<ExecResult> {
    return this.transport.exec(argv, { timeoutMs: options.timeoutMs ?? this.timeoutMs, cwd: options.cwd ?? this.config.projectDir });
  }

  async composeFlavour(): Promise<ComposeFlavour> {
    if (this.flavour) return this.flavour;
    const v2 = await this.exec(['docker', 'compose', 'version'], { timeoutMs: 15_000 });
    if (v2.exitCode === 0) return (this.flavour = 'v2');
    const v1 = await this.exec(['docker-compose', 'version'], { timeoutMs: 15_000 });
    if (v1.exitCode === 0) return (this.flavour = 'v1');
    throw new UserError('host.no-compose', `Host "${this.name}" has neither \`docker compose\` nor \`docker-compose\`.`);
  }

  /** The argv of a compose command, exactly as it will run (shown in confirmations and audit). */
  async composeArgv(args: readonly string[]): Promise<string[]> {
    const files = this.config.composeFiles.flatMap((f) => ['-f', f]);
    const base = (await this.composeFlavour()) === 'v2' ? ['docker', 'compose'] : ['docker-compose'];
    return [...base, ...files, ...args];
  }

  async compose(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<ExecResult> {
    return this.exec(await this.composeArgv(args), options);
  }

  /** The services the host's compose configuration declares (cached briefly). */
  async services(): Promise<string[]> {
    const cached = this.servicesCache;
    if (cached && Date.now() - cached.at < SERVICES_TTL_MS) return cached.names;
    const res = await this.compose(['config', '--services'], { timeoutMs: 30_000 });
    if (res.exitCode !== 0) {
      throw new UserError('host.compose-config', `Cannot read the compose services on host "${this.name}": \`config --services\` exited ${res.exitCode}: ${res.stderr.trim().slice(0, 300)}`);
    }
    const names = res.stdout.split('\n').map((s) => s.trim()).filter((s) => s.length > 0).sort();
    this.servicesCache = { at: Date.now(), names };
    return names;
  }

  /** The compose project name: configured, or found from the working-dir label of its containers. */
  async projectName(): Promise<string> {
    if (this.project) return this.project;
    const dirs = new Set([this.config.projectDir, ...this.config.composeFiles.map((f) => posix.dirname(posix.resolve(this.config.projectDir, f)))]);
    const containers = await this.docker.listContainers({ all: true, filters: { label: [WORKDIR_LABEL] } });
    const match = containers.find((c) => dirs.has(c.Labels[WORKDIR_LABEL] ?? ''));
    const name = match?.Labels[PROJECT_LABEL];
    if (name === undefined) {
      throw new UserError('host.no-project', `No containers of the compose project in ${this.config.projectDir} exist on host "${this.name}" yet; set composeProject in the configuration or start the project.`);
    }
    return (this.project = name);
  }

  async containers(): Promise<Docker.ContainerInfo[]> {
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

  async serviceStates(): Promise<ServiceState[]> {
    const [services, containers] = await Promise.all([this.services(), this.containers()]);
    const inspected = await Promise.all(containers.map((c) => this.docker.getContainer(c.Id).inspect()));
    const rows: ServiceState[] = [];
    for (const service of services) {
      const mine = inspected.filter((c) => c.Config.Labels[SERVICE_LABEL] === service);
      if (mine.length === 0) {
        rows.push({ service, containerId: null, containerName: null, state: 'missing', health: null, startedAt: null, image: null });
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
        });
      }
    }
    return rows;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}
