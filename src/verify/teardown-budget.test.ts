import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JOB_KILL_GRACE_MS } from '../scheduler/job-process.js';
import { SCRATCH_STOP_TIMEOUT_MS } from './scratch-vault.js';

test('the daemon`s kill grace outlasts a drill`s teardown (scratch server stop, then temp dir removal)', () => {
  // Teardown: SIGTERM to the server, up to SCRATCH_STOP_TIMEOUT_MS, then SIGKILL and rm -rf.
  assert.ok(
    JOB_KILL_GRACE_MS >= SCRATCH_STOP_TIMEOUT_MS + 10_000,
    `${JOB_KILL_GRACE_MS} ms vs ${SCRATCH_STOP_TIMEOUT_MS} ms`,
  );
});
