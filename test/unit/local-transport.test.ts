import { describe, expect, it } from 'vitest';
import { LocalTransport } from '../../src/host/local.js';

describe('local transport (bot on the host itself)', () => {
  const t = new LocalTransport();

  it('passes argv to the program without a shell', async () => {
    const res = await t.exec(['printf', '%s|%s', '$(id); rm -rf /', '`x`'], { timeoutMs: 5000 });
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toBe('$(id); rm -rf /|`x`');
  });

  it('kills a command at its timeout and says so', async () => {
    const res = await t.exec(['sleep', '5'], { timeoutMs: 200 });
    expect(res.timedOut).toBe(true);
    expect(res.durationMs).toBeLessThan(2000);
  });

  it('reports a missing program as exit 127', async () => {
    const res = await t.exec(['definitely-not-a-program-xyz'], { timeoutMs: 1000 });
    expect(res.exitCode).toBe(127);
  });

  it('marks output past the limit as truncated instead of dropping it silently', async () => {
    const res = await t.exec(['head', '-c', '5000', '/dev/zero'], { timeoutMs: 5000, maxOutputBytes: 1000 });
    expect(res.stdout.length).toBe(1000);
    expect(res.truncated).toBe(true);
  });
});

describe('local Docker API stream', () => {
  it('reports a missing docker binary as a stream error instead of crashing the process', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const stream = await new LocalTransport().openDockerStream();
      const err = await new Promise<Error>((resolve) => stream.on('error', resolve));
      expect(err.message).toMatch(/ENOENT/);
    } finally {
      process.env.PATH = path;
    }
  });
});
