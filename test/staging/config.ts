/**
 * An opsbot.yaml for the staging host (what a team writes for its production host), for
 * `npm run demo` (the console), `opsbot doctor` and the tests of both. Run as a script it writes
 * `$STAGING_DIR/opsbot.yaml` and prints its path:
 *   npx opsbot doctor --config "$(npx tsx test/staging/config.ts)" --console-only
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { readStaging } from './staging.js';

export interface StagingConfigOptions {
  hostKeyFingerprint?: string;
  projectDir?: string;
  databasePath?: string;
}

export function stagingConfig(opts: StagingConfigOptions = {}): Record<string, unknown> {
  const s = readStaging();
  return {
    // The console does not use Discord; the bot would need a real guild here.
    discord: { guildId: '100000000000000001', alertsChannel: 'alerts', roles: { viewer: 'viewer', operator: 'operator', approver: 'approver' } },
    hosts: [
      {
        name: 'staging',
        transport: 'ssh',
        address: s.sshHost,
        port: s.sshPort,
        user: s.user,
        keyPath: s.keyPath,
        hostKeyFingerprint: opts.hostKeyFingerprint ?? s.hostKeyFingerprint,
        projectDir: opts.projectDir ?? s.projectDir,
        composeFiles: s.composeFiles,
        commandTimeoutSeconds: 60,
        healthChecks: { adonisjs: { url: `http://127.0.0.1:${s.ports.adonisjs}/health` } },
      },
    ],
    database: { path: opts.databasePath ?? join(s.stagingDir, 'opsbot-console.db') },
  };
}

export function writeStagingConfig(file: string, opts: StagingConfigOptions = {}): string {
  writeFileSync(file, stringify(stagingConfig(opts)));
  return file;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${writeStagingConfig(join(readStaging().stagingDir, 'opsbot.yaml'))}\n`);
}
