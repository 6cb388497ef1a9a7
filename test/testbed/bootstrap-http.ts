import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * The testbed's own minimal HTTP client for setting servers up (init, unseal, join, seeding).
 * Deliberately independent of vault-ops' client, so that the product is tested against servers it
 * did not prepare itself.
 */
export async function bootstrapRequest<T = any>(
  address: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; ca?: string; okStatuses?: number[] } = {},
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
    const req = requester(url, { method, headers, ...(options.ca ? { ca: options.ca } : {}), timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
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
