import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Brings the staging host (Docker engine, sshd, compose project) up once for the whole run and
 * stops it afterwards, by pid. Set OPSBOT_NO_STAGING=1 to run only suites that do not need it,
 * OPSBOT_KEEP_STAGING=1 to leave it running between local runs (up is idempotent).
 */
export function setup(): void {
  if (process.env.OPSBOT_NO_STAGING === '1' || !existsSync('test/staging/up')) return;
  execFileSync('bash', ['test/staging/up'], { stdio: 'inherit' });
}

export function teardown(): void {
  if (process.env.OPSBOT_NO_STAGING === '1' || process.env.OPSBOT_KEEP_STAGING === '1') return;
  if (!existsSync('test/staging/down')) return;
  execFileSync('bash', ['test/staging/down'], { stdio: 'inherit' });
}
