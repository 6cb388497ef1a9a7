import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../helpers/run-cli.js';
import { RotationBed, libraryDeps } from '../fixtures/rotation-hooks/harness.js';
import { mapInFlight } from '../../src/repository/in-flight.js';
import { runRotation } from '../../src/rotation/kv/run.js';
import { loadRotationPolicy } from '../../src/rotation/kv/policy.js';
import { onServer } from '../testbed/servers.js';

const COUNT = 1000;
let bed: RotationBed;
let policyFile: string;
const paths = Array.from({ length: COUNT }, (_, i) => `scale/app-${String(i).padStart(4, '0')}`);

before(async () => {
  bed = await RotationBed.start();
  await mapInFlight(paths, 32, (p) => bed.put(p, { password: `orig-${p}`, user: 'svc' }));
  policyFile = await bed.policy(
    paths.map((path, i) =>
      i % 2 === 0
        ? { mount: 'secret', path, every: '90d', keys: { password: { length: 32 } } }
        : { mount: 'secret', path, schedule: '0 3 * * 1', window: '3h', keys: { password: { length: 32 } } },
    ),
  );
});
after(async () => {
  await bed?.stop();
});

describe(onServer(`rotate kv with ${COUNT} secrets`), () => {
  test('plans in under 5 s', async () => {
    const started = Date.now();
    const r = await runCli(['rotate', 'kv', '--policy', policyFile, '--dry-run', '--output', 'json'], bed.env);
    const ms = Date.now() - started;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json().secrets.length, COUNT);
    assert.equal(r.json().summary.none, COUNT);
    console.log(`planned ${COUNT} secrets in ${ms} ms`);
    assert.ok(ms < 5000, `planning took ${ms} ms`);
  });

  test('rotates all with bounded concurrency', async () => {
    const policy = await loadRotationPolicy(policyFile);
    let inFlight = 0;
    let maxInFlight = 0;
    const { deps } = await libraryDeps(bed, {
      onStep(e) {
        // The first step of a rotation: hook-less ones (all here) take no lock.
        if (e.step === 'lock-acquired' || e.step === 'generated') maxInFlight = Math.max(maxInFlight, ++inFlight);
        if (e.step === 'marked-current') inFlight -= 1;
      },
    });
    const started = Date.now();
    const result = await runRotation(
      {
        policyFile,
        stagingMount: 'vault-ops-staging',
        lockTtlMs: 60_000,
        force: true,
        holder: 'scale',
        secrets: policy.secrets,
        concurrency: 8,
      },
      deps,
    );
    const ms = Date.now() - started;
    console.log(`rotated ${COUNT} secrets in ${ms} ms, at most ${maxInFlight} at once`);
    assert.equal(result.report.summary.rotated, COUNT);
    assert.ok(maxInFlight <= 8 && maxInFlight >= 2, `max in flight ${maxInFlight}`);
    const sample = await bed.read(paths[500]!);
    assert.equal(sample?.version, 2);
    assert.equal(sample?.data.user, 'svc');

    const r = await runCli(
      ['rotate', 'kv', '--policy', policyFile, '--output', 'json', '--max-rotations', '10'],
      bed.env,
    );
    assert.equal(r.code, 0);
    assert.equal(r.json().summary['not-due'], COUNT, 'nothing due right after');
  });
});
