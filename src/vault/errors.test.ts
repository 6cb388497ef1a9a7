import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firstError, responseError } from './errors.js';

test('multi-error answers keep their causes on one line', () => {
  assert.equal(
    firstError(['1 error occurred:\n\t* failed to verify connection: password authentication failed\n\n']),
    'failed to verify connection: password authentication failed',
  );
  assert.equal(firstError(['2 errors occurred:\n\t* a\n\t* b\n\n']), 'a; b');
  assert.equal(firstError(['permission denied']), 'permission denied');
  assert.equal(firstError([]), '');
});

test('status codes map to error kinds', () => {
  assert.equal(responseError('GET', 'x', { status: 503, errors: ['Vault is sealed'] }).code, 'vault-sealed');
  assert.equal(responseError('GET', 'x', { status: 403, errors: ['permission denied'] }).code, 'vault-permission');
  assert.equal(responseError('GET', 'x', { status: 404, errors: [] }).code, 'not-found');
  assert.equal(
    responseError('GET', 'x', { status: 500, errors: ['local node not active but active cluster node not found'] })
      .code,
    'vault-no-leader',
  );
  assert.equal(responseError('GET', 'x', { status: 400, errors: ['bad'] }).code, 'vault-request');
});
