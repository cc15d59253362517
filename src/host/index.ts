import type { HostConfig } from '../config/schema.js';
import { Host } from './host.js';
import { LocalTransport } from './local.js';
import { SshTransport } from './ssh.js';

export { Host, type ServiceState } from './host.js';
export type { ExecResult } from './transport.js';
export { displayCommand } from './quote.js';

export function createHost(config: HostConfig): Host {
  const transport = config.transport === 'local' ? new LocalTransport() : new SshTransport(config);
  return new Host(config, transport);
}
