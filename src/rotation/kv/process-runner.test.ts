import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { childEnvironment, execaRunner } from './process-runner.js';

/** A process that still runs (a zombie only waits to be reaped). */
function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor(file: string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!existsSync(file)) {
    if (Date.now() > until) throw new Error(`${file} did not appear`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('child environment (allowlist)', () => {
  const parent = {
    PATH: '/usr/bin:/bin',
    HOME: '/home/ops',
    LANG: 'C.UTF-8',
    TZ: 'UTC',
    LC_ALL: 'C',
    LC_TIME: 'en_GB.UTF-8',
    VAULT_TOKEN: 'hvs.parent-token',
    BAO_TOKEN: 's.parent-token',
    VAULT_ADDR: 'https://vault:8200',
    AWS_SECRET_ACCESS_KEY: 'aws-secret',
    AWS_ACCESS_KEY_ID: 'AKIA',
    DB_ADMIN_PASSWORD: 'named-for-the-hook',
    SHELL: '/bin/bash',
    LC_: 'not a locale variable',
    lc_all: 'lower case is another name',
  };

  test('only PATH, HOME, LANG, TZ and LC_* by default', () => {
    assert.deepEqual(childEnvironment(parent), {
      PATH: '/usr/bin:/bin',
      HOME: '/home/ops',
      LANG: 'C.UTF-8',
      TZ: 'UTC',
      LC_ALL: 'C',
      LC_TIME: 'en_GB.UTF-8',
    });
  });

  test('plus exactly the named variables that are set; a name never set is simply absent', () => {
    const env = childEnvironment(parent, ['DB_ADMIN_PASSWORD', 'NOT_SET_ANYWHERE']);
    assert.deepEqual(Object.keys(env).sort(), ['DB_ADMIN_PASSWORD', 'HOME', 'LANG', 'LC_ALL', 'LC_TIME', 'PATH', 'TZ']);
    assert.equal(env.DB_ADMIN_PASSWORD, 'named-for-the-hook');
  });

  test('tokens and cloud credentials only when named', () => {
    assert.equal(childEnvironment(parent).VAULT_TOKEN, undefined);
    assert.equal(childEnvironment(parent, ['VAULT_ADDR']).VAULT_ADDR, 'https://vault:8200');
    assert.equal(childEnvironment(parent, ['VAULT_ADDR']).VAULT_TOKEN, undefined);
  });
});

describe('execaRunner: real child processes', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vault-ops-runner-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** node -e: spawn a grandchild that ignores SIGTERM (stdio detached from ours), write both pids, then `then`. */
  const spawner = (pids: string, then: string) => [
    process.execPath,
    '-e',
    `const { spawn } = require('node:child_process');
     const stubborn = "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)";
     const g = spawn(process.execPath, ['-e', stubborn], { stdio: 'ignore' });
     const both = JSON.stringify({ hook: process.pid, grandchild: g.pid });
     require('node:fs').writeFileSync(${JSON.stringify(pids)}, both);
     ${then}`,
  ];

  test('the child sees only the allowlisted and named variables of the environment given', async () => {
    const out = join(dir, 'env.json');
    const runner = execaRunner({
      PATH: process.env.PATH,
      HOME: '/tmp',
      VAULT_TOKEN: 'hvs.never',
      NAMED: 'yes',
      OTHER: 'no',
    });
    const r = await runner.run(
      [process.execPath, '-e', `require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.env))`],
      { input: '', timeoutMs: 10_000, env: ['NAMED'] },
    );
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(Object.keys(JSON.parse(await readFile(out, 'utf8'))).sort(), ['HOME', 'NAMED', 'PATH']);
  });

  test(
    'abort: the whole process group is stopped (SIGKILL for what ignores SIGTERM) before run() ' + 'returns',
    async () => {
      const pids = join(dir, 'abort.json');
      const controller = new AbortController();
      const started = execaRunner().run(spawner(pids, 'setInterval(() => {}, 1000)'), {
        input: '',
        timeoutMs: 60_000,
        signal: controller.signal,
      });
      await waitFor(pids);
      const { hook, grandchild } = JSON.parse(await readFile(pids, 'utf8')) as { hook: number; grandchild: number };
      assert.ok(running(hook) && running(grandchild));
      controller.abort();
      const r = await started;
      assert.equal(r.aborted, true);
      assert.equal(r.timedOut, false);
      assert.equal(running(hook), false, 'the hook is gone');
      assert.equal(running(grandchild), false, 'the grandchild that ignored SIGTERM is gone too');
    },
  );

  test('a command that exits 0 leaves nothing running in its group', async () => {
    const pids = join(dir, 'exit.json');
    const r = await execaRunner().run(spawner(pids, 'process.exit(0)'), { input: '', timeoutMs: 60_000 });
    assert.equal(r.exitCode, 0);
    assert.equal(r.aborted, false);
    const { grandchild } = JSON.parse(await readFile(pids, 'utf8')) as { grandchild: number };
    assert.equal(running(grandchild), false, 'the background grandchild did not outlive the hook');
  });

  test('an already aborted signal starts nothing', async () => {
    const marker = join(dir, 'never.txt');
    const controller = new AbortController();
    controller.abort();
    const r = await execaRunner().run(
      [process.execPath, '-e', `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'x')`],
      { input: '', timeoutMs: 10_000, signal: controller.signal },
    );
    assert.equal(r.aborted, true);
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(existsSync(marker), false);
  });
});
