import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { chartValues, prepareChartRelease } from '../testbed/chart-release.js';
import { testbedImages, type TestbedImages } from '../testbed/images.js';
import { startKubernetes, type KubernetesTestbed } from '../testbed/kubernetes.js';
import type { HostState, NodeNetwork } from '../testbed/node-host.js';
import { startNode, startNodeNetwork, stopNodeNetwork, type KubeNode } from '../testbed/node.js';
import { startS3, type S3Testbed } from '../testbed/s3.js';
import { onServer, testServer } from '../testbed/servers.js';
import { startVault, type VaultTestbed, rootRequest } from '../testbed/vault.js';
import { CHART, helm } from '../helpers/helm.js';
import {
  type JobRun,
  runCliProcess,
  runJob as runJobOnNode,
  succeeded,
  told,
  verifyKeyFile,
} from '../helpers/chart-jobs.js';
import { startPushRecorder, type PushRecorder } from '../helpers/push-recorder.js';

/**
 * The chart's jobs as real pods: the image built from the repository's Dockerfile (image.sh), a
 * node (containerd + runc, kubelet and kube-scheduler v1.37, a CNI bridge: testbed/node.ts) joined
 * to the testbed's control plane, the chart installed with `helm install`. Each job is triggered as
 * `kubectl create job --from=cronjob/…` does; the kubelet mounts the projected token (TokenRequest,
 * as the Node authorizer allows it), the Secrets and the ConfigMap, containerd runs the container as
 * the chart's securityContext says (checked in the OCI spec containerd gave runc), and the Job
 * controller records the outcome. Vault (OpenBao or Vault) and versitygw listen on the bridge's
 * gateway, the only host address a pod reaches.
 */

const NS = 'vault-ops';
const BUCKET = 'vault-snapshots';
const STORE = `s3://${BUCKET}/prod`;
const ROTATED = { mount: 'secret', path: 'app/db', every: '5s', keys: { password: { length: 32 } } };
const server = testServer();

let network: NodeNetwork;
let host: HostState;
let kube: KubernetesTestbed;
let vault: VaultTestbed;
let s3: S3Testbed;
let node: KubeNode;
let images: TestbedImages;
let dir: string;
let pushes: PushRecorder;
let seq = 0;

const api = (method: string, path: string, body?: unknown) => rootRequest(vault, method, path, body);
const h = (args: string[]) => helm(args, { home: dir, kubeconfig: kube.kubeconfig });

function values(overrides: { vaultAddress?: string; snapshotRole?: string } = {}) {
  const base = chartValues({ images, vault, s3, store: STORE });
  return {
    ...base,
    vault: { ...base.vault, address: overrides.vaultAddress ?? vault.addr },
    // One pod per Job: a failure is the Job's failure at once.
    cronJob: { backoffLimit: 0 },
    metrics: { pushgateway: pushes.url },
    jobs: {
      ...base.jobs,
      snapshot: { vaultRole: overrides.snapshotRole ?? 'vault-ops-snapshot' },
      rotateKv: { enabled: true, secrets: [ROTATED] },
      prune: { options: { keepLast: 1, keepHourly: 0, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 } },
    },
  };
}

async function helmWith(verb: 'install' | 'upgrade', v: ReturnType<typeof values>): Promise<void> {
  const file = join(dir, `values-${++seq}.yaml`);
  await writeFile(file, stringify(v));
  const r = await h([verb, 'vault-ops', CHART, '--namespace', NS, '-f', file]);
  assert.equal(r.code, 0, r.stderr);
}

const runJob = (cronJob: string, name: string, timeoutMs?: number) =>
  runJobOnNode(kube, node, NS, cronJob, name, timeoutMs);

/**
 * The job's one error line (what failed, what to do) names the cause, and it is the log's only
 * error line: the daemon's `--once` adds no closing line of its own for a job that said why it failed.
 */
function assertFailedOnce(r: JobRun, cause: RegExp): void {
  const errors = r.log.split('\n').filter((l) => l.startsWith('error: '));
  assert.equal(errors.length, 1, r.log);
  assert.match(errors[0]!, cause);
}

