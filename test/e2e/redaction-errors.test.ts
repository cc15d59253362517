import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readStaging } from '../staging/staging.js';
import { useBot } from './suite.js';
import { textOf } from './util.js';

/**
 * An error message can quote the host: docker-compose quotes the offending value of a broken
 * compose file. The host's own secrets (read from its .env) must be masked there too, even on a
 * fresh bot whose first contact with the host is that failure.
 */
describe('secrets quoted by host errors', () => {
  const h = useBot();
  const file = () => join(readStaging().projectDir, readStaging().composeFiles[0]!);
  let original: string | undefined;
  afterAll(() => {
    if (original !== undefined) writeFileSync(file(), original);
  });

  it('a compose error quoting a .env secret reaches neither Discord nor the log', async () => {
    const secret = readStaging().secrets.MONGO_PASSWORD!;
    original = readFileSync(file(), 'utf8');
    // An invalid interpolation: compose refuses the file and quotes the whole value.
    writeFileSync(file(), original.replace('  nextjs:\n    <<: *service\n', `  nextjs:\n    <<: *service\n    environment:\n      LEAK: "${secret} \${"\n`));
    const handle = h.double.sendCommand({ name: 'restart', options: { service: 'nextjs' }, member: 'operator', channel: 'alerts' });
    // A user error goes to the asker alone (the public "thinking…" reply is removed).
    const reply = await handle.waitForFollowup(undefined, { timeoutMs: 30_000 });
    expect(textOf(reply)).toMatch(/Cannot read the compose configuration on host "staging".*Invalid interpolation/s);
    expect(textOf(reply)).toContain('[redacted]');
    const everything = JSON.stringify(h.double.requests.map((r) => ({ body: r.body, files: r.files.map((f) => f.data.toString('utf8')) }))) + h.logs.join('\n');
    expect(everything).not.toContain(secret);
  });
});
