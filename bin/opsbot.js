#!/usr/bin/env -S node --max-semi-space-size=2 --single-threaded --no-lazy-feedback-allocation
// The `opsbot` command (package.json "bin"). In a checkout it runs the TypeScript source through
// tsx, so `npx opsbot …` is never an outdated build; in the image (no src/, no tsx) it runs the
// compiled dist/. The node flags are `npm start`'s (see the README's memory notes).
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const source = new URL('../src/cli.ts', import.meta.url);
const compiled = new URL('../dist/src/cli.js', import.meta.url);

async function tsx() {
  try {
    return await import('tsx/esm/api');
  } catch {
    return undefined; // production install: no dev dependencies
  }
}

const api = existsSync(source) && process.env.OPSBOT_CLI !== 'dist' ? await tsx() : undefined;
if (api) {
  api.register();
  await import(source.href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  process.stderr.write('opsbot: neither the source with tsx (npm ci) nor a build (npm run build) is here.\n');
  process.exit(1);
}
