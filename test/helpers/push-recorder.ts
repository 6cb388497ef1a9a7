import { createServer, type Server } from 'node:http';

/** One push as a Prometheus Pushgateway receives it. */
export interface RecordedPush {
  method: string;
  /** /metrics/job/<job>[/<label>/<value>…] */
  path: string;
  /** The text exposition format prom-client sent. */
  body: string;
}

export interface PushRecorder {
  url: string;
  pushes: RecordedPush[];
  close(): Promise<void>;
}

/**
 * Records what jobs push to a Pushgateway (the pushes themselves are what the tests check; a
 * Pushgateway's own merging is not under test), answering 200 as one does. Listens on `host`: the
 * testbed node's bridge gateway, where pods reach it.
 */
export async function startPushRecorder(host: string): Promise<PushRecorder> {
  const pushes: RecordedPush[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      pushes.push({ method: req.method ?? '', path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://${host}:${port}`,
    pushes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
