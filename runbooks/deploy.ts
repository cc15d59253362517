import { z } from 'zod';
import { defineRunbook } from '../src/engine/runbook.js';
import type { Host } from '../src/host/index.js';
import { checkVersionInRegistry, composeImage, healthGateStep, imageId, imageTag, parseImageRef, recordStep, repoDigest, rollbackSteps, runAll, suggestVersions } from './images.js';
import { serviceName } from './params.js';

const params = z.object({
  service: serviceName.describe('Service to deploy (its image comes from a registry)'),
  version: imageTag.describe('Tag to deploy from the registry, e.g. 1.4.2'),
  /** Recorded by the first step: the image the service ran; the rollback re-tags it. */
  previous: imageId.optional(),
  /** …and its registry digest, to pull it again should it be gone from the host. */
  previousDigest: repoDigest.optional(),
});
type Params = z.infer<typeof params>;

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
  summary: 'Record the running image, pull a version from the registry, recreate the service (confirmed), then a health gate; rollback returns to the recorded image.',
  docs: {
    seedSection: 'Deploy New Version',
    trigger: ['New code pushed to main/develop and its image published', 'Manual deployment', 'Security patches available'],
    expected: ['New version deployed successfully', 'The service runs the new image (new digest)', 'No errors in the application logs', 'Health checks passing'],
    escalation: ['If deployment fails: check the pull error and the registry (GitHub Actions logs for the image build)', 'If rollback is needed: press Roll back (returns to the recorded image)', 'If issues persist: contact the DevOps lead'],
  },
  params,
  serviceParams: ['service'],
  internalParams: ['previous', 'previousDigest'],
  complete: { version: suggestVersions },
  // A version the registry lacks is refused before anything runs, not found at the pull after a confirmation.
  check: (host, p) => checkVersionInRegistry(host, p.service, p.version),
  target: (p) => `service:${p.service}`,
  steps: [
    recordStep<Params>(),
    {
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
    },
    healthGateStep<Params>(),
  ],
  // A deploy that passed its gate can still misbehave later: taking it back is part of the procedure.
  rollbackAfterSuccess: true,
  rollback: rollbackSteps<Params>(),
  followUps: (p, host) => [{ id: `logs:${host}:${p.service}`, label: 'Logs', style: 'secondary' }],
});
