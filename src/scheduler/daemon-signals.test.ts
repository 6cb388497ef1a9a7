import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../observability/logger.js';
import { shutdownOnSignals, stopRunOnSignals } from './daemon-signals.js';

function fakeScheduler() {
  const calls: string[] = [];
  return {
    calls,
    async shutdown(graceMs: number) {
      calls.push(`shutdown ${graceMs}`);
    },
    abortAll() {
      calls.push('abortAll');
    },
  };
}

test('daemon: the first signal shuts down with the grace period, a second stops running jobs now', async () => {
  const scheduler = fakeScheduler();
  const logger = await createLogger({ level: 'silent', destination: process.stderr, pretty: false });
  const before = process.listenerCount('SIGTERM');
  const signals = shutdownOnSignals(scheduler, 30, logger);
  try {
    process.emit('SIGTERM', 'SIGTERM');
    await signals.stopped;
    process.emit('SIGINT', 'SIGINT');
    assert.deepEqual(scheduler.calls, ['shutdown 30000', 'abortAll']);
  } finally {
    signals.dispose();
  }
  assert.equal(process.listenerCount('SIGTERM'), before, 'the handlers are removed');
});

test('daemon --once: a signal stops the run at once (no grace)', () => {
  const scheduler = fakeScheduler();
  const before = process.listenerCount('SIGINT');
  const dispose = stopRunOnSignals(scheduler);
  process.emit('SIGINT', 'SIGINT');
  dispose();
  assert.deepEqual(scheduler.calls, ['shutdown 0']);
  assert.equal(process.listenerCount('SIGINT'), before);
});
