import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const MODULE = fileURLToPath(new URL('./process-warnings.ts', import.meta.url));
const LOGGER = fileURLToPath(new URL('./logger.ts', import.meta.url));

/** A real Node process that routes its warnings, emits some, and exits; its stderr lines. */
function run(script: string, env: Record<string, string> = {}): Promise<string[]> {
  const code = `
    const { routeProcessWarnings, logProcessWarningsTo } = await import(${JSON.stringify(MODULE)});
    const { createLogger } = await import(${JSON.stringify(LOGGER)});
    routeProcessWarnings();
    ${script}`;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', code],
      { env: { PATH: process.env.PATH, ...env } },
      (err, _stdout, stderr) => (err ? reject(err) : resolve(stderr.split('\n').filter(Boolean))),
    );
  });
}

test("Node's own warning lines become JSON log records of the command's logger", async () => {
  const lines = await run(`
    logProcessWarningsTo(await createLogger());
    process.emitWarning('url.parse() is deprecated', 'DeprecationWarning', 'DEP0169');
    await new Promise((r) => setTimeout(r, 50));`);
  assert.equal(lines.length, 1, lines.join('\n'));
  const record = JSON.parse(lines[0]!);
  assert.equal(record.level, 40);
  assert.equal(record.msg, 'DeprecationWarning DEP0169: url.parse() is deprecated');
  assert.deepEqual(record.warning, { name: 'DeprecationWarning', code: 'DEP0169' });
});

test('warnings from before the logger wait for it; those left at exit are still written, as JSON', async () => {
  const lines = await run(`
    process.emitWarning('early');
    await new Promise((r) => setTimeout(r, 20));
    logProcessWarningsTo(await createLogger());
    process.emitWarning('late', 'ExperimentalWarning');`);
  // 'late' is emitted on the next tick, after the logger is attached.
  assert.deepEqual(
    lines.map((l) => JSON.parse(l).msg),
    ['Warning: early', 'ExperimentalWarning: late'],
  );
  const exitOnly = await run(`process.emitWarning('no logger ever');`);
  assert.equal(exitOnly.length, 1, exitOnly.join('\n'));
  assert.equal(JSON.parse(exitOnly[0]!).msg, 'Warning: no logger ever');
});

test('NODE_NO_WARNINGS=1 keeps them out, as it does for Node', async () => {
  const lines = await run(`process.emitWarning('hidden'); await new Promise((r) => setTimeout(r, 20));`, {
    NODE_NO_WARNINGS: '1',
  });
  assert.deepEqual(lines, []);
});
