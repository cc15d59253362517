import type { Socket } from 'node:net';
import { Agent, buildConnector } from 'undici';

/**
 * An undici agent for Discord's API that keeps connections open ahead of use, as a browser
 * preconnects. An acknowledgement has 3 s, and a burst of them comes after a quiet spell, when
 * keep-alive has long closed every connection: each would first pay a TCP and TLS handshake,
 * round trips to Discord and CPU (~2 ms a TLS handshake here, so ~100 ms for 50) that holds up
 * the acknowledgements after it. A preconnected socket has done that before the burst; undici
 * takes it in place of a new one. Once the burst is over the set is filled again.
 */
export interface PreconnectOptions {
  /** Connections kept open ahead of use (0: none, a plain agent). */
  size: number;
  /** After the set was drawn from, wait this long without a draw before filling it again (the burst is over). */
  refillAfterMs?: number;
  /**
   * After a preconnected socket closed unused (the server's idle timeout), wait this long before
   * replacing it; doubled each time that happens again without a use in between (up to 32×), so
   * a server that drops idle connections early is not met with a handshake loop.
   */
  reopenAfterMs?: number;
}

export interface PreconnectAgent {
  agent: Agent;
  /** Idle preconnected sockets now. */
  ready(): number;
  /** Opens what is missing of the set; resolves once those connections opened or failed. */
  fill(): Promise<void>;
  close(): Promise<void>;
}

/** How long close() lets requests in flight finish before it ends them. */
const CLOSE_WAIT_MS = 3000;

const portOf = (o: { port: string; protocol: string }) => o.port || (o.protocol === 'https:' ? '443' : '80');

export function preconnectAgent(api: string, options: PreconnectOptions): PreconnectAgent {
  const url = new URL(api);
  const target: buildConnector.Options = { hostname: url.hostname, host: url.host, protocol: url.protocol, port: portOf(url), servername: url.hostname };
  // undici's own connector with its defaults: a preconnected socket is the one it would open.
  const connect = buildConnector({});
  const idle = new Set<Socket>();
  /** Every socket undici has from this agent, to end what close() cannot wait for. */
  const inUse = new Set<Socket>();
  const handOver = (socket: Socket) => {
    inUse.add(socket);
    socket.once('close', () => inUse.delete(socket));
  };
  const refillAfterMs = options.refillAfterMs ?? 1000;
  const reopenBaseMs = options.reopenAfterMs ?? 30_000;
  let reopenMs = reopenBaseMs;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let opening = 0;

  let reopening = false;
  const fillIn = (ms: number) => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      reopening = false;
      void fill();
    }, ms).unref();
  };

  // The server closing idle connections closes them all at once: one reopen (and one doubling) for them.
  const onGone = function (this: Socket) {
    if (!idle.delete(this)) return;
    this.destroy();
    if (reopening) return;
    reopening = true;
    fillIn(reopenMs);
    reopenMs = Math.min(reopenMs * 2, reopenBaseMs * 32);
  };
  const watch = (s: Socket) => s.on('close', onGone).on('end', onGone).on('error', onGone);
  const unwatch = (s: Socket) => s.off('close', onGone).off('end', onGone).off('error', onGone);

  const openOne = () =>
    new Promise<void>((resolve) => {
      opening += 1;
      connect(target, (err, socket) => {
        opening -= 1;
        if (err || !socket) {
          fillIn(reopenMs);
          return resolve();
        }
        if (closed) {
          socket.destroy();
          return resolve();
        }
        // Idle, it must not keep the process alive; undici refs it while a request is on it.
        watch(socket).unref();
        idle.add(socket);
        resolve();
      });
    });

  async function fill(): Promise<void> {
    const missing = closed ? 0 : options.size - idle.size - opening;
    if (missing > 0) await Promise.all(Array.from({ length: missing }, openOne));
  }

  const agent = new Agent({
    connect(opts, callback) {
      const same = opts.protocol === target.protocol && opts.hostname === target.hostname && portOf(opts) === target.port;
      for (const socket of same ? idle : []) {
        idle.delete(socket);
        unwatch(socket);
        if (socket.destroyed || socket.readableEnded || !socket.writable) {
          socket.destroy();
          continue;
        }
        socket.ref();
        handOver(socket);
        reopenMs = reopenBaseMs;
        reopening = false;
        fillIn(refillAfterMs);
        // As for a new connection, undici gets the socket after `connect` has returned.
        process.nextTick(callback, null, socket);
        return;
      }
      connect(opts, (err, socket) => {
        if (socket) handOver(socket);
        callback(...((err ? [err, null] : [null, socket]) as buildConnector.CallbackArgs));
      });
    },
  });

  return {
    agent,
    ready: () => idle.size,
    fill,
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      for (const socket of idle) socket.destroy();
      idle.clear();
      // A request still in flight (a result's last edit) may finish; a stop does not wait long
      // for a Discord that no longer answers.
      const closing = agent.close();
      let wait: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (wait = setTimeout(resolve, CLOSE_WAIT_MS, 'late')));
      if ((await Promise.race([closing, late])) === 'late') {
        // undici's Agent forgets its connections once closing, so its destroy() cannot end them.
        for (const socket of inUse) socket.destroy();
        await closing;
      }
      clearTimeout(wait);
    },
  };
}
