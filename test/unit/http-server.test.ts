import { createServer } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp } from '../../src/app.js';
import { configSchema } from '../../src/config/schema.js';
import { HttpError, parseListen, readBody, sendJson, startHttpServer, type HttpServer } from '../../src/http/server.js';

const silent = pino({ level: 'silent' });
let server: HttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('http server', () => {
  it('routes by path and method: 404 for unknown paths, 405 with Allow for other methods', async () => {
    server = await startHttpServer('127.0.0.1:0', silent);
    server.route('GET', '/hello', (_req, res) => sendJson(res, 200, { hi: true }));
    expect(server.port).toBeGreaterThan(0);

    const ok = await fetch(`${server.url}/hello?x=1`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ hi: true });

    const head = await fetch(`${server.url}/hello`, { method: 'HEAD' });
    expect(head.status).toBe(200);

    const missing = await fetch(`${server.url}/nope`);
    expect(missing.status).toBe(404);

    const wrong = await fetch(`${server.url}/hello`, { method: 'POST', body: 'x' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET');
  });

  it('answers 500 without details when a handler throws, and an HttpError with its own status', async () => {
    server = await startHttpServer('127.0.0.1:0', silent);
    server.route('GET', '/boom', () => {
      throw new Error('database password is hunter2');
    });
    server.route('GET', '/teapot', () => {
      throw new HttpError(418, 'short and stout');
    });
    const boom = await fetch(`${server.url}/boom`);
    expect(boom.status).toBe(500);
    const text = await boom.text();
    expect(text).not.toContain('hunter2');
    expect(JSON.parse(text)).toEqual({ error: 'internal error' });

    const teapot = await fetch(`${server.url}/teapot`);
    expect(teapot.status).toBe(418);
    expect(await teapot.json()).toEqual({ error: 'short and stout' });
  });

  it('readBody returns the body under the limit and answers 413 past it, declared or streamed', async () => {
    server = await startHttpServer('127.0.0.1:0', silent);
    server.route('POST', '/echo', async (req, res) => {
      const body = await readBody(req, 1000);
      sendJson(res, 200, { size: body.length });
    });
    const small = await fetch(`${server.url}/echo`, { method: 'POST', body: 'a'.repeat(1000) });
    expect(await small.json()).toEqual({ size: 1000 });

    const declared = await fetch(`${server.url}/echo`, { method: 'POST', body: 'a'.repeat(5_000_000) });
    expect(declared.status).toBe(413);

    // Chunked: no Content-Length, so the limit is found while reading.
    const chunks = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(500));
        c.close();
      },
    });
    const streamed = await fetch(`${server.url}/echo`, { method: 'POST', body: chunks, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);
  });

  it('refuses a route registered twice', async () => {
    server = await startHttpServer('127.0.0.1:0', silent);
    server.route('GET', '/x', () => undefined);
    expect(() => server!.route('GET', '/x', () => undefined)).toThrow(/twice/);
  });

  it('fails to start with a message naming the address when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startHttpServer(`127.0.0.1:${port}`, silent)).rejects.toThrow(`cannot listen on http.listen 127.0.0.1:${port}: the address is already in use`);
    } finally {
      blocker.close();
    }
  });

  it('stops the app at start, before Discord or the database, when http.listen is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const config = configSchema.parse({
        discord: { guildId: '123456789012345678', alertsChannel: 'alerts', roles: { viewer: 'v', operator: 'o', approver: 'a' } },
        hosts: [{ name: 'h', transport: 'local', projectDir: '/p' }],
        // A path that cannot be created: reaching the database would fail differently.
        database: { path: '/proc/opsbot-never/opsbot.db' },
        http: { listen: `127.0.0.1:${port}` },
      });
      const env = { DISCORD_TOKEN: 'x'.repeat(40), DISCORD_API_URL: 'http://127.0.0.1:9/api', OPSBOT_CONFIG: '' };
      await expect(startApp(config, env, silent)).rejects.toThrow(`cannot listen on http.listen 127.0.0.1:${port}: the address is already in use`);
    } finally {
      blocker.close();
    }
  });

  it('parses host:port, IPv6 in brackets included', () => {
    expect(parseListen('127.0.0.1:9465')).toEqual({ host: '127.0.0.1', port: 9465 });
    expect(parseListen('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(() => parseListen('nohost')).toThrow();
  });
});