/** The body of the last push that has a metric starting with `prefix`. */
function lastPush(prefix: string): string {
  const push = pushes.pushes.findLast((p) => p.body.includes(prefix));
  assert.ok(push, `a push with ${prefix}* metrics: ${pushes.pushes.map((p) => p.path).join(', ')}`);
  return push.body;
}

/** The pod's stdout JSON document (the job's result, printed indented), found among the log lines. */
function resultOf(r: JobRun): any {
  const lines = r.log.split('\n');
  const end = lines.lastIndexOf('}');
  const start = lines.lastIndexOf('{', end);
  assert.ok(start >= 0 && end > start, `a JSON result in the log:\n${r.log}`);
  // The kubelet interleaves stderr's log lines (one JSON object each) with stdout's lines as they come.
  const block = lines.slice(start, end + 1).filter((l) => !l.startsWith('{"level":'));
  try {
    return JSON.parse(block.join('\n'));
  } catch (err) {
    assert.fail(`the job's JSON result does not parse (${(err as Error).message}):\n${r.log}`);
  }
}

function assertNoSecrets(text: string): void {
  for (const secret of [vault.rootToken, s3.secretAccessKey, ...vault.unsealKeys])
    assert.ok(!text.includes(secret), 'no token, key or credential in the pod log');
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-chart-pods-'));
  const started = Date.now();
  ({ host, network } = await startNodeNetwork());
  [kube, vault, s3, images] = await Promise.all([
    startKubernetes({ controllerManager: true, nodes: true }),
    startVault({ host: network.gateway, tls: true }),
    startS3({ host: network.gateway, tls: true }),
    testbedImages(server.name),
  ]);
  node = await startNode(kube, {
    host,
    network,
    images: [images.pauseArchive, images.archive],
    pauseImage: images.pause,
  });
  console.log(
    `testbed: ${vault.version}; ${kube.version}; node ${node.versions.kubelet}, ${node.versions.containerd}, ` +
      `${node.versions.runc}; image ${images.name}; pods' gateway ${network.gateway} ` +
      `(ready in ${Date.now() - started} ms)`,
  );
  await s3.createBucket(BUCKET);
  pushes = await startPushRecorder(network.gateway);

  await api('POST', 'sys/mounts/secret', { type: 'kv', options: { version: '2' } });
  await api('POST', `secret/data/${ROTATED.path}`, { data: { password: 'the-first-password', user: 'app' } });
  const rotationPolicy = join(dir, 'rotation.yaml');
  await writeFile(rotationPolicy, stringify({ secrets: [ROTATED] }));
  // docs/kubernetes.md steps 2-4: the token reviewer, Kubernetes auth, policies and roles, the CAs and Secrets.
  await prepareChartRelease({
    kube,
    vault,
    s3,
    namespace: NS,
    jobs: [['snapshot'], ['rotate-kv', '--policy', rotationPolicy]],
  });
  await helmWith('install', values());
});

