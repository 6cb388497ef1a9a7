import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { runCliProcess, runJob, succeeded, told, verifyKeyFile } from '../helpers/chart-jobs.js';
import { CHART, helm } from '../helpers/helm.js';
import { startAzurite, type AzuriteTestbed } from '../testbed/azurite.js';
import { chartValues, prepareChartRelease } from '../testbed/chart-release.js';
import { startGcs, type GcsTestbed } from '../testbed/gcs.js';
import { testbedImages, type TestbedImages } from '../testbed/images.js';
import { startKubernetes, type KubernetesTestbed } from '../testbed/kubernetes.js';
import type { HostState, NodeNetwork } from '../testbed/node-host.js';
import { startNode, startNodeNetwork, stopNodeNetwork, type KubeNode } from '../testbed/node.js';
import { onServer, testServer } from '../testbed/servers.js';
import { startVault, type VaultTestbed } from '../testbed/vault.js';

/**
 * Issue #28's "a snapshot job writes to Azurite and to fake-gcs-server from a real pod": the chart
 * installed on the testbed's node (as chart-pods.test.ts does) with an az:// store whose account key
 * is a Secret mounted as a file, then upgraded to a gs:// store with a mounted service-account key
 * file; each time the snapshot Job's pod exits 0 and `snapshot list` shows the signed snapshot.
 * Azurite and fake-gcs-server listen on the bridge's gateway (the only host address a pod reaches).
 * Azurite serves TLS, its throw-away CA mounted from a ConfigMap as NODE_EXTRA_CA_CERTS (as for S3 in
 * chart-pods.test.ts). fake-gcs-server stays on plain http (over https the GCS client would fetch
 * OAuth tokens from Google for the key), which vault-ops refuses off loopback unless told: the gs://
 * release sets VAULT_OPS_ALLOW_INSECURE_HTTP through the chart's extraEnv.
 */

const NS = 'vault-ops';
const server = testServer();
const INSECURE = { VAULT_OPS_ALLOW_INSECURE_HTTP: 'true' };

let network: NodeNetwork;
let host: HostState;
let kube: KubernetesTestbed;
let vault: VaultTestbed;
let az: AzuriteTestbed;
let gcs: GcsTestbed;
let node: KubeNode;
let images: TestbedImages;
let dir: string;
let seq = 0;

/** The service-account key the pod reads (fake-gcs-server over http checks none; the file must be readable). */
const GCS_KEY = JSON.stringify({ type: 'service_account', project_id: 'vault-ops-test', client_email: 'x@y.z' });

const AZURITE_CA = '/etc/vault-ops/azurite-ca';

/** The chart's values for `store`, with the environment and volumes it needs on the testbed. */
function values(store: object, extra: { env: object[]; volumes?: object[]; mounts?: object[] }) {
  const base = chartValues({ images, vault, store: '' });
  return {
    ...base,
    store,
    cronJob: { backoffLimit: 0 },
    extraEnv: extra.env,
    extraVolumes: extra.volumes ?? [],
    extraVolumeMounts: extra.mounts ?? [],
  };
}

async function helmWith(verb: 'install' | 'upgrade', v: object): Promise<void> {
  const file = join(dir, `values-${++seq}.yaml`);
  await writeFile(file, stringify(v));
  const r = await helm([verb, 'vault-ops', CHART, '--namespace', NS, '-f', file], {
    home: dir,
    kubeconfig: kube.kubeconfig,
  });
  assert.equal(r.code, 0, r.stderr);
}

/** `snapshot list` of `store` from this machine, checking signatures with the chart's key. */
async function listed(store: string, env: Record<string, string>): Promise<string[]> {
  const key = await verifyKeyFile(kube, NS, dir);
  const r = await runCliProcess(
    ['snapshot', 'list', '--from', store, '--verify-key', key, '--output', 'json'],
    env,
    dir,
  );
  assert.equal(r.code, 0, r.all);
  return r.json().snapshots.map((s: any) => s.id as string);
}

