/**
 * TEST DOUBLE: an HTTP server on 127.0.0.1 whose answers have no proper end, for the response
 * limits of the LLM client (issue 19 item 3). Every request (any path) is answered 200 with:
 *   - 'endless':  a chunked JSON-looking body that never ends (64 KB chunks, as fast as the
 *                 client reads them);
 *   - 'huge':     a body declared with `content-length` (default 200 MB), sent as fast as read;
 *   - 'trickle':  headers at once, then one byte every 200 ms, forever.
 * The server bounds itself so a broken client cannot run away with the machine: each answer
 * stops (the socket is destroyed) after `stopAfterMs` (default 6 s) or `stopAfterBytes`
 * (default 400 MB), whichever comes first. Writes wait for the socket to drain, so the server
 * itself holds little memory.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export type EndlessMode = 'endless' | 'huge' | 'trickle';

export interface EndlessServer {
  readonly url: string;
  readonly port: number;
  /** Requests received. */
  readonly requests: number;
  /** Bytes of body written, over all answers. */
  readonly bytesSent: number;
  close(): Promise<void>;
}

export async function startEndlessServer(
  mode: EndlessMode,
  opts: { stopAfterMs?: number; stopAfterBytes?: number; hugeBytes?: number; port?: number } = {},
): Promise<EndlessServer> {
  const stopAfterMs = opts.stopAfterMs ?? 6_000;
  const stopAfterBytes = opts.stopAfterBytes ?? 400 * 1024 * 1024;
  const hugeBytes = opts.hugeBytes ?? 200 * 1024 * 1024;
  let requests = 0;
  let bytesSent = 0;
  const sockets = new Set<import('node:net').Socket>();
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const server = http.createServer((req, res) => {
    requests += 1;
    req.resume();
    const started = Date.now();
    let sent = 0;
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      res.destroy();
    };
    const guard = setTimeout(stop, stopAfterMs);
    res.on('close', () => {
      stopped = true;
      clearTimeout(guard);
    });
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json' };
    if (mode === 'huge') headers['content-length'] = String(hugeBytes);
    res.writeHead(200, headers);
    if (mode === 'trickle') {
      res.write('{');
      const t = setInterval(() => {
        if (stopped) return clearInterval(t);
        res.write(' ');
        sent += 1;
        bytesSent += 1;
      }, 200);
      res.on('close', () => clearInterval(t));
      return;
    }
    const limit = mode === 'huge' ? Math.min(hugeBytes, stopAfterBytes) : stopAfterBytes;
    const pump = () => {
      while (!stopped) {
        if (sent >= limit || Date.now() - started > stopAfterMs) return stop();
        const n = Math.min(chunk.length, limit - sent);
        sent += n;
        bytesSent += n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          res.once('drain', pump);
          return;
        }
      }
    };
    res.write('{"choices":[{"message":{"content":"');
    pump();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    get requests() {
      return requests;
    },
    get bytesSent() {
      return bytesSent;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
