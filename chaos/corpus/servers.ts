import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback HTTP server with the corpus's hostile answers; it counts every request it gets. */
export interface HostileServer {
  /** On 127.0.0.1: any request here means something fetched a loopback URL it should have refused. */
  origin: string;
  port: number;
  /** The same answers on the namespace's public alias (see netns.ts), when there is one. */
  publicOrigin?: string;
  /** Requests received, by `host:port/path`. */
  requests: Record<string, number>;
  close(): Promise<void>;
}

/** How long one trickling or endless answer goes on at most (every loop of the suite is bounded). */
const ANSWER_LIMIT_MS = 180_000;

/**
 * Starts the corpus's server on 127.0.0.1 (and on `publicAlias` too, when given): `/good.png` (a real picture),
 * `/redirect-metadata` (302 to the cloud metadata address), `/redirect-loopback` (302 to `/good.png` on 127.0.0.1),
 * `/trickle.png` (a PNG at one byte a second) and `/endless.png` (a body that never ends).
 */
export async function startHostileServer(goodPng: string, publicAlias?: string): Promise<HostileServer> {
  const good = readFileSync(goodPng);
  const requests: Record<string, number> = {};
  const timers = new Set<NodeJS.Timeout>();
  const handler: http.RequestListener = (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const key = `${req.socket.localAddress}:${req.socket.localPort}${path}`;
    requests[key] = (requests[key] ?? 0) + 1;
    const started = Date.now();
    const every = (ms: number, tick: () => boolean) => {
      const timer = setInterval(() => {
        if (Date.now() - started > ANSWER_LIMIT_MS || res.destroyed || !tick()) {
          clearInterval(timer);
          timers.delete(timer);
          res.end();
        }
      }, ms);
      timers.add(timer);
    };
    switch (path) {
      case '/good.png':
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': good.length }).end(good);
        return;
      case '/redirect-metadata':
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
        return;
      case '/redirect-loopback':
        res.writeHead(302, { location: `http://127.0.0.1:${port}/good.png` }).end();
        return;
      case '/trickle.png': {
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': good.length });
        let sent = 0;
        every(1000, () => {
          if (sent >= good.length) return false;
          res.write(good.subarray(sent, ++sent));
          return true;
        });
        return;
      }
      case '/endless.png': {
        res.writeHead(200, { 'content-type': 'image/png' });
        res.write(good.subarray(0, 64));
        const block = Buffer.alloc(64 * 1024, 7);
        every(5, () => res.write(block) || true);
        return;
      }
      default:
        res.writeHead(404).end();
    }
  };
  const listen = async (host: string, on = 0) => {
    const server = http.createServer(handler);
    await new Promise<void>((resolve) => server.listen(on, host, resolve));
    return server;
  };
  const loopback = await listen('127.0.0.1');
  const port = (loopback.address() as AddressInfo).port;
  const aliased = publicAlias ? await listen(publicAlias, port) : undefined;
  const servers = [loopback, ...(aliased ? [aliased] : [])];
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    publicOrigin: publicAlias ? `http://${publicAlias}:${port}` : undefined,
    requests,
    close: async () => {
      for (const t of timers) clearInterval(t);
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            })
        )
      );
    },
  };
}