after(async () => {
  // The node first (its pods, containerd, mounts, the bridge, sysctls), then the servers.
  const results = await Promise.allSettled([node ? node.stop() : host && stopNodeNetwork({ host, network })]);
  await Promise.allSettled([vault?.stop(), kube?.stop(), s3?.stop(), pushes?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
  for (const r of results) if (r.status === 'rejected') throw r.reason;
});

const storeEnv = () => s3.cliEnv();

async function snapshotIds(): Promise<string[]> {
  const r = await runCliProcess(
    ['snapshot', 'list', '--from', STORE, '--verify-key', await verifyKeyFile(kube, NS, dir), '--output', 'json'],
    storeEnv(),
    dir,
  );
  assert.equal(r.code, 0, r.all);
  const listed = r.json();
  return (Array.isArray(listed) ? listed : listed.snapshots).map((s: any) => s.id);
}

describe(onServer("the chart's jobs run as pods on a real node (containerd, runc, kubelet)"), () => {
  let firstSnapshot = '';

  test('snapshot: uid 10001, read-only root, projected token via TokenReview, a signed snapshot in S3', async () => {
    const r = await runJob('vault-ops-snapshot', 'snapshot-1');
    assert.ok(succeeded(r), `the Job succeeded and the pod exited 0 (exit ${r.exitCode}):\n${told(r)}`);
    assertNoSecrets(r.log);
    const spec = await node.containerSpec(r.pod.status.containerStatuses[0].containerID);
    assert.equal(spec.process.user.uid, 10001, 'runc ran the process as uid 10001');
    assert.equal(spec.process.user.gid, 10001);
    assert.equal(spec.root.readonly, true, 'on a read-only root filesystem');
    assert.equal(spec.process.noNewPrivileges, true);
    assert.deepEqual(spec.process.capabilities.bounding ?? [], [], 'no capabilities');
    assert.ok(spec.linux.seccomp, 'under the runtime default seccomp profile');
    // Under the node's own cgroup root, where no other node's kubelet reaps it as an orphan (node-host.ts).
    assert.match(spec.linux.cgroupsPath, /^\/vault-ops-node-[^/]+\/kubepods\//, 'in the node’s own cgroup root');
    const token = spec.mounts.find((m: any) => m.destination === '/var/run/secrets/vault-ops');
    assert.ok(token, 'the projected token volume is mounted');
    const reviews = (await kube.auditEvents()).filter(
      (e) => e.objectRef?.resource === 'tokenreviews' && e.user.username.endsWith(':vault-token-reviewer'),
    );
    assert.ok(reviews.length >= 1, 'Vault checked the pod token with a TokenReview');
    const ids = await snapshotIds();
    assert.equal(ids.length, 1, `snapshot list shows the snapshot: ${ids.join(', ')}`);
    assert.match(
      lastPush('vault_ops_snapshot_'),
      /^vault_ops_snapshot_last_success_timestamp_seconds(\{[^}]*\})? \d/m,
      'metrics pushed',
    );
    firstSnapshot = ids[0]!;
  });

  test('verify: the recovery-mode drill runs inside the pod and records a passing drill', async () => {
    const r = await runJob('vault-ops-verify', 'verify-1', 300_000);
    assert.ok(succeeded(r), `the Job succeeded (exit ${r.exitCode}):\n${told(r)}`);
    assertNoSecrets(r.log);
    const drill = resultOf(r);
    assert.equal(drill.passed, true, r.log);
    assert.equal(drill.mode, 'recovery');
    assert.equal(drill.snapshotId, firstSnapshot);
    const records = (await s3.listKeys(BUCKET, 'prod/')).filter((k) => k.includes('drill'));
    assert.ok(records.length >= 1, `a drill record in the store: ${records.join(', ')}`);
  });

  test('prune: a second snapshot, then the prune job keeps the last one only', async () => {
    const second = await runJob('vault-ops-snapshot', 'snapshot-2');
    assert.ok(succeeded(second), `the Job succeeded (exit ${second.exitCode}):\n${told(second)}`);
    assert.equal((await snapshotIds()).length, 2);
    const r = await runJob('vault-ops-prune', 'prune-1');
    assert.ok(succeeded(r), `the Job succeeded (exit ${r.exitCode}):\n${told(r)}`);
    const left = await snapshotIds();
    assert.equal(left.length, 1, `one snapshot left: ${left.join(', ')}`);
    assert.notEqual(left[0], firstSnapshot, 'the older one was pruned');
  });

  test('rotate-kv: the job rotates the secret with its own role', async () => {
    const r = await runJob('vault-ops-rotate-kv', 'rotate-1');
    assert.ok(succeeded(r), `the Job succeeded (exit ${r.exitCode}):\n${told(r)}`);
    const secret = (await api('GET', `secret/data/${ROTATED.path}`)).body;
    assert.notEqual(secret.data.data.password, 'the-first-password', 'rotated');
    assert.equal(secret.data.data.user, 'app', 'other keys kept');
    assert.ok(!r.log.includes(secret.data.data.password), 'the new value never appears');
  });

  test('a wrong role, then Vault unreachable: the Job fails, exit 1, the cause in log and metrics', async () => {
    const pushed = pushes.pushes.length;
    await helmWith('upgrade', values({ snapshotRole: 'no-such-role' }));
    const wrong = await runJob('vault-ops-snapshot', 'snapshot-wrong-role');
    assert.equal(wrong.exitCode, 1, told(wrong));
    // A non-zero exit comes explained: the container's terminated state and the node's lines about the pod.
    assert.match(wrong.ended, /"terminated":\{[^}]*"exitCode":1/, wrong.ended);
    assert.match(wrong.ended, /^--- kubelet \([1-9]\d* lines\) ---$/m, wrong.ended);
    assert.equal(wrong.job.status.failed, 1, 'the Job failed');
    assertFailedOnce(wrong, /^error: Kubernetes login to auth\/kubernetes failed: .*invalid role name "no-such-role"/);

    // An address where nothing listens (a port of the gateway that was free a moment ago).
    const closed = `https://${network.gateway}:9`;
    await helmWith('upgrade', values({ vaultAddress: closed }));
    const unreachable = await runJob('vault-ops-snapshot', 'snapshot-unreachable');
    assert.equal(unreachable.exitCode, 1, told(unreachable));
    assert.equal(unreachable.job.status.failed, 1);
    assertFailedOnce(unreachable, new RegExp(`^error: .*${closed.replace('https://', '').replace(/\./g, '\\.')}`));
    assertNoSecrets(wrong.log + unreachable.log);
    // Each failed run pushed its failure (and no success) to the Pushgateway: the metrics say so.
    const failures = pushes.pushes
      .slice(pushed)
      .filter((p) => /^vault_ops_snapshot_last_failure_timestamp_seconds(\{[^}]*\})? \d/m.test(p.body));
    assert.equal(
      failures.length,
      2,
      `both failed runs pushed their failure: ${JSON.stringify(pushes.pushes.slice(pushed))}`,
    );
    for (const p of failures) assert.doesNotMatch(p.body, /^vault_ops_snapshot_last_success_timestamp_seconds/m);
    assertNoSecrets(pushes.pushes.map((p) => p.body).join('\n'));
  });

  test('helm upgrade, then helm uninstall: no CronJob, Job, Pod, ServiceAccount or release Secret left', async () => {
    await helmWith('upgrade', values());
    const cj = (await kube.request('GET', `/apis/batch/v1/namespaces/${NS}/cronjobs/vault-ops-snapshot`)).body;
    const env = cj.spec.jobTemplate.spec.template.spec.containers[0].env;
    assert.equal(env.find((e: any) => e.name === 'VAULT_ADDR').value, vault.addr, 'the upgrade took');
    const r = await h(['uninstall', 'vault-ops', '--namespace', NS, '--wait', '--timeout', '2m']);
    assert.equal(r.code, 0, r.stderr);
    const left = async (path: string): Promise<string[]> =>
      (await kube.request('GET', `/${path}`)).body.items.map((i: any) => i.metadata.name as string);
    // The Jobs are the CronJobs' (ownerReferences): the garbage collector takes them and their Pods.
    for (const deadline = Date.now() + 60_000; ; await sleep(500)) {
      const jobs = await left(`apis/batch/v1/namespaces/${NS}/jobs`);
      const pods = await left(`api/v1/namespaces/${NS}/pods`);
      if (jobs.length + pods.length === 0) break;
      assert.ok(Date.now() < deadline, `Jobs ${jobs} and Pods ${pods} gone within 60 s of helm uninstall`);
    }
    assert.deepEqual(await left(`apis/batch/v1/namespaces/${NS}/cronjobs`), []);
    assert.deepEqual(
      (await left(`api/v1/namespaces/${NS}/configmaps`)).sort(),
      ['s3-ca', 'vault-ca'],
      "the user's own",
    );
    assert.deepEqual(
      (await left(`api/v1/namespaces/${NS}/serviceaccounts`)).filter((n) => n !== 'default'),
      [],
      'the jobs’ ServiceAccounts are gone',
    );
    // Left: the user's own Secrets, and the signing key the chart keeps on purpose (resource-policy keep).
    assert.deepEqual((await left(`api/v1/namespaces/${NS}/secrets`)).sort(), [
      'vault-ops-s3',
      'vault-ops-signing',
      'vault-ops-unseal-keys',
    ]);
  });
});
