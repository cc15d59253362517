import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { inFreshNode } from '../support/fresh-node.js';

const moduleUrl = new URL('../../src/host/index.ts', import.meta.url).href;
const sshUrl = new URL('../../src/host/ssh.ts', import.meta.url).href;

/**
 * Runs `body` in a fresh Node process (a clean module cache) with src/host imported; prints which
 * client libraries are in the module cache afterwards, as JSON.
 */
async function loadedAfter(body: string): Promise<{ nodeSsh: boolean; ssh2: boolean; dockerode: boolean; sameNodeSsh?: boolean }> {
  const code = `
    const host = await import(${JSON.stringify(moduleUrl)});
    const { createRequire } = await import('node:module');
    const require = createRequire(${JSON.stringify(fileURLToPath(moduleUrl))});
    const loaded = (name) => Object.keys(require.cache).some((k) => k.includes('/node_modules/' + name + '/'));
    const extra = {};
    ${body}
    console.log(JSON.stringify({ nodeSsh: loaded('node-ssh'), ssh2: loaded('ssh2'), dockerode: loaded('dockerode'), ...extra }));
  `;
  return (await inFreshNode(code)) as { nodeSsh: boolean; ssh2: boolean; dockerode: boolean; sameNodeSsh?: boolean };
}

const sshHost = { name: 'prod', transport: 'ssh' };
const localHost = { name: 'here', transport: 'local' };

describe('loadHostClients', () => {
  it('importing the host layer loads no client library (the CLI and the config check stay light)', async () => {
    expect(await loadedAfter('')).toEqual({ nodeSsh: false, ssh2: false, dockerode: false });
  }, 30_000);

  it('loads node-ssh (with ssh2) and dockerode at once when a host is reached over SSH, the copy the SSH transport then uses', async () => {
    const result = await loadedAfter(`
      host.loadHostClients([${JSON.stringify(localHost)}, ${JSON.stringify(sshHost)}]);
      const { loadNodeSsh } = await import(${JSON.stringify(sshUrl)});
      extra.sameNodeSsh = loadNodeSsh() === require('node-ssh');
    `);
    expect(result).toEqual({ nodeSsh: true, ssh2: true, dockerode: true, sameNodeSsh: true });
  }, 30_000);

  it('loads only dockerode when every host is local (ssh2 comes with it: docker-modem requires it)', async () => {
    expect(await loadedAfter(`host.loadHostClients([${JSON.stringify(localHost)}]);`)).toEqual({ nodeSsh: false, ssh2: true, dockerode: true });
  }, 30_000);
});
