import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

/**
 * The bot's small HTTP server (config `http.listen`): /metrics, /healthz and the Alertmanager
 * webhook. Started by src/app.ts, closed by `app.stop()`; other modules add their routes:
 *
 * ```ts
 * app.http.route('POST', '/alerts/alertmanager', async (req, res) => {
 *   const body = await readBody(req, 1_048_576);      // throws HttpError(413) past the limit
 *   if (bad) throw new HttpError(400, 'malformed JSON'); // answered as {"error": "malformed JSON"}
 *   sendJson(res, 202, { ok: true });
 * });
 * ```
 *
 * Paths match exactly (the query string is ignored). An unknown path answers 404, a known path
 * with another method 405 (with `Allow`), an `HttpError` its status and message, anything else
 * thrown 500 with no detail (it is logged). HEAD is served by GET routes (body omitted by node).
 */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** An answer meant for the client: its status and a short message safe to show. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface HttpServer {
  /** Adds a route; a second handler for the same method and path is a bug and throws. */
  route(method: Method, path: string, handler: RouteHandler): void;
  /** Where it listens (the real port when `http.listen` asked for port 0). */
  readonly host: string;
  readonly port: number;
  /** `http://host:port`, for tests and logs. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The request body, read whole up to `maxBytes`. Past the limit it stops reading and throws
 * HttpError(413) (the connection is closed after the answer, so the rest is never buffered).
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const tooLarge = (maxBytes: number) => new HttpError(413, `request body larger than ${maxBytes} bytes`, { connection: 'close' });

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** `host:port` as in config `http.listen`; `[::1]:9465` is accepted too. */
export function parseListen(listen: string): { host: string; port: number } {
  const at = listen.lastIndexOf(':');
  const host = listen.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const port = Number(listen.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`http.listen "${listen}" must be host:port`);
  return { host, port };
}

/** Starts listening; rejects with a message naming the address when it cannot (port taken…). */
export async function startHttpServer(listen: string, log: Logger): Promise<HttpServer> {
  const { host, port } = parseListen(listen);
  const routes = new Map<string, Map<string, RouteHandler>>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const byMethod = routes.get(path);
    if (byMethod === undefined) return sendJson(res, 404, { error: 'not found' });
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? '');
    const handler = byMethod.get(method);
    if (handler === undefined) return sendJson(res, 405, { error: 'method not allowed' }, { allow: [...byMethod.keys()].join(', ') });
    try {
      await handler(req, res);
    } catch (err) {
      if (res.headersSent) {
        log.error({ err, path }, 'http handler failed after answering');
        res.destroy();
        return;
      }
      if (err instanceof HttpError) return sendJson(res, err.status, { error: err.message }, err.headers);
      log.error({ err, method, path }, 'http handler failed');
      sendJson(res, 500, { error: 'internal error' });
    }
  };

  const server: Server = createServer((req, res) => void handle(req, res));
  // Slow or idle clients must not hold sockets open forever on a bot meant to stay small.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the address is already in use (another opsbot or program?)'
        : err.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)'
        : err.code === 'EADDRNOTAVAIL' ? 'no such local address'
        : err.message;
      reject(new Error(`cannot listen on http.listen ${listen}: ${why}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'http server error'));
  const bound = server.address() as AddressInfo;
  const urlHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  log.info({ listen: `${urlHost}:${bound.port}` }, 'http server listening');

  return {
    host: bound.address,
    port: bound.port,
    url: `http://${urlHost}:${bound.port}`,
    route(method, path, handler) {
      const byMethod = routes.get(path) ?? new Map<string, RouteHandler>();
      if (byMethod.has(method)) throw new Error(`http route ${method} ${path} is registered twice`);
      byMethod.set(method, handler);
      routes.set(path, byMethod);
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
