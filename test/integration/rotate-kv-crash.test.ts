import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, type CliResult } from '../helpers/run-cli.js';
import {
  CRASH_DRIVER,
  ENTRY,
  RotationBed,
  libraryDeps,
  pick,
  runNode,
  running,
  runningWith,
  sleep,
  startNode,
  targetKey,
  waitForFile,
} from '../fixtures/rotation-hooks/harness.js';
import { loadRotationPolicy } from '../../src/rotation/kv/policy.js';
import { runRotation } from '../../src/rotation/kv/run.js';
import { onServer } from '../testbed/servers.js';

/**
 * The crash matrix: the process is SIGKILLed after each durable step in turn (through the
 * library's step hook, in a child process), or by a hook while it runs (the real CLI as a child
 * process); then a normal run converges: the live value, the target system's own record and the
 * metadata agree, the previous value is still in the version history, one pending value only.
 */

let bed: RotationBed;
const captured: string[] = [];

before(async () => {
  bed = await RotationBed.start();
});
after(async () => {
  await bed?.stop();
});

async function cli(args: string[]): Promise<CliResult> {
  const r = await runCli(args, bed.env);
  captured.push(r.all);
  return r;
}

function events(stdout: string): Array<{ step: string; rotationId: string }> {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{"secret"'))
    .map((l) => JSON.parse(l));
}

/** The live value, the target and the metadata agree; the previous value is in the history. */
async function assertConverged(
  path: string,
  td: string | undefined,
  original: string,
  versions: number,
): Promise<void> {
  const live = (await bed.read(path))!;
  assert.equal(live.version, versions, `exactly ${versions - 1} new live version(s)`);
  assert.notEqual(live.data.api_key, original);
  assert.equal(live.data.other, 'keep');
  assert.equal((await bed.read(path, 1))!.data.api_key, original, 'the previous value is still in the version history');
  const meta = (await bed.meta(path))!;
  const custom = meta.custom_metadata ?? {};
  assert.equal(custom['vault-ops-state'], 'current');
  assert.equal(custom['vault-ops-step'], undefined);
  assert.equal(custom['vault-ops-quarantined'], undefined);
  assert.equal(custom['vault-ops-version'], String(versions));
  assert.equal(await bed.lock('secret', path), undefined, 'no lock left');
  if (td) {
    assert.equal(await bed.staged('secret', path), undefined, 'no staged value left');
    const target = bed.target(td, 'secret', path)!;
    assert.equal(target.current, targetKey(pick(live.data, ['api_key'])), 'the target holds the live value');
    assert.equal(new Set(target.setValues).size, 1, 'a second value was never generated once set may have run');
  }
}

describe(onServer('crash matrix with hooks: SIGKILL after each step, then re-run'), () => {
  const steps = [
    'lock-acquired',
    'staged',
    'marked-pending',
    'set-started',
    'set-done',
    'tested',
    'live-written',
    'marked-current',
    'staging-deleted',
  ];
  for (const step of steps) {
    test(`killed after ${step}`, async () => {
      const path = bed.name(`crash-${step}`);
      const td = await bed.targetDir();
      const original = `orig-${path}`;
      await bed.put(path, { api_key: original, other: 'keep' });
      const policy = await bed.policy([
        { mount: 'secret', path, every: '1h', keys: { api_key: { length: 40 } }, hooks: bed.hooks(td) },
      ]);
      const crashed = await runNode([CRASH_DRIVER, policy, step], bed.env);
      assert.equal(crashed.signal, 'SIGKILL', crashed.stderr);
      const seen = events(crashed.stdout);
      assert.equal(seen.at(-1)?.step, step);
      const rotationId = seen.at(-1)!.rotationId;
      assert.equal(
        (await bed.read(path))!.version,
        ['live-written', 'marked-current', 'staging-deleted'].includes(step) ? 2 : 1,
      );

      await sleep(1100); // the crashed run's lock (TTL 1s) is now stale
      // Before the secret is marked pending no hook has run: a later due (here forced) run adopts the staged value.
      const force = step === 'lock-acquired' || step === 'staged' ? ['--force'] : [];
      const r = await cli(['rotate', 'kv', '--policy', policy, ...force, '--output', 'json', '--log-level', 'debug']);
      assert.equal(r.code, 0, r.all);
      const s = r.json().secrets[0];
      assert.equal(s.outcome, 'rotated');
      if (step !== 'lock-acquired') assert.equal(s.rotationId, rotationId, 'the same rotation resumed');
      if (step !== 'lock-acquired' && step !== 'staged') assert.equal(s.resumed, true);
      assert.match(r.stderr, /took over a stale rotation lock/);
      await assertConverged(path, td, original, 2);

      const again = await cli(['rotate', 'kv', '--policy', policy, '--output', 'json']);
      assert.equal(again.json().secrets[0].outcome, 'not-due', 'converged: nothing left to do');
    });
  }
});

describe(onServer('crash matrix without hooks'), () => {
  // No lock any more: the crash points are the last one before the live write (the value exists in memory only),
  // after the write, after the marker. A run killed between its write and its marker leaves a version without
  // vault-ops' marker; nothing tells it from a person's write, so it is a fresh version (its age counts from its
  // creation): not rotated again until due, and a forced run rotates it once more like any other version.
  for (const step of ['generated', 'live-written', 'marked-current']) {
    test(`killed after ${step}`, async () => {
      const path = bed.name(`crash-plain-${step}`);
      const original = `orig-${path}`;
      await bed.put(path, { api_key: original, other: 'keep' });
      const policy = await bed.policy([{ mount: 'secret', path, every: '1h', keys: { api_key: { length: 40 } } }]);
      const crashed = await runNode([CRASH_DRIVER, policy, step], bed.env);
      assert.equal(crashed.signal, 'SIGKILL', crashed.stderr);
      const rotationId = events(crashed.stdout).at(-1)!.rotationId;
      assert.equal(await bed.lock('secret', path), undefined, 'a hook-less rotation takes no lock');
      const custom = (await bed.meta(path))!.custom_metadata ?? {};
      assert.equal(custom['vault-ops-rotation-id'], step === 'marked-current' ? rotationId : undefined);

      // Not due: nothing is written (a new live version counts from its creation time).
      const idle = await cli(['rotate', 'kv', '--policy', policy, '--output', 'json']);
      assert.equal(idle.code, 0, idle.all);
      assert.equal(idle.json().secrets[0].outcome, 'not-due');
      assert.equal(
        (await bed.read(path))!.version,
        step === 'generated' ? 1 : 2,
        'the live secret holds the old or the new value, whole',
      );
      if (step === 'live-written') {
        const st = await cli(['rotate', 'kv', 'status', '--policy', policy, '--output', 'json']);
        assert.deepEqual(pick(st.json().secrets[0], ['currentVersion', 'lastRotatedSource', 'state']), {
          currentVersion: 2,
          lastRotatedSource: 'created',
          state: 'never',
        } as any);
      }

      // The next rotation of the secret (forced here) is a new one, on whatever version is live.
      const r = await cli(['rotate', 'kv', '--policy', policy, '--force', '--output', 'json', '--log-level', 'debug']);
      assert.equal(r.code, 0, r.all);
      assert.doesNotMatch(r.stderr, /rotation lock/);
      const s = r.json().secrets[0];
      assert.equal(s.outcome, 'rotated');
      assert.notEqual(s.rotationId, rotationId);
      await assertConverged(path, undefined, original, step === 'generated' ? 2 : 3);
      assert.equal((await bed.meta(path))!.custom_metadata?.['vault-ops-rotation-id'], s.rotationId);
    });
  }
});

describe(onServer('the real CLI killed by SIGKILL while a hook runs'), () => {
  const cases: Array<[string, Record<string, string[]>]> = [
    ['during set (before the target acted)', { killParent: ['set'] }],
    ['during set (after the target accepted)', { killParentAfter: ['set'] }],
    ['during test', { killParent: ['test'] }],
    ['after test passed', { killParentAfter: ['test'] }],
  ];
  for (const [name, control] of cases) {
    test(name, async () => {
      const path = bed.name('cli-kill');
      const td = await bed.targetDir();
      const original = `orig-${path}`;
      await bed.put(path, { api_key: original, other: 'keep' });
      const policy = await bed.policy([
        { mount: 'secret', path, every: '1h', keys: { api_key: { length: 40 } }, hooks: bed.hooks(td) },
      ]);
      await bed.control(td, control);
      const killed = await runNode(
        [ENTRY, 'rotate', 'kv', '--policy', policy, '--force', '--lock-ttl', '1s', '--log-level', 'debug'],
        bed.env,
      );
      captured.push(killed.stdout + killed.stderr);
      assert.equal(killed.signal, 'SIGKILL', killed.stderr);
      assert.equal((await bed.read(path))!.data.api_key, original, 'live unchanged by the killed run');
      const meta = (await bed.meta(path))!;
      assert.equal(meta.custom_metadata?.['vault-ops-state'], 'pending');
      const rotationId = meta.custom_metadata?.['vault-ops-rotation-id'];

      await bed.control(td, {});
      await sleep(1100);
      const r = await cli(['rotate', 'kv', '--policy', policy, '--output', 'json']);
      assert.equal(r.code, 0, r.all);
      assert.equal(r.json().secrets[0].rotationId, rotationId);
      assert.equal(r.json().secrets[0].resumed, true);
      await assertConverged(path, td, original, 2);
    });
  }
});

describe(onServer('rotate kv stopped by SIGTERM or SIGINT while a hook runs'), () => {
  /** The set hook (and the grandchild it started) and everything else started for `td` are gone. */
  function assertNoHookProcess(td: string, pids: { hook: number; grandchild: number }): void {
    assert.equal(running(pids.hook), false, 'the set hook is gone');
    assert.equal(running(pids.grandchild), false, 'the grandchild it started (ignoring SIGTERM) is gone');
    assert.deepEqual(runningWith(td), [], 'no process of the hook is left');
  }

  /** Nothing is recorded as done that is not done; the interrupt is no failed attempt; the lock is released. */
  async function assertStoppedAtSet(path: string, td: string, original: string): Promise<string> {
    const custom = (await bed.meta(path))!.custom_metadata ?? {};
    assert.equal(custom['vault-ops-state'], 'pending');
    assert.equal(custom['vault-ops-step'], 'set-started', 'set is not recorded as done');
    assert.equal(custom['vault-ops-failures'], undefined, 'an interrupt is not counted as a failed attempt');
    assert.equal(custom['vault-ops-quarantined'], undefined);
    assert.equal((await bed.read(path))!.data.api_key, original, 'live unchanged');
    assert.ok(await bed.staged('secret', path), 'the staged value is kept for the next run');
    assert.equal(
      await bed.lock('secret', path),
      undefined,
      'the lock is released: the next run need not wait for it to expire',
    );
    assert.deepEqual(bed.targetLog(td, 'secret', path), [], 'no hook step completed (test never ran)');
    return custom['vault-ops-rotation-id']!;
  }

  /** A later normal run resumes the same rotation and finishes it exactly once. */
  async function assertResumedOnce(
    path: string,
    td: string,
    original: string,
    policy: string,
    rotationId: string,
  ): Promise<void> {
    await bed.control(td, {});
    const r = await cli(['rotate', 'kv', '--policy', policy, '--output', 'json']);
    assert.equal(r.code, 0, r.all);
    assert.deepEqual(pick(r.json().secrets[0], ['outcome', 'resumed', 'rotationId']), {
      outcome: 'rotated',
      resumed: true,
      rotationId,
    } as any);
    assert.deepEqual(
      bed.targetLog(td, 'secret', path).map((l) => [l.step, l.rotationId, l.result]),
      [
        ['set', rotationId, 'ok'],
        ['test', rotationId, 'ok'],
      ],
      'set and test ran once each',
    );
    await assertConverged(path, td, original, 2);
    const again = await cli(['rotate', 'kv', '--policy', policy, '--output', 'json']);
    assert.equal(again.json().secrets[0].outcome, 'not-due', 'nothing left to do');
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(
      `the real CLI gets ${signal} mid-hook: one error line, exit 1, no hook process or grandchild left; a re-run ` +
        `finishes once`,
      async () => {
        const path = bed.name(`signal-${signal.toLowerCase()}`);
        const td = await bed.targetDir();
        const original = `orig-${path}`;
        await bed.put(path, { api_key: original, other: 'keep' });
        const policy = await bed.policy([
          {
            mount: 'secret',
            path,
            every: '1h',
            keys: { api_key: { length: 40 } },
            hooks: { ...bed.hooks(td), timeout: '10m' },
          },
        ]);
        await bed.control(td, { spawn: ['set'], delayMs: { set: 600_000 } });
        const run = startNode(
          [ENTRY, 'rotate', 'kv', '--policy', policy, '--force', '--log-level', 'warn'],
          bed.env,
          120_000,
        );
        await waitForFile(join(td, 'pids-set.json'));
        const pids = JSON.parse(readFileSync(join(td, 'pids-set.json'), 'utf8')) as {
          hook: number;
          grandchild: number;
        };
        assert.ok(running(pids.hook) && running(pids.grandchild), 'the set hook and its grandchild run');

        run.child.kill(signal);
        const out = await run.done;
        captured.push(out.stdout + out.stderr);
        assert.equal(out.signal, null, `the CLI handled ${signal} instead of dying from it`);
        assert.equal(out.code, 1, out.stderr);
        const lines = out.stderr.trim().split('\n');
        assert.equal(lines.length, 1, `one line on stderr:\n${out.stderr}`);
        assert.match(
          lines[0]!,
          new RegExp(
            `^error: rotate kv was interrupted by a signal: secret/${path} \\(at set\\) stopped at a recorded step, ` +
              `any running hook killed; run rotate kv again to resume`,
          ),
        );
        assertNoHookProcess(td, pids);
        const rotationId = await assertStoppedAtSet(path, td, original);
        await assertResumedOnce(path, td, original, policy, rotationId);
      },
    );
  }

  test('a hook that exits 0 when stopped is not recorded as done, and no later step runs', async () => {
    const path = bed.name('signal-trap');
    const td = await bed.targetDir();
    const original = `orig-${path}`;
    await bed.put(path, { api_key: original, other: 'keep' });
    const policyFile = await bed.policy([
      {
        mount: 'secret',
        path,
        every: '1h',
        keys: { api_key: { length: 40 } },
        hooks: { ...bed.hooks(td), timeout: '10m' },
      },
    ]);
    await bed.control(td, { spawn: ['set'], trapTerm: ['set'], delayMs: { set: 600_000 } });
    const policy = await loadRotationPolicy(policyFile);
    const controller = new AbortController();
    const { deps } = await libraryDeps(bed, { signal: controller.signal });
    const settings = {
      policyFile,
      stagingMount: 'vault-ops-staging',
      lockTtlMs: 60_000,
      force: true,
      holder: 'signal-test',
      secrets: policy.secrets,
      concurrency: 1,
    };
    const inFlight = runRotation(settings, deps);
    await waitForFile(join(td, 'pids-set.json'));
    const pids = JSON.parse(readFileSync(join(td, 'pids-set.json'), 'utf8')) as { hook: number; grandchild: number };
    controller.abort();
    const result = await inFlight;
    const rotationId = await assertStoppedAtSet(path, td, original);
    assertNoHookProcess(td, pids);
    const s = result.report.secrets[0]!;
    assert.deepEqual(pick(s as any, ['outcome', 'failedStep', 'rotationId']), {
      outcome: 'failed',
      failedStep: 'set',
      rotationId,
    });
    assert.equal(s.interrupted, true);
    assert.equal(result.interrupted, true);
    assert.match(
      s.reason!,
      /set hook for secret\/.* was interrupted and its process group stopped; not counted as a failed attempt: the next run resumes rotation .* from step set-started with the same staged value/,
    );
    await assertResumedOnce(path, td, original, policyFile, rotationId);
  });
});

describe(onServer('Vault restarted mid-rotation'), () => {
  test(
    'the run fails cleanly or finishes; the next run converges; live never holds a value the target ' + 'refused',
    async () => {
      const path = bed.name('restart');
      const td = await bed.targetDir();
      const original = `orig-${path}`;
      await bed.put(path, { api_key: original, other: 'keep' });
      const policy = await bed.policy([
        { mount: 'secret', path, every: '1h', keys: { api_key: { length: 40 } }, hooks: bed.hooks(td) },
      ]);
      await bed.control(td, { delayMs: { set: 2500 } });
      const running = cli([
        'rotate',
        'kv',
        '--policy',
        policy,
        '--force',
        '--lock-ttl',
        '1s',
        '--output',
        'json',
        '--request-timeout-seconds',
        '5',
      ]);
      await sleep(800);
      const node = bed.vault.nodes[0]!;
      await node.restart();
      const first = await running;
      // Vault came back sealed: the run could not finish.
      assert.equal(first.code, 1, first.all);
      assert.match(first.json().secrets[0].reason, /sealed|cannot reach|request to Vault/);
      await node.unseal();
      await sleep(1500);
      assert.equal(
        (await bed.read(path))!.data.api_key,
        original,
        'live unchanged while the rotation could not finish',
      );
      await bed.control(td, {});
      let r: CliResult | undefined;
      for (let i = 0; i < 5; i++) {
        r = await cli(['rotate', 'kv', '--policy', policy, '--output', 'json']);
        if (r.code === 0) break;
        await sleep(1000);
      }
      assert.equal(r!.code, 0, r!.all);
      assert.equal(r!.json().secrets[0].outcome, 'rotated');
      assert.equal(r!.json().secrets[0].resumed, true);
      await assertConverged(path, td, original, 2);
    },
  );
});

describe(onServer('crash output never leaks'), () => {
  test('no generated value in captured output', async () => {
    const all = captured.join('\n');
    const list = (await bed.req('LIST', 'secret/metadata/')).data.keys as string[];
    let checked = 0;
    for (const name of list) {
      for (const d of await bed.history(name)) {
        if (d.api_key && !d.api_key.startsWith('orig-')) {
          checked += 1;
          assert.ok(!all.includes(d.api_key), `${name}: a generated value appeared in output`);
        }
      }
    }
    assert.ok(checked >= 10);
  });
});
