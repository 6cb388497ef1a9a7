import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { VaultOpsError } from '../errors.js';
import { definitionHash } from './definition-hash.js';
import { readJournal, latestCampaign } from './journal.js';
import type { RunOptions } from './report.js';
import { runRunbook } from './run.js';
import type { Confirmer, Runbook, RunbookStep } from './types.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'runbook-test-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

interface World {
  actions: string[];
  failVerify: Set<string>;
  failAction: Set<string>;
}

function step(id: string, extra: Partial<RunbookStep<World>> = {}): RunbookStep<World> {
  return {
    id,
    title: `Step ${id}`,
    description: `does ${id}`,
    mutates: true,
    rerunnable: true,
    async inspect() {
      return { lines: [`would do ${id}`], facts: { seen: id } };
    },
    async action(ctx) {
      if (ctx.deps.failAction.has(id)) throw new VaultOpsError('vault-request', `${id} failed`);
      ctx.deps.actions.push(id);
      return { summary: `${id} done`, facts: { did: id } };
    },
    async verify(ctx) {
      if (ctx.deps.failVerify.has(id)) throw new VaultOpsError('verification', `${id} not verified`);
      return { summary: 'verified' };
    },
    ...extra,
  };
}

function book(
  steps: RunbookStep<World>[] = [step('a'), step('b', { gate: { automatable: true } }), step('c')],
): Runbook<World> {
  return { name: 'demo', version: 1, steps };
}

let counter = 0;
function options(overrides: Partial<RunOptions<World>> = {}): RunOptions<World> {
  counter++;
  return {
    runbook: book(),
    deps: { actions: [], failVerify: new Set(), failAction: new Set() },
    journalPath: join(dir, `journal-${counter}.jsonl`),
    parameters: { target: 't1' },
    identityKeys: ['target'],
    dryRun: false,
    resume: false,
    yes: true,
    confirm: async () => true,
    actor: { user: 'tester' },
    ...overrides,
  };
}

const notInteractive: Confirmer = async (req) => {
  throw new VaultOpsError('confirmation', `needs ${req.phrase}`);
};

test('a run journals every step and completes', async () => {
  const o = options();
  const report = await runRunbook(o);
  assert.equal(report.result, 'completed');
  assert.deepEqual(o.deps.actions, ['a', 'b', 'c']);
  const records = await readJournal(o.journalPath);
  assert.deepEqual(
    records.map((r) => r.event),
    [
      'run-started',
      'step-started',
      'action-started',
      'step-completed',
      'step-started',
      'gate',
      'action-started',
      'step-completed',
      'step-started',
      'action-started',
      'step-completed',
      'run-finished',
    ],
  );
  assert.ok(records.every((r) => r.actor.user === 'tester' && r.time && r.run === report.runId));
  const gate = records.find((r) => r.event === 'gate');
  assert.equal(gate?.event === 'gate' && gate.outcome, 'confirmed-by-flag');
  assert.deepEqual(report.facts.a, { seen: 'a', did: 'a' });
});

test('dry run inspects every step, acts on nothing and writes no journal', async () => {
  const o = options({ dryRun: true });
  const report = await runRunbook(o);
  assert.equal(report.result, 'planned');
  assert.deepEqual(o.deps.actions, []);
  assert.deepEqual(
    report.steps.map((s) => s.status),
    ['planned', 'planned', 'planned'],
  );
  assert.deepEqual(report.steps[1]?.plan, ['would do b']);
  assert.equal(report.steps[1]?.gate?.automatable, true);
  assert.deepEqual(await readJournal(o.journalPath), []);
});

test(
  'a gate without --yes in a non-interactive run stops with a confirmation error, and --resume ' + 'continues',
  async () => {
    const o = options({ yes: false, confirm: notInteractive });
    const report = await runRunbook(o);
    assert.equal(report.result, 'needs-confirmation');
    assert.equal(report.error?.code, 'confirmation');
    assert.equal(report.error?.exitCode, 4);
    assert.match(report.error?.message ?? '', /step b needs a typed confirmation/);
    assert.deepEqual(o.deps.actions, ['a']);
    const resumed = await runRunbook({ ...o, resume: true, yes: true });
    assert.equal(resumed.result, 'completed');
    assert.deepEqual(o.deps.actions, ['a', 'b', 'c']);
    assert.deepEqual(
      resumed.steps.map((s) => s.status),
      ['already-done', 'completed', 'completed'],
    );
  },
);

