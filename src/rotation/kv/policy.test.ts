import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VaultOpsError } from '../../errors.js';
import { loadRotationPolicy, parseRotationPolicy, rotationPolicyJsonSchema, selectSecrets } from './policy.js';

const fail = (doc: unknown, re: RegExp) =>
  assert.throws(
    () => parseRotationPolicy(doc, '/etc/jobs/rotate.yaml'),
    (e: unknown) => e instanceof VaultOpsError && e.code === 'config' && re.test(e.message),
  );

describe('rotation policy', () => {
  test('the issue example normalises', () => {
    const p = parseRotationPolicy(
      {
        secrets: [
          {
            mount: 'secret',
            path: 'payments/stripe',
            every: '90d',
            keys: {
              api_key: { length: 40, charset: 'alnum' },
              signing_secret: { passwordPolicy: 'payments' },
              token: { command: ['./hooks/mint-token.sh'] },
            },
            hooks: {
              set: ['./hooks/stripe-set.sh'],
              test: ['./hooks/stripe-test.sh'],
              revoke: ['./hooks/stripe-revoke.sh'],
              grace: '1h',
              timeout: '60s',
            },
            maxVersions: 10,
          },
          { mount: 'secret', path: 'app/db', schedule: '0 3 * * 1', window: '3h', keys: { password: {} } },
        ],
      },
      '/etc/jobs/rotate.yaml',
    );
    const [a, b] = p.secrets;
    assert.equal(a!.id, 'secret/payments/stripe');
    assert.deepEqual(a!.schedule, { kind: 'every', everyMs: 90 * 86_400_000, text: '90d' });
    assert.deepEqual(
      a!.keys.map((k) => k.generator.kind),
      ['local', 'passwordPolicy', 'command'],
    );
    assert.deepEqual(a!.keys[2]!.generator, {
      kind: 'command',
      command: ['/etc/jobs/hooks/mint-token.sh'],
      timeoutMs: 60_000,
      env: [],
    });
    assert.deepEqual(a!.hooks, {
      set: ['/etc/jobs/hooks/stripe-set.sh'],
      test: ['/etc/jobs/hooks/stripe-test.sh'],
      revoke: ['/etc/jobs/hooks/stripe-revoke.sh'],
      graceMs: 3_600_000,
      timeoutMs: 60_000,
      env: [],
    });
    assert.equal(a!.maxVersions, 10);
    assert.equal(a!.maxFailures, 3);
    assert.equal(b!.schedule.kind, 'cron');
    assert.deepEqual(b!.keys[0]!.generator, { kind: 'local', length: 32, charset: 'alnum', exclude: '' });
  });

  test('errors name the entry and field, all at once', () => {
    fail(
      { secrets: [{ mount: 'secret', path: 'a', every: '1d', keys: { k: { length: 40, passwordPolicy: 'p' } } }] },
      /secrets\[0\] \(secret\/a\): keys\.k: choose one generator/,
    );
    fail(
      { secrets: [{ mount: 'secret', path: 'a', every: '1d', schedule: '* * * * *', keys: { k: {} } }] },
      /set either every or schedule, not both/,
    );
    fail(
      { secrets: [{ mount: 'secret', path: 'a', every: '1d', window: '1h', keys: { k: {} } }] },
      /window: window applies to schedule only/,
    );
    fail({ secrets: [{ mount: 'secret', path: '/a/', every: '1d', keys: { k: {} } }] }, /path: path "\/a\/" must be/);
    fail({ secrets: [{ mount: 'secret', path: 'a/../b', every: '1d', keys: { k: {} } }] }, /no "\.\."/);
    fail(
      { secrets: [{ mount: 'secret', path: 'a', every: '1d', keys: { k: { charset: 'emoji' } } }] },
      /keys\.k\.charset/,
    );
    fail(
      { secrets: [{ mount: 'secret', path: 'a', every: '1d', keys: { k: {} }, hooks: { grace: '1h', set: ['x'] } }] },
      /hooks\.grace: grace applies to the revoke hook/,
    );
    fail(
      { secrets: [{ mount: 'secret', path: 'a', every: '1d', keys: { k: {} }, hooks: {} }] },
      /hooks: name at least one of set, test, revoke/,
    );
    fail({ secrets: [{ mount: 'secret', path: 'a', every: '0s', keys: { k: {} } }] }, /must be greater than zero/);
    fail(
      {
        secrets: [
          { mount: 'secret', path: 'a', every: '1d', keys: { k: { charset: 'hex', exclude: '0123456789abcde' } } },
        ],
      },
      /excludes \(almost\) the whole charset/,
    );
    fail(
      {
        secrets: [
          { mount: 'secret', path: 'a', every: '1d', keys: { k: {} } },
          { mount: 'secret', path: 'a', every: '2d', keys: { k: {} } },
        ],
      },
      /secrets\[1\] \(secret\/a\): the same secret as secrets\[0\]/,
    );
    fail({ secrets: [] }, /secrets: list at least one secret/);
    fail({ jobs: [] }, /policy has unknown key jobs/);
    fail('a string', /policy must be a mapping \(key: value lines\), not a text value/);
    fail(null, /secrets/);
  });

  test("hooks.env and a command generator's env name the variables they get, validated", () => {
    const p = parseRotationPolicy(
      {
        secrets: [
          {
            mount: 'secret',
            path: 'a',
            every: '1d',
            keys: { k: { command: ['./mint.sh'], env: ['MINT_API_KEY'] }, l: {} },
            hooks: { set: ['./set.sh'], env: ['DB_ADMIN_PASSWORD', 'PGHOST'] },
          },
        ],
      },
      '/etc/jobs/rotate.yaml',
    );
    assert.deepEqual(p.secrets[0]!.hooks!.env, ['DB_ADMIN_PASSWORD', 'PGHOST']);
    assert.deepEqual(p.secrets[0]!.keys[0]!.generator, {
      kind: 'command',
      command: ['/etc/jobs/mint.sh'],
      timeoutMs: 60_000,
      env: ['MINT_API_KEY'],
    });
    const entry = (extra: Record<string, unknown>) => ({
      secrets: [{ mount: 'secret', path: 'a', every: '1d', keys: { k: {} }, ...extra }],
    });
    fail(
      entry({ hooks: { set: ['x'], env: ['DB-PASSWORD'] } }),
      /secrets\[0\] \(secret\/a\): hooks\.env\.0: an environment variable name/,
    );
    fail(entry({ hooks: { set: ['x'], env: ['1ST'] } }), /hooks\.env\.0: an environment variable name/);
    fail(entry({ hooks: { set: ['x'], env: 'PGHOST' } }), /hooks\.env must be a list, not a text value/);
    fail(entry({ hooks: { set: ['x'], env: ['A', 'B', 'A'] } }), /hooks\.env: names A more than once/);
    fail(
      { secrets: [{ mount: 'secret', path: 'a', every: '1d', keys: { k: { length: 32, env: ['X'] } } }] },
      /keys\.k\.env: env applies to a command generator only/,
    );
  });

  test('--only selects; unknown ids are a usage error', () => {
    const p = parseRotationPolicy(
      {
        secrets: [
          { mount: 'secret', path: 'a', every: '1d', keys: { k: {} } },
          { mount: 'secret', path: 'b', every: '1d', keys: { k: {} } },
        ],
      },
      'p.yaml',
    );
    assert.deepEqual(
      selectSecrets(p, ['secret/b']).map((s) => s.id),
      ['secret/b'],
    );
    assert.equal(selectSecrets(p, []).length, 2);
    assert.throws(
      () => selectSecrets(p, ['secret/c']),
      (e: unknown) => e instanceof VaultOpsError && e.code === 'usage',
    );
  });

  test('a JSON Schema comes from the same zod schema', () => {
    const schema = rotationPolicyJsonSchema() as { properties?: Record<string, unknown> };
    assert.ok(schema.properties?.secrets);
    assert.match(JSON.stringify(schema), /passwordPolicy/);
  });
});

describe('jobs/rotate-kv.yaml', () => {
  test('the example policy file is valid', async () => {
    const p = await loadRotationPolicy(new URL('../../../jobs/rotate-kv.yaml', import.meta.url).pathname);
    assert.ok(p.secrets.length >= 2);
  });
});
