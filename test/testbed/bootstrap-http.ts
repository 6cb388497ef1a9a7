import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * The testbed's own minimal HTTP client for setting servers up (init, unseal, join, seeding).
 * Deliberately independent of vault-ops' client, so that the product is tested against servers it
 * did not prepare itself.
 */
/**
 * Answers a server gives for a moment after setup steps (a fresh KV v2 mount upgrading, a node
 * just unsealed or restored still taking over as active): retried for up to 30 s.
 */
const transient =
  /Upgrading from non-versioned to versioned data|local node not active but active cluster node not found/;

export async function bootstrapRequest<T = any>(
  address: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; ca?: string; okStatuses?: number[] } = {},
): Promise<{ status: number; body: T }> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await bootstrapRequestOnce<T>(address, method, path, options);
    } catch (err) {
      if (!transient.test((err as Error).message) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function bootstrapRequestOnce<T>(
  address: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; ca?: string; okStatuses?: number[] },
): Promise<{ status: number; body: T }> {
  const url = new URL(`/v1/${path.replace(/^\/+/, '')}`, address);
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
  const headers: Record<string, string> = {};
  if (options.token) headers['X-Vault-Token'] = options.token;
  if (payload) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = String(payload.length);
  }
  const requester = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = requester(
      url,
      { method, headers, ...(options.ca ? { ca: options.ca } : {}), timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${url.pathname}`)));
    req.on('error', reject);
    req.end(payload);
  });
  const body = text ? JSON.parse(text) : undefined;
  const ok = options.okStatuses ?? [200, 204];
  if (!ok.includes(status)) {
    throw new Error(`testbed: ${method} ${url.pathname} answered ${status}: ${JSON.stringify(body?.errors ?? body)}`);
  }
  return { status, body };
}
