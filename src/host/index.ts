import type { HostConfig } from '../config/schema.js';
import { loadDockerode } from './dockerode.js';
import { Host } from './host.js';
import { LocalTransport } from './local.js';
import { SshTransport, loadNodeSsh } from './ssh.js';

export { Host, type ServiceState } from './host.js';
export type { ExecResult } from './transport.js';
export { displayCommand } from './quote.js';

export function createHost(config: HostConfig): Host {
  const transport = config.transport === 'local' ? new LocalTransport() : new SshTransport(config);
  return new Host(config, transport);
}

/**
 * Loads the SSH and Docker client libraries now: ~130 ms of module evaluation that blocks the
 * event loop. The bot calls it at start; loaded on its first command instead, that block delayed
 * the acknowledgement of every interaction arriving meanwhile. The CLI's other commands load them
 * when they reach a host.
 */
export function loadHostClients(hosts: readonly HostConfig[]): void {
  if (hosts.some((h) => h.transport !== 'local')) loadNodeSsh();
  loadDockerode();
}
