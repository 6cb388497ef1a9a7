import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from './logger.js';
import { SecretRegistry } from './secret-registry.js';

async function capture(
  fn: (log: Awaited<ReturnType<typeof createLogger>>) => void,
  secrets = new SecretRegistry(),
): Promise<string> {
  const sink = new PassThrough();
  const chunks: string[] = [];
  sink.on('data', (c) => chunks.push(String(c)));
  const logger = await createLogger({ level: 'trace', destination: sink, secrets });
  fn(logger);
  await new Promise((r) => setImmediate(r));
  return chunks.join('');
}

test('secret fields are redacted by name, at any of the first levels', async () => {
  const out = await capture((log) => {
    log.info(
      {
        token: 'hvs.AAAA1111',
        auth: { client_token: 'hvs.BBBB2222' },
        unsealKeys: ['k1-secret'],
        req: { headers: { 'x-vault-token': 'hvs.CCCC3333' } },
      },
      'hello',
    );
    log.info({ data: { password: 'p@ssw0rd!', nested: { secretId: 'sid-123456' } } }, 'nested');
    log.info({ login: { jwt: 'eyJ.payload.sig', connection: { clientKeyPem: 'KEYPEM-1234' } } }, 'login');
  });
  for (const secret of [
    'hvs.AAAA1111',
    'hvs.BBBB2222',
    'k1-secret',
    'hvs.CCCC3333',
    'p@ssw0rd!',
    'sid-123456',
    'eyJ.payload.sig',
    'KEYPEM-1234',
  ]) {
    assert.ok(!out.includes(secret), `${secret} leaked: ${out}`);
  }
  assert.match(out, /\[REDACTED\]/);
});

test('registered secret values are scrubbed wherever they appear, even inside messages', async () => {
  const secrets = new SecretRegistry();
  secrets.add('s.verySecretToken42');
  secrets.add('quote"and\\backslash');
  const out = await capture((log) => {
    log.error(`request failed with header s.verySecretToken42`);
    log.warn({ note: 'value quote"and\\backslash here' }, 'odd');
  }, secrets);
  assert.ok(!out.includes('s.verySecretToken42'));
  assert.ok(!out.includes('quote\\"and\\\\backslash'));
  assert.equal((out.match(/\[REDACTED\]/g) ?? []).length, 2);
});

test('very short values are not registered (they would mask ordinary words)', () => {
  const secrets = new SecretRegistry();
  secrets.add('ab');
  secrets.add(undefined);
  assert.equal(secrets.size, 0);
  assert.equal(secrets.scrub('ab cd'), 'ab cd');
});
