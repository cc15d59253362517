import { z } from 'zod';
import { defineRunbook, type Step } from '../src/engine/runbook.js';
import type { Host } from '../src/host/index.js';
import { checkVersionInRegistry, composeImage, healthGateStep, imageId, imageTag, parseImageRef, recordStep, repoDigest, rollbackSteps, runAll, suggestVersions } from './images.js';
import { serviceName } from './params.js';
import { checkSwarmRollback, checkSwarmVersion, swarmDeployArgv, swarmRollbackArgv, swarmSpecImages, swarmVerify, swarmWanted } from './swarm.js';

const params = z.object({
  service: serviceName.describe('Service to deploy (its image comes from a registry)'),
  version: imageTag.describe('Tag to deploy from the registry, e.g. 1.4.2'),
  /** Recorded by the first step: the image the service ran; the rollback re-tags it. */
  previous: imageId.optional(),
  /** …and its registry digest, to pull it again should it be gone from the host. */
  previousDigest: repoDigest.optional(),
  /** On a swarm host, the image of the service's spec before the deploy (what `service rollback` must return to). */
  previousImage: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._/:-]*(:[A-Za-z0-9_.-]{1,128})?(@sha256:[0-9a-f]{64})?$/, 'must be an image reference')
    .optional(),
});
type Params = z.infer<typeof params>;

/*
 * On a swarm host (orchestrator: swarm) each step takes Swarm's own operation instead
 * (runbooks/swarm.ts): the spec's image is recorded, `service update --image` lets Swarm replace
 * the tasks as the service's update_config says, the verification is the swarm restart's
 * (every running task from the new spec, the update neither paused nor rolled back), and the
 * rollback is `service rollback` to the previous spec. The compose steps are left as they are.
 */
type SwarmStep = Pick<Step<Params>, 'run' | 'plan'>;
const onSwarm = (compose: Step<Params>, swarm: SwarmStep): Step<Params> => {
  const { plan } = compose;
  return {
    ...compose,
    ...(plan ? { plan: (ctx) => (ctx.host.swarm && swarm.plan ? swarm.plan(ctx) : plan(ctx)) } : {}),
    run: (ctx) => (ctx.host.swarm ? swarm.run(ctx) : compose.run(ctx)),
  };
};

const swarmRecord: SwarmStep = {
  async run({ host, params: p, note }) {
    note(`docker API: inspect service ${host.swarmServiceName(p.service)}`);
    const { image } = await swarmSpecImages(host, p.service);
    return { ok: true, summary: `${host.swarmServiceName(p.service)} runs ${image}`, fields: [{ name: 'Image before (rollback returns to it)', value: image, record: 'previousImage' }] };
  },
};

const swarmUpdate: SwarmStep = {
  plan: async ({ host, params: p }) => [swarmDeployArgv(host, p.service, await swarmWanted(host, p.service, p.version))],
  async run(ctx) {
    const wanted = await swarmWanted(ctx.host, ctx.params.service, ctx.params.version);
    // The stack's specs are the host's "compose configuration", cached: the next gate (the
    // rollback's) must show, and bind its confirmation to, the spec this update made.
    const outcome = await runAll(ctx, [{ argv: swarmDeployArgv(ctx.host, ctx.params.service, wanted), what: 'service update' }], `update to ${wanted} started: Swarm replaces the tasks as its update_config says`);
    ctx.host.forgetComposeConfig();
    return outcome;
  },
};

const swarmConverged: SwarmStep = { run: (ctx) => swarmVerify(ctx, ctx.params.service) };

const swarmRollback: SwarmStep = {
  plan: async ({ host, params: p }) => {
    await checkSwarmRollback(host, p.service, p.version, p.previousImage);
    return [swarmRollbackArgv(host, p.service)];
  },
  async run(ctx) {
    const p = ctx.params;
    await checkSwarmRollback(ctx.host, p.service, p.version, p.previousImage);
    const outcome = await runAll(ctx, [{ argv: swarmRollbackArgv(ctx.host, p.service), what: 'service rollback' }], `rollback to ${p.previousImage ?? ''} started`);
    ctx.host.forgetComposeConfig();
    return outcome;
  },
};

const swarmRolledBack: SwarmStep = { run: (ctx) => swarmVerify(ctx, ctx.params.service, { rollback: true }) };

/** The version's reference: the repository compose names for the service, with the wanted tag. */
async function commands(host: Host, p: Params) {
  const ref = await composeImage(host, p.service);
  const wanted = `${parseImageRef(ref).repository}:${p.version}`;
  return {
    wanted,
    list: [
      { argv: ['docker', 'pull', wanted], what: `docker pull ${wanted}` },
      // compose recreates from the tag it names: that tag now means the pulled version.
      { argv: ['docker', 'tag', wanted, ref], what: 'docker tag' },
      { compose: ['up', '-d', '--no-deps', p.service], what: 'compose up' },
    ],
  };
}

export const deploy = defineRunbook({
  id: 'deploy',
  title: (p: Params) => `Deploy ${p.service} ${p.version}`,
  summary: 'Record the running image, pull a version from the registry, recreate the service (confirmed), then a health gate; rollback returns to the recorded image (on a swarm host: `docker service update --image`, and `docker service rollback`).',
  docs: {
    seedSection: 'Deploy New Version',
    trigger: ['New code pushed to main/develop and its image published', 'Manual deployment', 'Security patches available'],
    expected: ['New version deployed successfully', 'The service runs the new image (new digest)', 'No errors in the application logs', 'Health checks passing'],
    escalation: ['If deployment fails: check the pull error and the registry (GitHub Actions logs for the image build)', 'If rollback is needed: press Roll back (returns to the recorded image)', 'If issues persist: contact the DevOps lead'],
  },
  params,
  serviceParams: ['service'],
  internalParams: ['previous', 'previousDigest', 'previousImage'],
  complete: { version: suggestVersions },
  // A version the registry lacks is refused before anything runs, not found at the pull after a confirmation.
  check: (host, p) => (host.swarm ? checkSwarmVersion(host, p.service, p.version) : checkVersionInRegistry(host, p.service, p.version)),
  target: (p) => `service:${p.service}`,
  steps: [
    onSwarm(recordStep<Params>(), swarmRecord),
    onSwarm({
      title: 'Pull the version and recreate',
      mutates: true,
      plan: async ({ host, params: p }) => {
        const { list } = await commands(host, p);
        return Promise.all(list.map(async (c) => (c.compose ? host.composeArgv(c.compose) : c.argv)));
      },
      async run(ctx) {
        const { list, wanted } = await commands(ctx.host, ctx.params);
        return runAll(ctx, list, `pulled ${wanted} and recreated ${ctx.params.service}`);
      },
    }, swarmUpdate),
    onSwarm(healthGateStep<Params>(), swarmConverged),
  ],
  // A deploy that passed its gate can still misbehave later: taking it back is part of the procedure.
  rollbackAfterSuccess: true,
  rollback: rollbackSteps<Params>().map((step, i) => onSwarm(step, i === 0 ? swarmRollback : swarmRolledBack)),
  followUps: (p, host) => [{ id: `logs:${host}:${p.service}`, label: 'Logs', style: 'secondary' }],
});
