import { createRequire, Module } from 'node:module';
import type Docker from 'dockerode';

const require = createRequire(import.meta.url);

/**
 * dockerode, loaded on first use, without its BuildKit session module. dockerode requires that
 * module at load for `buildImage({ version: '2' })` alone, and it pulls in gRPC and protobuf:
 * about 110 ms of module evaluation and 7 MB, paid by the first command after every start (the
 * cold-burst figure of issue 7). The bot never builds images; a stub stands in for the module and
 * says so if anything ever calls it. Should dockerode move the file, it is loaded as it is.
 */
export function loadDockerode(): typeof Docker {
  let session: string | undefined;
  try {
    session = require.resolve('dockerode/lib/session.js');
  } catch {
    session = undefined;
  }
  if (session !== undefined && require.cache[session] === undefined) {
    const stub = new Module(session);
    stub.filename = session;
    stub.loaded = true;
    stub.exports = (): never => {
      throw new Error('opsbot does not open BuildKit sessions: dockerode/lib/session.js is not loaded');
    };
    require.cache[session] = stub;
  }
  return require('dockerode') as typeof Docker;
}
