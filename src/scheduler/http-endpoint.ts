import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { VaultOpsError } from '../errors.js';
import type { DaemonHealth } from './scheduler.js';

/**
 * The daemon's HTTP endpoint, on a loopback address only (scrape it through node-exporter's
 * neighbour or a local agent; nothing here is meant for the network): `GET /metrics` (Prometheus
 * text format) and `GET /healthz` (200 with the jobs' state; 503 while stopping).
 */
export interface DaemonEndpoint {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startDaemonEndpoint(options: {
  port: number;
  host?: string;
  registry: Registry;
  health: () => DaemonHealth;
}): Promise<DaemonEndpoint> {
  const host = options.host ?? '127.0.0.1';
  if (!['127.0.0.1', '::1', 'localhost'].includes(host)) {
    throw new VaultOpsError('config', `the daemon's HTTP endpoint listens on loopback only, not ${host}`);
  }
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      options.registry
        .metrics()
        .then((text) =>
          res
            .writeHead(200, { 'Content-Type': options.registry.contentType })
            .end(req.method === 'HEAD' ? undefined : text),
        )
        .catch((err: Error) =>
          res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`metrics unavailable: ${err.message}\n`),
        );
      return;
    }
    if (path === '/healthz') {
      const health = options.health();
      res
        .writeHead(health.status === 'ok' ? 200 : 503, { 'Content-Type': 'application/json' })
        .end(req.method === 'HEAD' ? undefined : `${JSON.stringify(health)}\n`);
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new VaultOpsError(
          'config',
          `cannot listen on ${host}:${options.port} (${err.code ?? err.message}): choose another --http-port`,
          { cause: err },
        ),
      ),
    );
    server.listen(options.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
