import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { dockerOver } from '../../src/host/docker.js';

/**
 * An in-memory `docker system dial-stdio` channel: answers each HTTP request with `[]` on a
 * kept-alive connection, or, once `dead`, ends without an answer the way a channel does whose
 * engine went away while it sat idle (the close reaching us only when it is next used).
 */
class FakeChannel extends Duplex {
  dead = false;
  requests = 0;
  private seen = '';
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, callback: () => void): void {
    this.seen += chunk.toString('latin1');
    while (this.seen.includes('\r\n\r\n')) {
      this.seen = this.seen.slice(this.seen.indexOf('\r\n\r\n') + 4);
      this.requests++;
      if (this.dead) {
        this.push(null);
        setImmediate(() => this.destroy());
      } else {
        this.push('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n[]');
      }
    }
    callback();
  }
}

describe('Docker API over stream channels', () => {
  it('a read that meets a dead idle channel is retried on a fresh one, not on another idle one', async () => {
    const channels: FakeChannel[] = [];
    const { docker, agent } = dockerOver(async () => {
      const ch = new FakeChannel();
      channels.push(ch);
      return ch;
    }, 'fake');
    try {
      // Three reads at once leave three kept-alive channels idle.
      await Promise.all([docker.listContainers(), docker.listContainers(), docker.listContainers()]);
      expect(channels).toHaveLength(3);
      // The engine goes away: every idle channel is dead, and the bot does not know it yet.
      for (const ch of channels) ch.dead = true;
      await expect(docker.listContainers()).resolves.toEqual([]);
      // One dead channel was tried, then a new one answered; no second idle channel was tried.
      expect(channels).toHaveLength(4);
      expect(channels.slice(0, 3).reduce((n, ch) => n + ch.requests, 0)).toBe(3 + 1);
    } finally {
      agent.destroy();
    }
  });
});
