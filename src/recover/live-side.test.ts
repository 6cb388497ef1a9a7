import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SecretRegistry } from '../observability/secret-registry.js';
import { keyChanges, registerValues } from './live-side.js';
import { roleChanges } from './roles.js';

test('keyChanges names the keys added, removed and changed, never a value', () => {
  assert.deepEqual(keyChanges({ a: '1', b: { x: 1 }, c: 'same' }, { b: { x: 2 }, c: 'same', d: 'gone' }), {
    added: ['a'],
    removed: ['d'],
    changed: ['b'],
    unchanged: 1,
  });
  assert.deepEqual(keyChanges({ a: '1' }, undefined), { added: ['a'], removed: [], changed: [], unchanged: 0 });
});

test('registerValues registers every string of a secret at any depth, not short strings, numbers or booleans', () => {
  const secrets = new SecretRegistry();
  registerValues(secrets, { password: 'p4ssw0rd-long', nested: { token: 'nested-token-1' }, list: ['in-a-list-1'] });
  registerValues(secrets, { port: 5432, enabled: true, mode: 'true', user: 'app' });
  const scrubbed = secrets.scrub('p4ssw0rd-long nested-token-1 in-a-list-1 {"applied": true, "port": 5432}');
  assert.equal(scrubbed, '[REDACTED] [REDACTED] [REDACTED] {"applied": true, "port": 5432}');
});

test('roleChanges: unset fields (empty lists, 0, false) compare equal; other differences are changes', () => {
  assert.deepEqual(
    roleChanges({ token_policies: ['a'], token_ttl: 0, token_bound_cidrs: [] }, { token_policies: ['b'] }),
    {
      added: [],
      removed: [],
      changed: ['token_policies'],
      unchanged: 2,
    },
  );
  assert.deepEqual(roleChanges({ token_ttl: 60 }, undefined).added, ['token_ttl']);
});
