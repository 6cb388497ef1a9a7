import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { createTerminal } from './terminal.js';

/** A stdin that claims to be a terminal, recording raw-mode switches, typed into by the test. */
function typedTerminal() {
  const stdin = Object.assign(new PassThrough(), {
    isTTY: true,
    rawModes: [] as boolean[],
    setRawMode(mode: boolean) {
      stdin.rawModes.push(mode);
    },
  });
  const stderr = new PassThrough();
  let screen = '';
  stderr.on('data', (d: Buffer) => (screen += d.toString()));
  const terminal = createTerminal({ stdin, stderr, stdout: new PassThrough() });
  return { terminal, stdin, screen: () => screen };
}

test('confirm is true only for the exact phrase; the question and the typing are echoed on stderr', async () => {
  const t = typedTerminal();
  const answer = t.terminal.confirm('Replace everything?', 'prod-east');
  t.stdin.write('prod-eastx\u007f\r');
  assert.equal(await answer, true);
  assert.match(t.screen(), /Replace everything\?\nType "prod-east" to continue/);
  assert.ok(t.screen().includes('prod-eastx\b \b'));
  assert.deepEqual(t.stdin.rawModes, [true, false], 'raw mode is switched off again');

  const wrong = t.terminal.confirm('Again?', 'prod-east');
  t.stdin.write('prod\n');
  assert.equal(await wrong, false);
});

test('a hidden prompt returns the typed line and never echoes it', async () => {
  const t = typedTerminal();
  const answer = t.terminal.promptHidden('Password: ');
  t.stdin.write('s3cr3t-Value\r');
  assert.equal(await answer, 's3cr3t-Value');
  assert.ok(!t.screen().includes('s3cr3t'), t.screen());
});

test('Ctrl-C cancels a question with a confirmation error (exit 4), nothing half-read is returned', async () => {
  const t = typedTerminal();
  const answer = t.terminal.promptHidden('Password: ');
  t.stdin.write('half\u0003');
  await assert.rejects(
    answer,
    (err: Error & { code?: string }) =>
      err.code === 'confirmation' && /interrupted \(Ctrl-C\): nothing was changed/.test(err.message),
  );
  assert.deepEqual(t.stdin.rawModes, [true, false]);
});

test('without a terminal on stdin nobody is asked: a confirmation error, not a hang', async () => {
  const terminal = createTerminal({ stdin: new PassThrough(), stderr: new PassThrough(), stdout: new PassThrough() });
  assert.equal(terminal.interactive, false);
  await assert.rejects(
    terminal.confirm('Sure?', 'yes'),
    (err: Error & { code?: string }) => err.code === 'confirmation',
  );
});
