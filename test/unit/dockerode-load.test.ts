import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { inFreshNode } from '../support/fresh-node.js';

const moduleUrl = new URL('../../src/host/dockerode.ts', import.meta.url).href;

/** Runs `body` in a fresh Node process with loadDockerode imported; prints its result as JSON. */
const inFreshProcess = (body: string): Promise<unknown> =>
  inFreshNode(`const { loadDockerode } = await import(${JSON.stringify(moduleUrl)}); const { createRequire } = await import('node:module'); const require = createRequire(${JSON.stringify(fileURLToPath(moduleUrl))}); ${body}`);

describe('loadDockerode', () => {
  it('gives a working dockerode without loading gRPC (BuildKit sessions), and a clear error if a session were ever asked for', async () => {
    const result = await inFreshProcess(`
      const Docker = loadDockerode();
      const docker = new Docker({ protocol: 'http', host: 'docker', port: 2375 });
      const grpc = Object.keys(require.cache).filter((k) => k.includes('@grpc'));
      let session = '';
      try { require('dockerode/lib/session.js')(); } catch (err) { session = err.message; }
      console.log(JSON.stringify({ grpc, listContainers: typeof docker.listContainers, inspect: typeof docker.getContainer('x').inspect, session }));
    `);
    expect(result).toEqual({
      grpc: [],
      listContainers: 'function',
      inspect: 'function',
      session: 'opsbot does not open BuildKit sessions: dockerode/lib/session.js is not loaded',
    });
  }, 30_000);

  it('a plain require of dockerode would load gRPC: what the stub saves is real', async () => {
    const result = await inFreshProcess(`
      require('dockerode');
      console.log(JSON.stringify(Object.keys(require.cache).some((k) => k.includes('@grpc'))));
    `);
    expect(result).toBe(true);
  }, 30_000);
});
