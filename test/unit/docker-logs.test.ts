import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Host } from '../../src/host/index.js';
import { containerLogs } from '../../runbooks/docker-logs.js';

const frame = (stream: 1 | 2, text: string): Buffer => {
  const body = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
};

/** A host whose Docker API answers a log read with `bytes`, delivered in chunks of `chunk` bytes. */
function hostWithLog(bytes: Buffer, opts: { tty?: boolean; chunk?: number } = {}): Host {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += opts.chunk ?? 7) chunks.push(bytes.subarray(i, i + (opts.chunk ?? 7)));
  const container = {
    inspect: async () => ({ Config: { Tty: opts.tty === true } }),
    modem: { dial: (_o: object, cb: (err: Error | null, s: Readable) => void) => cb(null, Readable.from(chunks)) },
  };
  return { docker: { getContainer: () => container } } as unknown as Host;
}

describe('container logs from the Docker API', () => {
  it('joins stdout and stderr frames in order, whatever the chunk boundaries', async () => {
    const raw = Buffer.concat([frame(1, 'one\n'), frame(2, 'two\n'), frame(1, 'three\n')]);
    for (const chunk of [1, 3, 8, 9, 1000]) {
      expect(await containerLogs(hostWithLog(raw, { chunk }), 'c', { tail: 10 })).toEqual({ text: 'one\ntwo\nthree\n', droppedBytes: 0 });
    }
  });

  it('keeps only the newest bytes past the cap, from a whole line, and says how much it dropped', async () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${String(i).padStart(3, '0')} ${'x'.repeat(40)}\n`);
    const raw = Buffer.concat(lines.map((l) => frame(1, l)));
    const res = await containerLogs(hostWithLog(raw, { chunk: 64 }), 'c', { tail: 100, cap: 1000 });
    expect(res.droppedBytes).toBe(lines.join('').length - 1000);
    expect(res.text.endsWith(lines[99]!)).toBe(true);
    expect(res.text.startsWith('line ')).toBe(true);
    expect(res.text.length).toBeLessThanOrEqual(1000);
  });

  it('passes a TTY log through as it is', async () => {
    const res = await containerLogs(hostWithLog(Buffer.from('raw tty\r\nline\r\n'), { tty: true }), 'c', { tail: 5 });
    expect(res.text).toBe('raw tty\r\nline\r\n');
  });
});