function assertNoSecrets(text: string): void {
  for (const secret of [vault.rootToken, az.accountKey, ...vault.unsealKeys])
    assert.ok(!text.includes(secret), 'no token, key or credential in the pod log');
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-chart-pods-clouds-'));
  ({ host, network } = await startNodeNetwork());
  [kube, vault, az, gcs, images] = await Promise.all([
    startKubernetes({ controllerManager: true, nodes: true }),
    startVault({ host: network.gateway, tls: true }),
    startAzurite({ host: network.gateway, tls: true }),
    startGcs({ host: network.gateway }),
    testbedImages(server.name),
  ]);
  node = await startNode(kube, {
    host,
    network,
    images: [images.pauseArchive, images.archive],
    pauseImage: images.pause,
  });
  await az.createContainer('snapshots');
  await gcs.createBucket('vault-snapshots');
  await prepareChartRelease({ kube, vault, namespace: NS, jobs: [['snapshot']] });
  await kube.createSecret(NS, 'azure-store', { key: az.accountKey });
  await kube.request('POST', `/api/v1/namespaces/${NS}/configmaps`, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'azurite-ca' },
    data: { 'ca.crt': az.tls!.caPem },
  });
  await kube.createSecret(NS, 'gcs-store', { 'key.json': GCS_KEY });
});

after(async () => {
  const results = await Promise.allSettled([node ? node.stop() : host && stopNodeNetwork({ host, network })]);
  await Promise.allSettled([vault?.stop(), kube?.stop(), az?.stop(), gcs?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
  for (const r of results) if (r.status === 'rejected') throw r.reason;
});

describe(onServer('the snapshot job in a real pod writes to Azurite and fake-gcs-server'), () => {
  test('az:// over TLS with a Secret-mounted account key: the pod exits 0, snapshot list shows it', async () => {
    const store = 'az://snapshots/prod';
    await helmWith(
      'install',
      values(
        {
          url: store,
          azure: { account: az.account, endpoint: az.endpoint },
          credentials: { existingSecret: 'azure-store', azureAccountKeyKey: 'key' },
        },
        {
          env: [{ name: 'NODE_EXTRA_CA_CERTS', value: `${AZURITE_CA}/ca.crt` }],
          volumes: [{ name: 'azurite-ca', configMap: { name: 'azurite-ca' } }],
          mounts: [{ name: 'azurite-ca', mountPath: AZURITE_CA, readOnly: true }],
        },
      ),
    );
    const r = await runJob(kube, node, NS, 'vault-ops-snapshot', 'snapshot-az');
    assert.ok(succeeded(r), `the Job succeeded and the pod exited 0 (exit ${r.exitCode}):\n${told(r)}`);
    assertNoSecrets(r.log);
    const keyFile = join(dir, 'azure-key');
    await writeFile(keyFile, az.accountKey, { mode: 0o600 });
    assert.match(az.endpoint, /^https:/);
    const env = {
      NODE_EXTRA_CA_CERTS: az.tls!.caFile,
      AZURE_STORAGE_ACCOUNT: az.account,
      VAULT_OPS_AZURE_ENDPOINT: az.endpoint,
      VAULT_OPS_AZURE_KEY_FILE: keyFile,
    };
    const ids = await listed(store, env);
    assert.equal(ids.length, 1, `snapshot list shows the pod's snapshot: ${ids.join(', ')}`);
    assert.ok((await az.listKeys('snapshots', 'prod/')).includes(`prod/${ids[0]}.snap`), 'the object is in Azurite');
  });

  test('gs:// with a Secret-mounted service-account key file: the pod exits 0, snapshot list shows it', async () => {
    const store = 'gs://vault-snapshots/prod';
    await helmWith(
      'upgrade',
      values(
        {
          url: store,
          gcs: { endpoint: gcs.endpoint },
          credentials: { existingSecret: 'gcs-store', gcsServiceAccountKeyKey: 'key.json' },
        },
        { env: Object.entries(INSECURE).map(([name, value]) => ({ name, value })) },
      ),
    );
    const cj = (await kube.request('GET', `/apis/batch/v1/namespaces/${NS}/cronjobs/vault-ops-snapshot`)).body;
    const env = cj.spec.jobTemplate.spec.template.spec.containers[0].env;
    const keyFile = env.find((e: any) => e.name === 'VAULT_OPS_GCS_CREDENTIALS_FILE')?.value ?? '';
    assert.match(keyFile, /\/gcs-service-account\.json$/, 'the pod reads the mounted key file');
    const r = await runJob(kube, node, NS, 'vault-ops-snapshot', 'snapshot-gs');
    assert.ok(succeeded(r), `the Job succeeded and the pod exited 0 (exit ${r.exitCode}):\n${told(r)}`);
    assertNoSecrets(r.log);
    const ids = await listed(store, { ...INSECURE, VAULT_OPS_GCS_ENDPOINT: gcs.endpoint });
    assert.equal(ids.length, 1, `snapshot list shows the pod's snapshot: ${ids.join(', ')}`);
    assert.ok((await gcs.listKeys('vault-snapshots', 'prod/')).includes(`prod/${ids[0]}.snap`));
  });
});
