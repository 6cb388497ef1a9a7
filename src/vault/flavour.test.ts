import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flavourBinary, flavourName, flavourOfHealth, flavourOfVersionOutput } from './flavour.js';

test('the flavour from `version` output', () => {
  assert.equal(flavourOfVersionOutput("Vault v1.21.4 ('abc'), built 2026-01-01T00:00:00Z\n"), 'vault');
  assert.equal(flavourOfVersionOutput('Vault v1.21.4+ent (abc), built …'), 'vault');
  assert.equal(flavourOfVersionOutput('OpenBao v2.4.0 (f9407a27fbee), built 2025-08-28\n'), 'openbao');
  assert.equal(flavourOfVersionOutput('bao v2'), undefined);
  assert.equal(flavourOfVersionOutput(''), undefined);
  // Only the first line counts: a warning printed after it names nothing.
  assert.equal(flavourOfVersionOutput('OpenBao v2.4.0\nWARNING: Vault compatibility mode'), 'openbao');
});

test('the flavour from sys/health: Vault always sends enterprise and echo_duration_ms, OpenBao neither', () => {
  assert.equal(
    flavourOfHealth({ initialized: true, sealed: false, version: '1.21.4', enterprise: false, echo_duration_ms: 0 }),
    'vault',
  );
  assert.equal(flavourOfHealth({ initialized: true, sealed: true, version: '1.21.4+ent', enterprise: true }), 'vault');
  assert.equal(flavourOfHealth({ initialized: true, sealed: false, version: '2.4.0', standby: false }), 'openbao');
});

test('names and default binaries', () => {
  assert.equal(flavourName('vault'), 'HashiCorp Vault');
  assert.equal(flavourName('openbao'), 'OpenBao');
  assert.equal(flavourBinary('vault'), 'vault');
  assert.equal(flavourBinary('openbao'), 'bao');
});
