import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments, stringify } from 'yaml';
import { CHART, helm } from '../helpers/helm.js';
import { startKubernetes, type KubernetesTestbed } from '../testbed/kubernetes.js';

/**
 * The chart on every cloud: `store.url` and `stores[].url` take az:// and gs:// as well as s3://,
 * with workload identity (AKS: label + client-id annotation; GKE: the Google service account
 * annotation) or a Secret key mounted as a file (Azure account key, SAS or connection string; a GCS
 * service-account key), never a value. Rendered with helm template, then installed into a real
 * kube-apiserver, which must accept every object (also under strict field validation).
 */

type Manifest = { apiVersion: string; kind: string; metadata: any; spec?: any; [k: string]: any };

let home: string;
let kube: KubernetesTestbed;

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'vault-ops-chart-clouds-'));
  kube = await startKubernetes();
});
after(async () => {
  await kube?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

async function valuesFile(name: string, values: object): Promise<string> {
  const file = join(home, `${name}.yaml`);
  await writeFile(file, stringify(values));
  return file;
}

async function render(name: string, values: object): Promise<Manifest[]> {
  const file = await valuesFile(name, values);
  const r = await helm(
    ['template', 'vops', CHART, '--namespace', 'backup', '--set', 'fullnameOverride=vops', '-f', file],
    {
      home,
    },
  );
  assert.equal(r.code, 0, r.stderr);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

async function refusal(name: string, values: object): Promise<string> {
  const r = await helm(['template', 'vops', CHART, '-f', await valuesFile(name, values)], { home });
  assert.notEqual(r.code, 0, `${name}: refused`);
  return r.stderr;
}

const find = (ms: Manifest[], kind: string, name: string) => {
  const m = ms.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(m, `${kind}/${name} rendered`);
  return m;
};
const pod = (cj: Manifest) => cj.spec.jobTemplate.spec.template;
const env = (cj: Manifest): Record<string, any> =>
  Object.fromEntries(pod(cj).spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
const mounts = (cj: Manifest) => pod(cj).spec.containers[0].volumeMounts.map((m: any) => `${m.name}:${m.mountPath}`);
const volume = (cj: Manifest, name: string) => pod(cj).spec.volumes.find((v: any) => v.name === name);

/** The Azure account key, SAS and connection string forms: the Secret key, the file, the variable. */
const AZURE_FORMS = [
  ['azureAccountKeyKey', 'account-key', 'azure-account-key', 'VAULT_OPS_AZURE_KEY_FILE'],
  ['azureSasKey', 'sas', 'azure-sas', 'VAULT_OPS_AZURE_SAS_FILE'],
  [
    'azureConnectionStringKey',
    'connection-string',
    'azure-connection-string',
    'VAULT_OPS_AZURE_CONNECTION_STRING_FILE',
  ],
] as const;

/** Every form this file installs: release name → values. */
const INSTALLS: Record<string, object> = {
  'az-identity': {
    store: { url: 'az://snapshots/prod', azure: { account: 'vaultsnaps' } },
    workloadIdentity: { azureClientId: '11111111-2222-3333-4444-555555555555' },
  },
  ...Object.fromEntries(
    AZURE_FORMS.map(([field, key]) => [
      `az-${key}`,
      {
        store: {
          url: 'az://snapshots/prod',
          azure: field === 'azureConnectionStringKey' ? {} : { account: 'vaultsnaps' },
          credentials: { existingSecret: 'azure-store', [field]: key },
        },
      },
    ]),
  ),
  'gs-identity': {
    store: { url: 'gs://vault-snapshots/prod' },
    workloadIdentity: { gcpServiceAccount: 'vault-ops@proj.iam.gserviceaccount.com' },
  },
  'gs-key': {
    store: {
      url: 'gs://vault-snapshots/prod',
      credentials: { existingSecret: 'gcs-store', gcsServiceAccountKeyKey: 'key.json' },
    },
  },
  'three-clouds': {
    store: { url: 's3://snapshots/prod' },
    stores: [
      {
        name: 'azure-dr',
        url: 'az://dr/prod',
        azure: { account: 'drsnaps', endpoint: 'https://drsnaps.blob.core.windows.net' },
        credentials: { existingSecret: 'azure-dr', azureSasKey: 'sas' },
        prune: { enabled: true, credentials: { existingSecret: 'azure-dr-pruner', azureAccountKeyKey: 'key' } },
      },
      {
        name: 'gcs-dr',
        url: 'gs://dr-snapshots/prod',
        credentials: { existingSecret: 'gcs-dr', gcsServiceAccountKeyKey: 'key.json' },
      },
    ],
  },
};

describe('chart: az:// and gs:// stores', () => {
  test('AKS workload identity: label and client-id on the service accounts, label on the pods', async () => {
    const ms = await render('az-identity', INSTALLS['az-identity']!);
    for (const job of ['snapshot', 'verify', 'prune']) {
      const sa = find(ms, 'ServiceAccount', `vops-${job}`);
      assert.equal(sa.metadata.labels['azure.workload.identity/use'], 'true', job);
      assert.equal(
        sa.metadata.annotations['azure.workload.identity/client-id'],
        '11111111-2222-3333-4444-555555555555',
      );
      const cj = find(ms, 'CronJob', `vops-${job}`);
      assert.equal(pod(cj).metadata.labels['azure.workload.identity/use'], 'true');
      assert.equal(env(cj).VAULT_OPS_SNAPSHOT_STORE, 'az://snapshots/prod');
      assert.equal(env(cj).AZURE_STORAGE_ACCOUNT, 'vaultsnaps');
      assert.ok(!volume(cj, 'store-credentials'), 'no credentials file: the identity is the credential');
      assert.ok(!('AWS_ACCESS_KEY_ID' in env(cj)) && !('VAULT_OPS_S3_REGION' in env(cj)));
    }
    const np = find(ms, 'NetworkPolicy', 'vops-verify');
    assert.equal(np.metadata.annotations['vault-ops/store-endpoint'], 'https://vaultsnaps.blob.core.windows.net');
    assert.equal(np.metadata.annotations['vault-ops/token-endpoint'], 'https://login.microsoftonline.com');
  });

  for (const [field, key, file, variable] of AZURE_FORMS) {
    test(`Azure ${key} from a Secret: mounted as a file (${variable}), never a value`, async () => {
      const ms = await render(`az-${key}`, INSTALLS[`az-${key}`]!);
      for (const job of ['snapshot', 'verify', 'prune']) {
        const cj = find(ms, 'CronJob', `vops-${job}`);
        assert.equal(env(cj)[variable], `/etc/vault-ops/store-credentials/main/${file}`, `${job} (${field})`);
        assert.deepEqual(volume(cj, 'store-credentials').secret, {
          secretName: 'azure-store',
          defaultMode: 0o440,
          items: [{ key, path: file }],
        });
        assert.ok(mounts(cj).includes('store-credentials:/etc/vault-ops/store-credentials/main'));
        const fromSecrets = pod(cj).spec.containers[0].env.filter((e: any) => e.valueFrom?.secretKeyRef);
        assert.deepEqual(fromSecrets, [], 'the credential is a file, not in the environment');
      }
    });
  }

  test('GKE: the Google service account annotation or a key file; verify reaches the metadata server', async () => {
    const identity = await render('gs-identity', INSTALLS['gs-identity']!);
    for (const job of ['snapshot', 'verify', 'prune']) {
      const sa = find(identity, 'ServiceAccount', `vops-${job}`);
      assert.equal(sa.metadata.annotations['iam.gke.io/gcp-service-account'], 'vault-ops@proj.iam.gserviceaccount.com');
      assert.equal(sa.metadata.labels['azure.workload.identity/use'], undefined);
    }
    const np = find(identity, 'NetworkPolicy', 'vops-verify');
    assert.equal(np.metadata.annotations['vault-ops/store-endpoint'], 'https://storage.googleapis.com');
    assert.ok(
      np.spec.egress.some((e: any) => e.to[0].ipBlock?.cidr === '169.254.169.254/32'),
      'GKE metadata server',
    );

    const keyed = await render('gs-key', INSTALLS['gs-key']!);
    const verify = find(keyed, 'CronJob', 'vops-verify');
    assert.equal(
      env(verify).VAULT_OPS_GCS_CREDENTIALS_FILE,
      '/etc/vault-ops/store-credentials/main/gcs-service-account.json',
    );
    assert.deepEqual(volume(verify, 'store-credentials').secret.items, [
      { key: 'key.json', path: 'gcs-service-account.json' },
    ]);
    assert.ok(!find(keyed, 'NetworkPolicy', 'vops-verify').spec.egress.some((e: any) => e.to[0].ipBlock));
  });

  test('stores[] on three clouds: each store its own variables and files; a store prune job its own key', async () => {
    const ms = await render('three-clouds', INSTALLS['three-clouds']!);
    const snapshot = find(ms, 'CronJob', 'vops-snapshot');
    const e = env(snapshot);
    assert.equal(e.VAULT_OPS_SNAPSHOT_STORE, 's3://snapshots/prod,azure-dr=az://dr/prod,gcs-dr=gs://dr-snapshots/prod');
    assert.equal(e.VAULT_OPS_STORE_AZURE_DR_AZURE_STORAGE_ACCOUNT, 'drsnaps');
    assert.equal(e.VAULT_OPS_STORE_AZURE_DR_VAULT_OPS_AZURE_ENDPOINT, 'https://drsnaps.blob.core.windows.net');
    assert.equal(
      e.VAULT_OPS_STORE_AZURE_DR_VAULT_OPS_AZURE_SAS_FILE,
      '/etc/vault-ops/store-credentials/azure-dr/azure-sas',
    );
    assert.equal(
      e.VAULT_OPS_STORE_GCS_DR_VAULT_OPS_GCS_CREDENTIALS_FILE,
      '/etc/vault-ops/store-credentials/gcs-dr/gcs-service-account.json',
    );
    assert.ok(!('VAULT_OPS_STORE_AZURE_DR_AWS_ACCESS_KEY_ID' in e), 'no S3 keys for an Azure store');
    assert.equal(volume(snapshot, 'store-azure-dr-credentials').secret.secretName, 'azure-dr');
    assert.equal(volume(snapshot, 'store-gcs-dr-credentials').secret.secretName, 'gcs-dr');
    const prune = find(ms, 'CronJob', 'vops-prune-azure-dr');
    assert.equal(env(prune).VAULT_OPS_SNAPSHOT_STORE, 'azure-dr=az://dr/prod');
    assert.equal(
      env(prune).VAULT_OPS_STORE_AZURE_DR_VAULT_OPS_AZURE_KEY_FILE,
      '/etc/vault-ops/store-credentials/azure-dr/azure-account-key',
    );
    assert.deepEqual(volume(prune, 'store-azure-dr-credentials').secret.items, [
      { key: 'key', path: 'azure-account-key' },
    ]);
  });

  test('refusals name the accepted forms', async () => {
    assert.match(
      await refusal('ftp', { store: { url: 'ftp://snapshots/prod' } }),
      /store\.url "ftp:\/\/snapshots\/prod": expected s3:\/\/bucket\/prefix, az:\/\/container\/prefix or gs:\/\/bucket\/prefix/,
    );
    assert.match(
      await refusal('stores-http', { stores: [{ name: 'dr', url: 'https://dr.example/snapshots' }] }),
      /stores\[0\]\.url "https:\/\/dr\.example\/snapshots": expected s3:\/\/bucket\/prefix, az:\/\/container/,
    );
    assert.match(
      await refusal('az-no-account', { store: { url: 'az://snapshots/prod' } }),
      /store\.azure\.account is required for az:\/\/ .*connection string/,
    );
    assert.match(
      await refusal('az-two-forms', {
        store: {
          url: 'az://snapshots/prod',
          azure: { account: 'vaultsnaps' },
          credentials: { existingSecret: 's', azureSasKey: 'sas', azureAccountKeyKey: 'key' },
        },
      }),
      /exactly one of azureAccountKeyKey \(account key\), azureSasKey \(SAS token\) or azureConnectionStringKey/,
    );
    assert.match(
      await refusal('gs-no-key', { store: { url: 'gs://b/p', credentials: { existingSecret: 's' } } }),
      /set gcsServiceAccountKeyKey/,
    );
    // A value where a reference belongs: the schema has no place for it.
    assert.match(
      await refusal('az-value', {
        store: { url: 'az://snapshots/prod', azure: { account: 'vaultsnaps' }, credentials: { sasToken: 'sv=2024' } },
      }),
      /values don't meet the specifications of the schema/,
    );
  });

  test('installed into a real kube-apiserver: every form accepted, also under strict field validation', async () => {
    for (const [release, values] of Object.entries(INSTALLS)) {
      const file = await valuesFile(`install-${release}`, values);
      const r = await helm(['install', release, CHART, '--namespace', release, '--create-namespace', '-f', file], {
        home,
        kubeconfig: kube.kubeconfig,
      });
      assert.equal(r.code, 0, `${release}: ${r.stderr}`);
      const got = await helm(['get', 'manifest', release, '--namespace', release], {
        home,
        kubeconfig: kube.kubeconfig,
      });
      const manifests = parseAllDocuments(got.stdout)
        .map((d) => d.toJS() as Manifest | null)
        .filter((m): m is Manifest => m !== null && (m.kind === 'CronJob' || m.kind === 'ServiceAccount'));
      assert.ok(manifests.length >= 6, release);
      for (const m of manifests) {
        const path =
          m.kind === 'CronJob'
            ? `/apis/batch/v1/namespaces/${release}/cronjobs/${m.metadata.name}`
            : `/api/v1/namespaces/${release}/serviceaccounts/${m.metadata.name}`;
        const stored = (await kube.request('GET', path)).body;
        const update = { ...m, metadata: { ...m.metadata, resourceVersion: stored.metadata.resourceVersion } };
        const dry = await kube.request('PUT', `${path}?dryRun=All&fieldValidation=Strict`, update, {
          allow: [400, 422],
        });
        assert.ok(dry.status < 300, `${release} ${m.kind}/${m.metadata.name}: ${dry.body.message}`);
        if (m.kind === 'ServiceAccount') {
          for (const [k, v] of Object.entries(m.metadata.annotations ?? {}))
            assert.equal(stored.metadata.annotations?.[k], v, `${release} ${m.metadata.name}: ${k} stored`);
        } else {
          // The server kept the credential volumes as rendered.
          const vols = stored.spec.jobTemplate.spec.template.spec.volumes.filter((v: any) =>
            v.name.endsWith('credentials'),
          );
          const rendered = m.spec.jobTemplate.spec.template.spec.volumes.filter((v: any) =>
            v.name.endsWith('credentials'),
          );
          assert.deepEqual(
            vols.map((v: any) => v.secret.items),
            rendered.map((v: any) => v.secret.items),
          );
        }
      }
    }
  });
});

describe('chart: the report job', () => {
  test('off by default; on, it reports on every store and publishes to jobs.report.out', async () => {
    assert.ok(!(await render('report-default', {})).some((m) => m.metadata.name === 'vops-report'));
    const ms = await render('report', {
      store: { url: 'az://snapshots/prod', azure: { account: 'vaultsnaps' } },
      stores: [{ name: 'dr', url: 'gs://dr-snapshots/prod' }],
      workloadIdentity: { azureClientId: '11111111-2222-3333-4444-555555555555' },
      jobs: { report: { enabled: true, out: 'az://audit/vault/backups.html' } },
    });
    const cj = find(ms, 'CronJob', 'vops-report');
    assert.equal(cj.spec.schedule, '30 6 * * *');
    assert.equal(pod(cj).spec.containers[0].args.at(-1), 'report');
    assert.equal(env(cj).VAULT_OPS_SNAPSHOT_STORE, 'az://snapshots/prod,dr=gs://dr-snapshots/prod');
    assert.equal(env(cj).VAULT_OPS_REPORT_OUT, 'az://audit/vault/backups.html');
    assert.equal(env(cj).AZURE_STORAGE_ACCOUNT, 'vaultsnaps');
    assert.equal(find(ms, 'ServiceAccount', 'vops-report').metadata.labels['azure.workload.identity/use'], 'true');
    const jobs = find(ms, 'ConfigMap', 'vops-jobs');
    assert.match(jobs.data['report.yaml'], /command: report/);
    assert.match(
      await refusal('report-no-out', { jobs: { report: { enabled: true } } }),
      /jobs\.report\.out is required: the store URL the page is published to/,
    );
  });
});
