import type { TestbedImages } from './images.js';
import type { KubernetesTestbed } from './kubernetes.js';
import type { S3Testbed } from './s3.js';
import { rootRequest, type VaultTestbed } from './vault.js';
import { runCli } from '../helpers/run-cli.js';

/**
 * What docs/kubernetes.md's steps 2-4 do before `helm install`, for the testbed's servers and node:
 * Vault's token reviewer in the cluster (a ServiceAccount bound to system:auth-delegator), Kubernetes
 * auth in Vault, the canary, each job's policy and role (`vault-ops setup policies`), and in the
 * release namespace the CAs of Vault and versitygw as ConfigMaps (`vault-ca`, `s3-ca`), the S3
 * credentials and the unseal keys as Secrets (`vault-ops-s3`, `vault-ops-unseal-keys`). Used by
 * chart-pods.test.ts and `npm run testbed -- --kubernetes`. Vault and versitygw must serve TLS (the
 * pods reach them off loopback, where vault-ops refuses plaintext http).
 */
export interface ChartReleaseOptions {
  kube: KubernetesTestbed;
  vault: VaultTestbed;
  /** versitygw, for an s3:// store: its CA and credentials become a ConfigMap and a Secret. */
  s3?: S3Testbed;
  namespace: string;
  /** Arguments of `setup policies --job …` for each job whose policy and role to write. */
  jobs: string[][];
}

async function call<T>(what: string, promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (err) {
    throw new Error(`testbed chart release: ${what}: ${(err as Error).message}`);
  }
}

export async function prepareChartRelease(o: ChartReleaseOptions): Promise<void> {
  const { kube, vault, s3, namespace } = o;
  if (!vault.tls || (s3 && !s3.tls)) throw new Error('testbed chart release: start Vault and versitygw with tls');
  const api = (method: string, path: string, body?: unknown) =>
    call(`${method} ${path}`, rootRequest(vault, method, path, body));
  const admin = { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken, VAULT_CACERT: vault.tls.caFile };
  const create = (path: string, body: object) => call(`POST ${path}`, kube.request('POST', path, body));

  await kube.ensureNamespace('vault');
  await create('/api/v1/namespaces/vault/serviceaccounts', {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'vault-token-reviewer' },
  });
  await create('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'vault-token-reviewer' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
    subjects: [{ kind: 'ServiceAccount', name: 'vault-token-reviewer', namespace: 'vault' }],
  });
  const reviewerJwt = await kube.createToken('vault', 'vault-token-reviewer', { expirationSeconds: 86_400 });

  await api('POST', 'sys/auth/kubernetes', { type: 'kubernetes' });
  await api('POST', 'auth/kubernetes/config', {
    kubernetes_host: kube.url,
    kubernetes_ca_cert: kube.caPem,
    token_reviewer_jwt: reviewerJwt,
    disable_local_ca_jwt: true,
  });
  const canary = await runCli(['setup', 'canary'], admin);
  if (canary.code !== 0) throw new Error(`testbed chart release: setup canary: ${canary.all}`);
  for (const job of o.jobs) {
    const printed = await runCli([
      'setup',
      'policies',
      '--job',
      ...job,
      '--k8s-namespace',
      namespace,
      '--output',
      'json',
    ]);
    if (printed.code !== 0) throw new Error(`testbed chart release: setup policies ${job[0]}: ${printed.all}`);
    for (const p of printed.json().policies) {
      await api('POST', `sys/policies/acl/${p.name}`, { policy: p.hcl });
      await api('POST', p.kubernetesRole.path, p.kubernetesRole.params);
    }
  }

  await kube.ensureNamespace(namespace);
  const cas: Array<[string, string]> = [['vault-ca', vault.tls.caPem]];
  if (s3) cas.push(['s3-ca', s3.tls!.caPem]);
  for (const [name, pem] of cas)
    await create(`/api/v1/namespaces/${namespace}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name },
      data: { 'ca.crt': pem },
    });
  const secrets: Array<[string, Record<string, string>]> = [
    ['vault-ops-unseal-keys', { 'unseal-keys': `${vault.unsealKeys.join('\n')}\n` }],
  ];
  if (s3)
    secrets.push(['vault-ops-s3', { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey }]);
  for (const [name, stringData] of secrets)
    await call(`create Secret ${name}`, kube.createSecret(namespace, name, stringData));
}

/**
 * The chart's values for the testbed: the image imported into the node (never pulled), Vault over
 * TLS with its CA from the ConfigMap, an s3:// store on versitygw with its CA as NODE_EXTRA_CA_CERTS
 * (mounted with extraVolumes, as a user of an S3 server with a private CA does), the drill's binary
 * of the server's flavour. The testbed's CNI bridge enforces no NetworkPolicy: verify's is off.
 */
export function chartValues(o: { images: TestbedImages; vault: VaultTestbed; s3?: S3Testbed; store: string }) {
  const [repository, tag] = o.images.name.split(':') as [string, string];
  const s3 = o.s3;
  return {
    image: { repository, tag, pullPolicy: 'Never' },
    vault: {
      address: o.vault.addr,
      caCert: { configMap: 'vault-ca', key: 'ca.crt' },
      auth: { mount: 'kubernetes', audience: 'vault' },
    },
    store: {
      url: o.store,
      ...(s3
        ? {
            s3: { endpoint: s3.endpoint, region: s3.region, forcePathStyle: true },
            credentials: { existingSecret: 'vault-ops-s3' },
          }
        : {}),
    },
    extraEnv: s3 ? [{ name: 'NODE_EXTRA_CA_CERTS', value: '/etc/vault-ops/s3-ca/ca.crt' }] : [],
    extraVolumes: s3 ? [{ name: 's3-ca', configMap: { name: 's3-ca' } }] : [],
    extraVolumeMounts: s3 ? [{ name: 's3-ca', mountPath: '/etc/vault-ops/s3-ca', readOnly: true }] : [],
    jobs: {
      verify: {
        vaultBinary: `/usr/local/bin/${o.vault.server.cli}`,
        unsealKeys: { existingSecret: 'vault-ops-unseal-keys' },
        networkPolicy: { enabled: false },
      },
    },
  };
}
