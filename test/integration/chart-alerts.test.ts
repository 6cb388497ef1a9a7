import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { CHART, helm } from '../helpers/helm.js';
import { promtoolBinary } from '../testbed/promtool.js';

/**
 * The chart's alert rules, evaluated by Prometheus' own rule engine (`promtool test rules`) on
 * series as the Pushgateway exposes them: two releases (prod-eu, prod-us) share one Pushgateway.
 * Each release alerts for its own cluster only, per store, and a healthy store or cluster never
 * hides a stale one; a cluster whose series are gone is named by the *MetricsMissing alerts.
 */

const run = promisify(execFile);
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-alerts-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

type Rule = { alert: string; annotations: Record<string, string> };

/** The release's PrometheusRule as a Prometheus rule file, and its rules. */
async function ruleFile(release: string): Promise<{ file: string; rules: Rule[] }> {
  const r = await helm(
    ['template', release, CHART, '--namespace', 'backup', '--set', 'monitoring.prometheusRule.enabled=true'],
    { home: dir },
  );
  assert.equal(r.code, 0, r.stderr);
  const rule = parseAllDocuments(r.stdout)
    .map((d) => d.toJS())
    .find((m) => m?.kind === 'PrometheusRule');
  assert.ok(rule, 'the PrometheusRule is rendered');
  const file = join(dir, `${release}-rules.yaml`);
  await writeFile(file, stringify({ groups: rule.spec.groups }));
  return { file, rules: rule.spec.groups.flatMap((g: { rules: Rule[] }) => g.rules) };
}

/**
 * An alert's annotations as Prometheus expands them for `labels` and `value`: promtool compares them
 * too, so the test also proves each description names the cluster and store it is about.
 */
function expandAnnotations(rule: Rule, labels: Record<string, string>, value?: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(rule.annotations).map(([k, text]) => [
      k,
      text
        .replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, name: string) => labels[name] ?? '')
        .replace(/\{\{ \$value( \| humanizeDuration)? \}\}/g, () => {
          assert.ok(value !== undefined, `${rule.alert}: give the (humanized) value`);
          return value;
        }),
    ]),
  );
}

const EU = 's3://snapshots-eu/vault';
const DR = 's3://snapshots-dr/vault';
const US = 's3://snapshots-us/vault';
/** A last-success time that keeps up with the clock: the job runs (values = the sample's own time). */
const FRESH = '0+60x300';
/** A time that stopped at 0: the job stopped, the Pushgateway keeps its last value. */
const STOPPED = '0+0x300';
/** Series that vanish after an hour: deleted from the Pushgateway (or it restarted without persistence). */
const GONE = '0+60x60 _x240';

const series = (name: string, cluster: string, store: string, values: string, job = 'vault-ops-snapshot') => ({
  series: `${name}{job="${job}",instance="",vault_cluster="${cluster}",store="${store}"}`,
  values,
});

/** Both releases' series, in one Pushgateway. */
const INPUT = [
  // prod-eu: the main store is fresh, the DR store's saves stopped.
  series('vault_ops_snapshot_last_success_timestamp_seconds', 'prod-eu', EU, FRESH),
  series('vault_ops_snapshot_last_success_timestamp_seconds', 'prod-eu', DR, STOPPED),
  // prod-eu drills: the main store's passed, the DR store's failed.
  series('vault_ops_verify_passed', 'prod-eu', EU, '1+0x300', 'vault-ops-verify'),
  series('vault_ops_verify_passed', 'prod-eu', DR, '0+0x300', 'vault-ops-verify'),
  // prod-us stopped reporting altogether an hour in.
  series('vault_ops_snapshot_last_success_timestamp_seconds', 'prod-us', US, GONE),
  series('vault_ops_verify_passed', 'prod-us', US, '0+0x60 _x240', 'vault-ops-verify'),
  // Two VM daemons, scraped (not pushed), each naming its cluster: vm-a's save job keeps failing, vm-b's runs.
  daemon('vm-a', '0+1x300'),
  daemon('vm-b', '0+0x300'),
];

function daemon(cluster: string, failures: string) {
  return {
    series:
      'vault_ops_daemon_job_consecutive_failures' +
      `{job="vault-ops-daemon",instance="${cluster}:9469",vault_cluster="${cluster}",job_name="save"}`,
    values: failures,
  };
}

type Expected = { alertname: string; alerts: Array<{ labels: Record<string, string>; value?: string }> };

async function promtoolTest(release: string, expected: Expected[]): Promise<void> {
  const { file: rules, rules: defined } = await ruleFile(release);
  const rule = (name: string) => {
    const found = defined.find((r) => r.alert === name);
    assert.ok(found, `the chart defines ${name}`);
    return found;
  };
  const testFile = join(dir, `${release}-test.yaml`);
  await writeFile(
    testFile,
    stringify({
      rule_files: [rules],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: INPUT,
          alert_rule_test: expected.map((e) => ({
            eval_time: '4h',
            alertname: e.alertname,
            exp_alerts: e.alerts.map((a) => ({
              exp_labels: a.labels,
              exp_annotations: expandAnnotations(rule(e.alertname), a.labels, a.value),
            })),
          })),
        },
      ],
    }),
  );
  try {
    await run(promtoolBinary(), ['test', 'rules', testFile], { cwd: dir });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    assert.fail(`promtool test rules (${release}):\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

describe('chart alert rules under promtool test rules', () => {
  test('prod-eu: its stale store and failed drill fire, its healthy store and prod-us do not', async () => {
    await promtoolTest('prod-eu', [
      {
        alertname: 'VaultOpsSnapshotTooOld',
        // Its last success is at 0: 4 hours old at 4h.
        alerts: [{ labels: { severity: 'critical', vault_cluster: 'prod-eu', store: DR }, value: '4h 0m 0s' }],
      },
      {
        alertname: 'VaultOpsRestoreDrillFailed',
        alerts: [{ labels: { severity: 'critical', vault_cluster: 'prod-eu', store: DR } }],
      },
      // Its own series are there: nothing is missing for prod-eu, whatever prod-us does.
      { alertname: 'VaultOpsSnapshotMetricsMissing', alerts: [] },
      // The daemons' rule names the failing one's cluster; the healthy daemon does not hide it.
      {
        alertname: 'VaultOpsDaemonJobFailing',
        alerts: [{ labels: { severity: 'warning', vault_cluster: 'vm-a', job_name: 'save' }, value: '240' }],
      },
    ]);
  });

  test('prod-us: the cluster that stopped reporting is named; prod-eu does not silence it', async () => {
    await promtoolTest('prod-us', [
      {
        alertname: 'VaultOpsSnapshotMetricsMissing',
        alerts: [{ labels: { severity: 'warning', vault_cluster: 'prod-us' } }],
      },
      // Gone series are no failed drill and no stale time; prod-eu's stale store is prod-eu's release's to report.
      { alertname: 'VaultOpsSnapshotTooOld', alerts: [] },
      { alertname: 'VaultOpsRestoreDrillFailed', alerts: [] },
    ]);
  });

  test('a wrong expectation fails: promtool really evaluates the rules', async () => {
    await assert.rejects(
      promtoolTest('prod-eu', [{ alertname: 'VaultOpsSnapshotTooOld', alerts: [] }]),
      /promtool test rules \(prod-eu\)/,
    );
  });
});
