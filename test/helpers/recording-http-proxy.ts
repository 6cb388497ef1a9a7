import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** The path without `/v1/`, with its query string. */
  path: string;
}

/**
 * An HTTP proxy in front of a (plain-HTTP, loopback) Vault that records each request's method and
 * path as it goes over the wire: retries and every layer of the client included. It changes nothing.
 */
export class RecordingHttpProxy {
  private seen: RecordedRequest[] = [];
  /** TCP connections the client opened (keep-alive reuse shows as few). */
  connections = 0;
  private constructor(
    private readonly server: Server,
    private readonly agent: Agent,
    readonly addr: string,
  ) {}

  static async start(target: string): Promise<RecordingHttpProxy> {
    const agent = new Agent({ keepAlive: true });
    let proxy: RecordingHttpProxy | undefined;
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', target);
      proxy!.seen.push({ method: req.method ?? 'GET', path: url.pathname.replace(/^\/v1\//, '') + (url.search || '') });
      const upstream = request(url, { method: req.method, headers: req.headers, agent }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.once('error', () => res.destroy());
      req.pipe(upstream);
    });
    server.on('connection', () => proxy!.connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new RecordingHttpProxy(server, agent, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return proxy;
  }

  /** What was recorded since the last call, and forget it. */
  take(): { requests: RecordedRequest[]; connections: number } {
    const out = { requests: this.seen, connections: this.connections };
    this.seen = [];
    this.connections = 0;
    return out;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
    this.agent.destroy();
  }
}
