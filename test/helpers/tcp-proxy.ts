import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  addr: string;
  /** Bytes relayed from the target back to clients, over all connections. */
  bytesDown(): number;
  /** Connections accepted so far (who dialled the target through the proxy, and how often). */
  connections(): number;
  close(): Promise<void>;
}

/**
 * A loopback TCP proxy for fault tests. With `cutDownstreamAfter`, a connection whose response
 * (target → client) passes that many bytes is destroyed mid-stream, like a network cut.
 * `cutOnlyWhen` limits cutting to connections whose request starts with the given text.
 */
export async function startTcpProxy(
  target: { host: string; port: number },
  options: {
    cutDownstreamAfter?: number;
    cutOnlyWhen?: string /** Hold (forward nothing more of) the armed response after this many bytes. */;
    stallDownstreamAfter?: number;
  } = {},
): Promise<TcpProxy> {
  let down = 0;
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    accepted++;
    sockets.add(client);
    const upstream = connect(target.port, target.host);
    sockets.add(upstream);
    let perConnection = 0;
    let armed = options.cutOnlyWhen === undefined;
    client.on('data', (chunk: Buffer) => {
      // Keep-alive sockets carry several requests: arm (and start counting) at the matching one.
      if (options.cutOnlyWhen !== undefined && chunk.toString('latin1').includes(options.cutOnlyWhen)) {
        armed = true;
        perConnection = 0;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      perConnection += chunk.length;
      down += chunk.length;
      if (armed && options.cutDownstreamAfter !== undefined && perConnection > options.cutDownstreamAfter) {
        const keep = chunk.length - (perConnection - options.cutDownstreamAfter);
        if (keep > 0) client.write(chunk.subarray(0, keep));
        client.destroy();
        upstream.destroy();
        return;
      }
      if (armed && options.stallDownstreamAfter !== undefined && perConnection > options.stallDownstreamAfter) {
        const keep = chunk.length - (perConnection - options.stallDownstreamAfter);
        if (keep > 0) client.write(chunk.subarray(0, keep));
        upstream.pause();
        upstream.removeAllListeners('data');
        return;
      }
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    addr: `http://127.0.0.1:${port}`,
    bytesDown: () => down,
    connections: () => accepted,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
