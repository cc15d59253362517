import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { preconnectAgent, type PreconnectAgent } from '../../src/discord/preconnect.js';

/** An HTTP server that counts the TCP connections it accepted and keeps them, to close them at will. */
async function countingServer(): Promise<{ server: Server; url: string; sockets: Socket[]; requests: () => number }> {
  const sockets: Socket[] = [];
  let requests = 0;
  const server = createServer((req, res) => {
    requests += 1;
    req.resume().on('end', () => res.end('ok'));
  });
  server.on('connection', (s: Socket) => sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}/api`, sockets, requests: () => requests };
}

const post = (url: string, pre: PreconnectAgent) =>
  request(`${url}/v10/interactions/1/t/callback`, { method: 'POST', body: '{"type":5}', dispatcher: pre.agent }).then((r) => r.body.text());

describe('preconnectAgent', () => {
  const open: { pre: PreconnectAgent; server: Server }[] = [];
  afterEach(async () => {
    for (const { pre, server } of open.splice(0)) {
      await pre.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
  const setUp = async (size: number, timing: { refillAfterMs?: number; reopenAfterMs?: number } = {}) => {
    const srv = await countingServer();
    const pre = preconnectAgent(srv.url, { size, ...timing });
    open.push({ pre, server: srv.server });
    return { ...srv, pre };
  };

  it('opens its connections ahead of use; a burst takes them instead of new ones; the set is filled again after the burst', async () => {
    const { url, sockets, requests, pre } = await setUp(5, { refillAfterMs: 100 });
    await pre.fill();
    expect(pre.ready()).toBe(5);
    await vi.waitFor(() => expect(sockets).toHaveLength(5));
    expect(requests()).toBe(0);

    expect(await Promise.all(Array.from({ length: 5 }, () => post(url, pre)))).toEqual(Array(5).fill('ok'));
    expect(requests()).toBe(5);
    expect(sockets).toHaveLength(5); // no connection was opened for the burst
    expect(pre.ready()).toBe(0);

    await vi.waitFor(() => expect(pre.ready()).toBe(5), { timeout: 2000 });
    await vi.waitFor(() => expect(sockets).toHaveLength(10));
  });

  it('a burst larger than the set opens new connections for the rest', async () => {
    const { url, sockets, requests, pre } = await setUp(3, { refillAfterMs: 10_000 });
    await pre.fill();
    await vi.waitFor(() => expect(sockets).toHaveLength(3));
    expect(await Promise.all(Array.from({ length: 5 }, () => post(url, pre)))).toEqual(Array(5).fill('ok'));
    expect(requests()).toBe(5);
    expect(sockets).toHaveLength(5);
  });

  it('a preconnected socket the server closed leaves the set and is replaced later, not at once', async () => {
    const { url, sockets, pre } = await setUp(2, { refillAfterMs: 10_000, reopenAfterMs: 600 });
    await pre.fill();
    await vi.waitFor(() => expect(sockets).toHaveLength(2));
    sockets[0]!.destroy(); // the server's idle timeout
    await vi.waitFor(() => expect(pre.ready()).toBe(1));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sockets).toHaveLength(2); // no handshake loop with a server that drops idle connections
    await vi.waitFor(() => expect(pre.ready()).toBe(2), { timeout: 2000 });
    await vi.waitFor(() => expect(sockets).toHaveLength(3));
    expect(await post(url, pre)).toBe('ok'); // on a preconnected socket
    expect(sockets).toHaveLength(3);
    expect(pre.ready()).toBe(1);
  });

  it('when the server closes every idle connection at once, they are reopened together, later each time it happens again', async () => {
    const { sockets, pre } = await setUp(3, { reopenAfterMs: 300 });
    await pre.fill();
    await vi.waitFor(() => expect(sockets).toHaveLength(3));
    const closeAll = () => sockets.filter((s) => !s.destroyed).forEach((s) => s.destroy());
    const reopened = async () => {
      closeAll();
      await vi.waitFor(() => expect(pre.ready()).toBe(0), { interval: 5 });
      const t0 = Date.now();
      await vi.waitFor(() => expect(pre.ready()).toBe(3), { timeout: 5000, interval: 5 });
      return Date.now() - t0;
    };
    const first = await reopened();
    await vi.waitFor(() => expect(sockets).toHaveLength(6)); // the server's side of the same connections
    const second = await reopened();
    await vi.waitFor(() => expect(sockets).toHaveLength(9));
    expect(first).toBeGreaterThanOrEqual(200); // not at once (300 ms)
    expect(second).toBeGreaterThanOrEqual(450); // doubled once (600 ms),
    expect(second).toBeLessThan(3000); // not once per connection (32×: 9.6 s)
  }, 15_000);

  it('requests to another origin do not take its connections', async () => {
    const mine = await setUp(2, { refillAfterMs: 10_000 });
    const other = await countingServer();
    open.push({ pre: preconnectAgent(other.url, { size: 0 }), server: other.server });
    await mine.pre.fill();
    await vi.waitFor(() => expect(mine.sockets).toHaveLength(2));
    expect(await post(other.url, mine.pre)).toBe('ok');
    expect(other.sockets).toHaveLength(1);
    expect(mine.pre.ready()).toBe(2);
  });

  it('close() does not wait long for a request the server never answers', async () => {
    const { pre } = await setUp(1);
    const hung = createServer(() => undefined); // takes the request, never answers
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const { port } = hung.address() as { port: number };
    const pending = request(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x', dispatcher: pre.agent }).catch((err: Error) => err);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the request is on the wire
    const t0 = Date.now();
    await pre.close();
    expect(Date.now() - t0).toBeLessThan(4500);
    expect(await pending).toBeInstanceOf(Error);
    hung.closeAllConnections();
    await new Promise((resolve) => hung.close(resolve));
  }, 10_000);

  it('close() ends its idle connections', async () => {
    const { sockets, pre } = await setUp(3);
    await pre.fill();
    await vi.waitFor(() => expect(sockets).toHaveLength(3));
    await pre.close();
    await vi.waitFor(() => expect(sockets.every((s) => s.destroyed || s.readableEnded)).toBe(true));
    expect(pre.ready()).toBe(0);
    await pre.fill();
    expect(pre.ready()).toBe(0);
  });
});