test('--yes does not pass a gate that is not automatable', async () => {
  const o = options({
    runbook: book([step('a', { gate: { automatable: false } })]),
    yes: true,
    confirm: notInteractive,
  });
  const report = await runRunbook(o);
  assert.equal(report.result, 'needs-confirmation');
  assert.match(report.error?.message ?? '', /--yes does not apply/);
  assert.deepEqual(o.deps.actions, []);
});

test('a refused confirmation exits 4 and changes nothing', async () => {
  const o = options({ yes: false, confirm: async () => false });
  const report = await runRunbook(o);
  assert.equal(report.result, 'refused');
  assert.equal(report.error?.exitCode, 4);
  assert.deepEqual(o.deps.actions, ['a']);
});

test('resume refuses when the runbook definition changed since', async () => {
  const o = options({ yes: false, confirm: notInteractive });
  await runRunbook(o);
  const changed = book([
    step('a'),
    step('b', { gate: { automatable: true }, description: 'does b differently' }),
    step('c'),
  ]);
  assert.notEqual(definitionHash(changed as Runbook<unknown>), definitionHash(book() as Runbook<unknown>));
  await assert.rejects(
    runRunbook({ ...o, runbook: changed, resume: true, yes: true }),
    (err: VaultOpsError) => err.code === 'config' && /runbook changed/.test(err.message),
  );
});

test('resume refuses other identity parameters, and when there is nothing to resume', async () => {
  const o = options({ yes: false, confirm: notInteractive });
  await assert.rejects(runRunbook({ ...o, resume: true }), /nothing to resume/);
  await runRunbook(o);
  await assert.rejects(runRunbook({ ...o, resume: true, parameters: { target: 't2' } }), /was for target="t1"/);
  const done = await runRunbook({ ...o, resume: true, yes: true });
  assert.equal(done.result, 'completed');
  await assert.rejects(runRunbook({ ...o, resume: true }), /completed; start a new run/);
});

test('a simulated kill after each step, then resume: every action runs exactly once', async () => {
  for (const killAfter of ['a', 'b', 'c']) {
    const o = options();
    await assert.rejects(
      runRunbook({
        ...o,
        hooks: {
          afterStep(id) {
            if (id === killAfter) throw new Error('killed');
          },
        },
      }),
      /killed/,
    );
    const records = await readJournal(o.journalPath);
    assert.equal(records.at(-1)?.event, 'step-completed');
    if (killAfter === 'c') {
      // Every step done but the run never finished: resume just closes it.
      const resumed = await runRunbook({ ...o, resume: true });
      assert.equal(resumed.result, 'completed');
    } else {
      await runRunbook({ ...o, resume: true });
    }
    assert.deepEqual(o.deps.actions, ['a', 'b', 'c'], `killed after ${killAfter}`);
  }
});

test('an unfinished run that passed a gate refuses a fresh start without --resume', async () => {
  const o = options();
  await assert.rejects(
    runRunbook({
      ...o,
      hooks: {
        afterStep: (id) => {
          if (id === 'b') throw new Error('killed');
        },
      },
    }),
    /killed/,
  );
  await assert.rejects(
    runRunbook(o),
    (err: VaultOpsError) => err.code === 'usage' && /continue it with --resume/.test(err.message),
  );
});

test(
  'an interrupted step whose verification passes is not repeated; a failing one re-runs only if ' + 'allowed',
  async () => {
    // Kill in the middle of b's action: journal holds action-started without completion.
    const o = options({ runbook: book([step('a'), step('b', { rerunnable: false })]) });
    const mid = { ...o, hooks: {} } as RunOptions<World>;
    mid.runbook = book([
      step('a'),
      step('b', {
        rerunnable: false,
        async action(ctx) {
          ctx.deps.actions.push('b');
          throw new Error('killed mid-action');
        },
      }),
    ]);
    // The hash must stay the same: only the action differs.
    const report = await runRunbook(mid);
    assert.equal(report.result, 'failed');
    const campaign = latestCampaign(await readJournal(o.journalPath), 'demo');
    assert.ok(campaign?.interrupted.has('b'));
    const resumed = await runRunbook({ ...o, resume: true });
    assert.equal(resumed.result, 'completed');
    assert.equal(resumed.steps[1]?.status, 'recovered');
    assert.deepEqual(o.deps.actions, ['a', 'b'], 'b ran once');

    const o2 = options({
      runbook: book([
        step('x', {
          rerunnable: false,
          async action() {
            throw new Error('boom');
          },
        }),
      ]),
    });
    await runRunbook(o2);
    o2.deps.failVerify.add('x');
    const r2 = await runRunbook({ ...o2, resume: true, runbook: book([step('x', { rerunnable: false })]) });
    assert.equal(r2.result, 'failed');
    assert.match(r2.error?.message ?? '', /interrupted by an earlier run and its verification now fails/);
    assert.deepEqual(o2.deps.actions, []);
  },
);

