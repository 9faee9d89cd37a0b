import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback HTTP server with the corpus's hostile answers; it counts every request it gets. */
export interface HostileServer {
  origin: string;
  port: number;
  /** Requests received, by path: any at all means something fetched a loopback URL it should have refused. */
  requests: Record<string, number>;
  close(): Promise<void>;
}

/** How long one trickling or endless answer goes on at most (every loop of the suite is bounded). */
const ANSWER_LIMIT_MS = 90_000;

/**
 * Starts the corpus's server on 127.0.0.1: `/good.png` (a real picture), `/redirect-metadata` (302 to the cloud
 * metadata address), `/redirect-loopback` (302 to this server's `/good.png`), `/trickle.png` (a PNG at one byte a
 * second) and `/endless.png` (a body that never ends).
 */
export async function startHostileServer(goodPng: string): Promise<HostileServer> {
  const good = readFileSync(goodPng);
  const requests: Record<string, number> = {};
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    requests[path] = (requests[path] ?? 0) + 1;
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
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearInterval(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
