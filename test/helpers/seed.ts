import { randomBytes } from 'node:crypto';
import { bootstrapRequest } from '../testbed/bootstrap-http.js';

/**
 * Seed a testbed Vault with KV v2 secrets (mount `secret/` unless told otherwise), optionally with
 * large random (incompressible) values to grow the snapshot.
 */
export async function seedSecrets(
  addr: string,
  token: string,
  options: { mount?: string; count: number; valueBytes?: number; prefix?: string; concurrency?: number },
): Promise<Record<string, string>> {
  const mount = options.mount ?? 'secret';
  const mounts = (await bootstrapRequest(addr, 'GET', 'sys/mounts', { token })).body;
  if (!mounts.data?.[`${mount}/`] && !mounts[`${mount}/`]) {
    await bootstrapRequest(addr, 'POST', `sys/mounts/${mount}`, {
      token,
      body: { type: 'kv', options: { version: '2' } },
    });
  }
  const written: Record<string, string> = {};
  const names = Array.from({ length: options.count }, (_, i) => `${options.prefix ?? 'app'}/s${i}`);
  const workers = Math.max(1, options.concurrency ?? 8);
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < names.length) {
        const name = names[next++]!;
        const value = options.valueBytes
          ? randomBytes(Math.ceil((options.valueBytes * 3) / 4))
              .toString('base64')
              .slice(0, options.valueBytes)
          : `value-${name}`;
        await bootstrapRequest(addr, 'POST', `${mount}/data/${name}`, { token, body: { data: { value } } });
        written[name] = value;
      }
    }),
  );
  return written;
}

export async function readSecret(
  addr: string,
  token: string,
  mount: string,
  name: string,
): Promise<string | undefined> {
  const { status, body } = await bootstrapRequest<any>(addr, 'GET', `${mount}/data/${name}`, {
    token,
    okStatuses: [200, 404],
  });
  return status === 200 ? (body.data.data.value as string) : undefined;
}
