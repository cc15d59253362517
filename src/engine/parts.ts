import type { HostConfig } from '../config/schema.js';
import type { Host } from '../host/index.js';
import type { AnyRunbook } from './runbook.js';

/**
 * The parts of a host a runbook can need, each named per host (`parts:` in the host's
 * configuration, the seed's names by default). A runbook lists the ones it needs (`needs`), so a
 * host that lacks one is told before anything runs, and `/runbook list` says so, instead of a
 * run failing halfway.
 */
export type Part = 'proxy' | 'database' | 'updater' | 'registry' | 'github' | 'prometheus';

export type HostParts = HostConfig['parts'];

/** Parts that are compose services of the host: declared in its compose configuration or missing. */
const SERVICE_PARTS = { proxy: 'proxy', database: 'database', updater: 'updater' } as const satisfies Partial<Record<Part, keyof HostParts>>;

/** Parts that are settings: configured or not. */
function settingMissing(part: Exclude<Part, keyof typeof SERVICE_PARTS>, config: HostConfig): string | null {
  switch (part) {
    case 'registry':
      return config.parts.registry === undefined ? 'no registry configured (`parts.registry`)' : null;
    case 'github':
      return config.parts.githubRepo === undefined ? 'no GitHub repository configured (`parts.githubRepo`)' : null;
    case 'prometheus':
      return config.prometheusUrl === undefined ? 'no Prometheus configured (`prometheusUrl`)' : null;
  }
}

/** The compose service a service part is called on this host. */
export function serviceOf(config: HostConfig, part: keyof typeof SERVICE_PARTS): string {
  return config.parts[SERVICE_PARTS[part]];
}

/**
 * The runbooks that know a swarm host (`orchestrator: swarm`): they read its stack through the
 * Swarm API and change it with Swarm's own operations (runbooks/swarm.ts). The others read compose
 * containers on the host, which a stack's tasks are not (they may run on any node of the swarm).
 */
export const SWARM_RUNBOOKS: readonly string[] = ['deploy', 'high-usage', 'logs', 'ps', 'restart'];

/**
 * Why the runbook cannot run on this host, one reason per missing part (empty: it can). Reads
 * only the host's declared services (cached), never its containers: a stopped service is a state
 * the runbook reports, a service the compose file lacks is a part the host does not have.
 */
export async function missingParts(rb: AnyRunbook, host: Host): Promise<string[]> {
  // A rollback variant (`restart:rollback`) goes where its runbook goes.
  if (host.swarm && !SWARM_RUNBOOKS.includes(rb.id.split(':')[0] ?? '')) {
    return [`host ${host.name} is a swarm manager (stack ${host.stack}), and this runbook reads compose containers; on a swarm host: ${SWARM_RUNBOOKS.join(', ')}`];
  }
  const needs = rb.needs ?? [];
  if (needs.length === 0) return [];
  const reasons: string[] = [];
  let services: string[] | undefined;
  for (const part of needs) {
    if (part in SERVICE_PARTS) {
      const name = serviceOf(host.config, part as keyof typeof SERVICE_PARTS);
      services ??= await host.services();
      if (!services.includes(name)) reasons.push(`no service \`${name}\` on host ${host.name} (\`parts.${SERVICE_PARTS[part as keyof typeof SERVICE_PARTS]}\`)`);
    } else {
      const why = settingMissing(part as Exclude<Part, keyof typeof SERVICE_PARTS>, host.config);
      if (why !== null) reasons.push(`${why} for host ${host.name}`);
    }
  }
  return reasons;
}