test('a failure that certainly changed nothing is retried as if never started', async () => {
  const b = step('b', { rerunnable: false, failureLeavesStateUnchanged: () => true });
  const o = options({ runbook: book([b]) });
  o.deps.failAction.add('b');
  const r1 = await runRunbook(o);
  assert.equal(r1.result, 'failed');
  o.deps.failAction.delete('b');
  o.deps.failVerify.add('b'); // verify would fail before the action: it must not be consulted
  const campaign = latestCampaign(await readJournal(o.journalPath), 'demo');
  assert.equal(campaign?.interrupted.has('b'), false);
  o.deps.failVerify.delete('b');
  const r2 = await runRunbook({ ...o, resume: true });
  assert.equal(r2.result, 'completed');
  assert.deepEqual(o.deps.actions, ['b']);
});

test('a skipped step is journaled with its reason and counts as done', async () => {
  const o = options({
    runbook: book([
      step('a', {
        async inspect() {
          return { lines: [], skip: 'not on this path' };
        },
      }),
      step('b'),
    ]),
  });
  const report = await runRunbook(o);
  assert.deepEqual(
    report.steps.map((s) => s.status),
    ['skipped', 'completed'],
  );
  const skipped = (await readJournal(o.journalPath)).find((r) => r.event === 'step-skipped');
  assert.equal(skipped?.event === 'step-skipped' && skipped.reason, 'not on this path');
});

test('journal lines are scrubbed and a torn last line is tolerated', async () => {
  const o = options({
    scrub: (s) => s.split('hunter22').join('[REDACTED]'),
    runbook: book([
      step('a', {
        async action() {
          return { summary: 'used hunter22 by mistake' };
        },
      }),
    ]),
  });
  await runRunbook(o);
  const text = await readFile(o.journalPath, 'utf8');
  assert.ok(!text.includes('hunter22'));
  assert.ok(text.includes('[REDACTED]'));
  await appendFile(o.journalPath, '{"v":1,"ev');
  assert.ok((await readJournal(o.journalPath)).length > 0);
});

test('a kill after a skipped step leaves the skip journaled and nothing else', async () => {
  const o = options({
    runbook: book([
      step('a', {
        async inspect() {
          return { lines: [], skip: 'n/a' };
        },
      }),
      step('b'),
    ]),
  });
  await assert.rejects(
    runRunbook({
      ...o,
      hooks: {
        afterStep: (id) => {
          if (id === 'a') throw new Error('killed');
        },
      },
    }),
    /killed/,
  );
  const records = await readJournal(o.journalPath);
  assert.equal(records.at(-1)?.event, 'step-skipped');
  const resumed = await runRunbook({ ...o, resume: true });
  // The step the earlier run skipped is reported as skipped, not as done.
  assert.deepEqual(
    resumed.steps.map((s) => s.status),
    ['skipped', 'completed'],
  );
  assert.match(resumed.steps[0]?.summary ?? '', /^skipped by an earlier run/);
});

test('a step at its gate is "needs-confirmation", one stopped by Ctrl-C "interrupted": never "failed"', async () => {
  const waiting = await runRunbook(options({ yes: false, confirm: notInteractive }));
  assert.deepEqual(
    waiting.steps.map((s) => s.status),
    ['completed', 'needs-confirmation', 'not-run'],
  );
  const o = options({
    yes: false,
    confirm: async () => {
      throw new VaultOpsError('aborted', 'prompt interrupted (Ctrl-C): nothing was changed');
    },
  });
  const report = await runRunbook(o);
  assert.equal(report.result, 'interrupted');
  assert.equal(report.steps[1]?.status, 'interrupted');
  assert.equal(report.error?.exitCode, 4);
  assert.match(
    report.error?.message ?? '',
    /interrupted \(Ctrl-C\) at the confirmation of step b: nothing of this step happened; done and journaled: a;/,
  );
  assert.deepEqual(o.deps.actions, ['a']);
  const gate = (await readJournal(o.journalPath)).find((r) => r.event === 'gate');
  assert.ok(gate?.event === 'gate' && gate.outcome === 'interrupted');
});

test('a signal stops the run before the next step and says what is done', async () => {
  const controller = new AbortController();
  const o = options({ signal: controller.signal, hooks: { afterStep: () => controller.abort() } });
  const report = await runRunbook(o);
  assert.equal(report.result, 'interrupted');
  assert.equal(report.error?.code, 'aborted');
  assert.match(report.error?.message ?? '', /before step b: nothing of it happened; done and journaled: a/);
  assert.deepEqual(o.deps.actions, ['a']);
});
