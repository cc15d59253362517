import { describe, expect, it } from 'vitest';
import { commandsLogMark, commandsLogSince } from '../staging/staging.js';
import { useBot } from './suite.js';
import { textOf } from './util.js';

describe('a burst of commands on a freshly started bot', () => {
  const h = useBot();

  it('50 concurrent /ps all get the services, and the host runs one lookup of each kind', async () => {
    const mark = await commandsLogMark();
    const handles = Array.from({ length: 50 }, () => h.double.sendCommand({ name: 'ps', member: 'viewer', channel: 'alerts' }));
    const replies = await Promise.all(handles.map((x) => x.waitForReply(undefined, { timeoutMs: 30_000 })));
    for (const m of replies) expect(textOf(m)).toMatch(/all 5 services running/);
    const ran = await commandsLogSince(mark);
    // Shared in-flight lookups: one compose probe, one configuration read (services and the
    // environment the redaction learns), one .env read; Docker API calls ride on few channels.
    expect(ran.filter((c) => /docker compose version/.test(c))).toHaveLength(1);
    expect(ran.filter((c) => /docker-compose version/.test(c))).toHaveLength(0);
    expect(ran.filter((c) => /docker-compose .* config$/.test(c))).toHaveLength(1);
    expect(ran.filter((c) => /exec cat \.env$/.test(c))).toHaveLength(1);
    expect(ran.filter((c) => /dial-stdio/.test(c)).length).toBeLessThanOrEqual(4);
    expect(ran.length).toBeLessThanOrEqual(7);
  });

  it('a refused SSH session is waited for, not reported as a lost connection', async () => {
    // 30 concurrent commands that each need an exec channel (stats runs `docker stats` over SSH):
    // with the Docker API channels open too, this goes past OpenSSH's MaxSessions 10.
    const handles = Array.from({ length: 30 }, () => h.double.sendCommand({ name: 'stats', member: 'viewer', channel: 'alerts' }));
    const replies = await Promise.all(handles.map((x) => x.waitForReply(undefined, { timeoutMs: 60_000 })));
    for (const m of replies) {
      expect(textOf(m)).not.toMatch(/Channel open failure|connection .* (lost|failed)|went wrong/i);
      expect(textOf(m)).toMatch(/TOTAL/);
    }
  }, 120_000);
});
