import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP relay on 127.0.0.1 that forwards every connection to `target` and keeps what the client
 * sent on each one: to prove what went over the wire (e.g. that a login check sent only the
 * 8-byte SSLRequest to a server without TLS, and no user name or password). It changes nothing.
 */
export interface RecordingRelay {
  port: number;
  /** Per accepted connection, in order: the bytes the client sent. */
  clientBytes(): Buffer[];
  stop(): Promise<void>;
}

export async function startRecordingRelay(target: { host: string; port: number }): Promise<RecordingRelay> {
  const sent: Buffer[][] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const chunks: Buffer[] = [];
    sent.push(chunks);
    const upstream = connect({ host: target.host, port: target.port });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('testbed: the relay has no TCP address');
  return {
    port: address.port,
    clientBytes: () => sent.map((chunks) => Buffer.concat(chunks)),
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
