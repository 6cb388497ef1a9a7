import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { findBinary } from './cached-binary.js';
import { freePorts } from './ports.js';
import { makeTempDir, startServerProcess, waitUntil, type ServerProcess } from './server-process.js';
import { makeTestCertificates, signCertificate } from './tls.js';

/**
 * A Kubernetes control plane without containers, for the Helm chart and Vault's Kubernetes auth:
 * etcd, kube-apiserver and (optionally) kube-controller-manager built from their Go modules by
 * build.sh, started on loopback with a throw-away CA, an admin client certificate
 * (O=system:masters), a service-account signing key and RBAC on. No scheduler and no kubelet here:
 * Pods are created (by the Job controller) and stay Pending, and a test plays the kubelet
 * (kubelet.ts), unless a node joins (node.ts, with `nodes: true`): it runs them for real.
 *
 * Startup, measured on 2 cores shared with other test runs: etcd and the API server ready (/readyz:
 * every post-start hook, RBAC bootstrap roles included) in 5-5.6 s; with the controller manager
 * (ready when its service-account controller has made `default/default`), started beside Vault and
 * versitygw, 6.4-10 s. (Idle: ≈ 2.5 s.) The API server takes 5-10 s to exit on SIGTERM. Every
 * request is in the audit log (level Metadata: no bodies, so no tokens). Flags that matter (design.md §5):
 * - etcd: `--unsafe-no-fsync` (a test store), loopback client and peer URLs, no metrics listener.
 * - kube-apiserver: `--advertise-address=127.0.0.1` needs `--endpoint-reconciler-type=none` (it
 *   refuses a loopback address otherwise); `--service-account-signing-key-file` is required for
 *   TokenRequest; `--api-audiences` is the default audience of a TokenRequest that names none;
 *   `--service-cluster-ip-range` only feeds Service IP allocation; default admission plugins.
 * - kube-controller-manager: `--leader-elect=false`, `--use-service-account-credentials` (each
 *   controller acts as its own service account, under the bootstrap RBAC roles, as in a cluster),
 *   `--flex-volume-plugin-dir` under the temp dir (it writes under /usr/libexec otherwise).
 * Caveat: the API server caches a successful TokenReview for 10 s, so a deleted ServiceAccount's
 * token still passes a review for up to 10 s.
 *
 * Versions: keep in step with test/testbed/build.sh.
 */
export const KUBERNETES_VERSION = '1.37.2';
export const ETCD_VERSION = '3.7.3';
/** The issuer (and the default API audience) of every service-account token. */
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

export interface KubeResponse<T = any> {
  status: number;
  body: T;
}

export interface TokenRequestOptions {
  audiences?: string[];
  expirationSeconds?: number;
  /** Bind the token to an object (a Pod, as the kubelet does for a projected token). */
  boundObjectRef?: { kind: 'Pod' | 'Secret'; apiVersion: 'v1'; name: string; uid: string };
}

/** One line of the API server's audit log (level Metadata: who did what to which object, never a body). */
export interface AuditEvent {
  verb: string;
  requestURI: string;
  user: { username: string; groups?: string[] };
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string; apiGroup?: string };
  responseStatus?: { code?: number };
  stageTimestamp: string;
}

export interface KubernetesTestbed {
  /** https://127.0.0.1:PORT */
  url: string;
  /** The cluster CA (serving certificate and client certificates). */
  caPem: string;
  caFile: string;
  /** A kubeconfig for the admin identity (helm --kubeconfig). */
  kubeconfig: string;
  version: string;
  /** Temp dir of the control plane (removed by stop()). */
  dir: string;
  /** The service-account signing key (PKCS#8 PEM), for tests that need a token the server once could have minted. */
  serviceAccountKeyPem: string;
  processes: ServerProcess[];
  /**
   * A request to the API as the admin (system:masters). Throws on a status outside 2xx unless it is in
   * `allow`; the thrown message names the request and the server's Status message. The body is parsed
   * as JSON when it is JSON, unless `text` (a pod's log, whose one line may well be a JSON object).
   */
  request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    options?: { allow?: number[]; contentType?: string; text?: boolean },
  ): Promise<KubeResponse<T>>;
  /** TokenRequest (`serviceaccounts/<name>/token`): a service-account token minted by the API server. */
  createToken(namespace: string, serviceAccount: string, options?: TokenRequestOptions): Promise<string>;
  /** An Opaque Secret `name` in `namespace` holding `stringData`. */
  createSecret(namespace: string, name: string, stringData: Record<string, string>): Promise<void>;
  /** Every request the API server has answered so far, oldest first (its audit log). */
  auditEvents(): Promise<AuditEvent[]>;
  /** Create the namespace (idempotent). */
  ensureNamespace(name: string): Promise<void>;
  /**
   * A kubeconfig file for a client certificate the cluster CA signs (CN = user, O = group): the
   * node's kubelet (system:node:NAME in system:nodes) and the scheduler (system:kube-scheduler).
   */
  clientKubeconfig(name: string, user: string, group?: string): Promise<string>;
  stop(): Promise<void>;
}

export interface StartKubernetesOptions {
  /** Also run kube-controller-manager (the Job, CronJob and garbage-collector controllers). */
  controllerManager?: boolean;
  /**
   * A node will join (test/testbed/node.ts): the controller manager also runs the node-lifecycle
   * controller, which lifts the not-ready taint a kubelet registers with once the node is Ready.
   */
  nodes?: boolean;
}

function binary(file: string, cacheDir: string, envVar: string, target: string): string {
  return findBinary({ envVar, cacheDir, file, pathNames: [file], buildTarget: target });
}

/** etcd: VAULT_OPS_ETCD_BINARY, else the build.sh cache, else PATH; throws (never skips) when none. */
export const etcdBinary = () => binary('etcd', `etcd-${ETCD_VERSION}`, 'VAULT_OPS_ETCD_BINARY', 'etcd');
/** kube-apiserver: VAULT_OPS_KUBE_APISERVER_BINARY, else the build.sh cache, else PATH. */
export const kubeApiserverBinary = () =>
  binary('kube-apiserver', `kubernetes-${KUBERNETES_VERSION}`, 'VAULT_OPS_KUBE_APISERVER_BINARY', 'kubernetes');
/** kube-controller-manager: VAULT_OPS_KUBE_CONTROLLER_MANAGER_BINARY, else the build.sh cache, else PATH. */
export const kubeControllerManagerBinary = () =>
  binary(
    'kube-controller-manager',
    `kubernetes-${KUBERNETES_VERSION}`,
    'VAULT_OPS_KUBE_CONTROLLER_MANAGER_BINARY',
    'kubernetes',
  );

/** A client certificate for the API server: CN is the user, O the group (system:masters: admin). */
function clientCertificate(dir: string, caBase: string, name: string, cn: string, org?: string) {
  return signCertificate(dir, caBase, name, `${org ? `/O=${org}` : ''}/CN=${cn}`, [
    'extendedKeyUsage=clientAuth',
    'keyUsage=digitalSignature',
  ]);
}

function kubeconfigYaml(url: string, caPem: string, certPem: string, keyPem: string): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  // JSON is YAML: no YAML writer needed.
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'testbed', cluster: { server: url, 'certificate-authority-data': b64(caPem) } }],
      users: [{ name: 'admin', user: { 'client-certificate-data': b64(certPem), 'client-key-data': b64(keyPem) } }],
      contexts: [{ name: 'testbed', context: { cluster: 'testbed', user: 'admin' } }],
      'current-context': 'testbed',
    },
    null,
    2,
  );
}

export async function startKubernetes(options: StartKubernetesOptions = {}): Promise<KubernetesTestbed> {
  const etcd = etcdBinary();
  const apiserver = kubeApiserverBinary();
  const controllerManager = options.controllerManager ? kubeControllerManagerBinary() : undefined;
  const version = execFileSync(apiserver, ['--version'], { encoding: 'utf8' }).trim();

  const dir = await makeTempDir('kubernetes');
  await chmod(dir, 0o700);
  const pki = join(dir, 'pki');
  await mkdir(pki, { mode: 0o700 });
  const tls = makeTestCertificates(pki, 'kube-apiserver');
  const caBase = join(pki, 'kube-apiserver-ca');
  const admin = clientCertificate(pki, caBase, 'admin', 'testbed-admin', 'system:masters');
  // The API server's identity towards a kubelet (logs, exec): the node's kubelet trusts the cluster CA.
  const kubeletClient = clientCertificate(
    pki,
    caBase,
    'kubelet-client',
    'kube-apiserver-kubelet-client',
    'system:masters',
  );
  const [certPem, keyPem] = await Promise.all([readFile(admin.certFile, 'utf8'), readFile(admin.keyFile, 'utf8')]);
  const saKeyFile = join(pki, 'service-account.key');
  const saPubFile = join(pki, 'service-account.pub');
  const saKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const serviceAccountKeyPem = saKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await writeFile(saKeyFile, serviceAccountKeyPem, { mode: 0o600 });
  await writeFile(saPubFile, saKey.publicKey.export({ type: 'spki', format: 'pem' }).toString());

  // Every request at level Metadata (no bodies, so no tokens): tests read who asked what.
  const auditPolicy = join(dir, 'audit-policy.yaml');
  const auditLog = join(dir, 'audit.log');
  await writeFile(
    auditPolicy,
    'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n  - level: Metadata\n',
  );

  const [etcdClient, etcdPeer, apiPort, kcmPort] = await freePorts(4);
  const url = `https://127.0.0.1:${apiPort}`;
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kubeconfigYaml(url, tls.caPem, certPem, keyPem), { mode: 0o600 });

  const processes: ServerProcess[] = [];
  const stop = async () => {
    // Reverse order: the controller manager and the API server before their store.
    for (const p of [...processes].reverse()) await p.stop();
    await rm(dir, { recursive: true, force: true });
  };

  const request = <T = any>(
    method: string,
    path: string,
    body?: unknown,
    opts: { allow?: number[]; contentType?: string; text?: boolean } = {},
  ): Promise<KubeResponse<T>> =>
    new Promise((resolve, reject) => {
      const payload =
        body === undefined
          ? undefined
          : typeof body === 'string'
            ? Buffer.from(body)
            : Buffer.from(JSON.stringify(body));
      const req = httpsRequest(
        `${url}${path}`,
        {
          method,
          ca: tls.caPem,
          cert: certPem,
          key: keyPem,
          headers: {
            Accept: 'application/json',
            ...(payload
              ? { 'Content-Type': opts.contentType ?? 'application/json', 'Content-Length': payload.length }
              : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: any = text;
            try {
              if (!opts.text) parsed = JSON.parse(text);
            } catch {
              /* /readyz answers plain text */
            }
            const status = res.statusCode ?? 0;
            if ((status < 200 || status > 299) && !opts.allow?.includes(status)) {
              const message = typeof parsed === 'object' && parsed?.message ? parsed.message : text.slice(0, 500);
              reject(new Error(`kube-apiserver: ${method} ${path} answered ${status}: ${message}`));
              return;
            }
            resolve({ status, body: parsed as T });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });

  try {
    const etcdProcess = await startServerProcess({
      name: 'etcd',
      command: etcd,
      args: [
        '--name=testbed',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=testbed=http://127.0.0.1:${etcdPeer}`,
        '--listen-metrics-urls=',
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      dir,
      keepDir: true,
    });
    processes.push(etcdProcess);
    await waitUntil('etcd', async () => (await fetch(`http://127.0.0.1:${etcdClient}/health`)).ok, {
      server: etcdProcess,
      timeoutMs: 30_000,
    });

    const apiProcess = await startServerProcess({
      name: 'kube-apiserver',
      command: apiserver,
      args: [
        `--etcd-servers=http://127.0.0.1:${etcdClient}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        '--advertise-address=127.0.0.1',
        '--endpoint-reconciler-type=none',
        `--cert-dir=${pki}`,
        `--tls-cert-file=${tls.certFile}`,
        `--tls-private-key-file=${tls.keyFile}`,
        `--client-ca-file=${tls.caFile}`,
        `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
        `--service-account-key-file=${saPubFile}`,
        `--service-account-signing-key-file=${saKeyFile}`,
        `--api-audiences=${SERVICE_ACCOUNT_ISSUER}`,
        '--authorization-mode=Node,RBAC',
        `--kubelet-client-certificate=${kubeletClient.certFile}`,
        `--kubelet-client-key=${kubeletClient.keyFile}`,
        '--kubelet-preferred-address-types=InternalIP',
        '--service-cluster-ip-range=10.96.0.0/16',
        `--audit-policy-file=${auditPolicy}`,
        `--audit-log-path=${auditLog}`,
        // Written before the response (the default for the log backend, said here since tests rely on it).
        '--audit-log-mode=blocking',
        '--profiling=false',
        '--v=1',
      ],
      dir,
      keepDir: true,
    });
    processes.push(apiProcess);
    await waitUntil(
      'kube-apiserver',
      async () => (await request('GET', '/readyz', undefined, { allow: [500, 503] })).status === 200,
      { server: apiProcess, timeoutMs: 90_000, intervalMs: 250 },
    );

    if (controllerManager) {
      const flexDir = join(dir, 'flexvolume');
      await mkdir(flexDir);
      const kcm = await startServerProcess({
        name: 'kube-controller-manager',
        command: controllerManager,
        args: [
          `--kubeconfig=${kubeconfig}`,
          '--leader-elect=false',
          '--use-service-account-credentials',
          `--service-account-private-key-file=${saKeyFile}`,
          `--root-ca-file=${tls.caFile}`,
          `--flex-volume-plugin-dir=${flexDir}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${kcmPort}`,
          `--cert-dir=${join(pki, 'kcm')}`,
          // The controllers the chart's objects need (and the service-account ones they run under).
          `--controllers=cronjob,job,garbagecollector,serviceaccount,serviceaccount-token,ttl-after-finished${
            options.nodes ? ',nodelifecycle' : ''
          }`,
          '--v=1',
        ],
        dir,
        keepDir: true,
      });
      processes.push(kcm);
      // Running and connected once its service-account controller has made the default namespace's
      // ServiceAccount (it needs its own service-account credentials and the bootstrap RBAC roles for that).
      await waitUntil(
        'kube-controller-manager',
        async () =>
          (await request('GET', '/api/v1/namespaces/default/serviceaccounts/default', undefined, { allow: [404] }))
            .status === 200,
        { server: kcm, timeoutMs: 60_000, intervalMs: 250 },
      );
    }
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }

  const ensureNamespace = async (name: string) => {
    await request(
      'POST',
      '/api/v1/namespaces',
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
      {
        allow: [409],
      },
    );
  };

  const clientKubeconfig = async (name: string, user: string, group?: string) => {
    const cert = clientCertificate(pki, caBase, name, user, group);
    const [c, k] = await Promise.all([readFile(cert.certFile, 'utf8'), readFile(cert.keyFile, 'utf8')]);
    const file = join(dir, `${name}.kubeconfig`);
    await writeFile(file, kubeconfigYaml(url, tls.caPem, c, k), { mode: 0o600 });
    return file;
  };

  return {
    url,
    caPem: tls.caPem,
    clientKubeconfig,
    caFile: tls.caFile,
    kubeconfig,
    version,
    dir,
    serviceAccountKeyPem,
    processes,
    request,
    ensureNamespace,
    async auditEvents() {
      const text = await readFile(auditLog, 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as AuditEvent);
    },
    async createSecret(namespace, name, stringData) {
      await request('POST', `/api/v1/namespaces/${namespace}/secrets`, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name },
        type: 'Opaque',
        stringData,
      });
    },
    async createToken(namespace, serviceAccount, opts = {}) {
      const r = await request<{ status: { token: string } }>(
        'POST',
        `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
        {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: {
            ...(opts.audiences ? { audiences: opts.audiences } : {}),
            ...(opts.expirationSeconds ? { expirationSeconds: opts.expirationSeconds } : {}),
            ...(opts.boundObjectRef ? { boundObjectRef: opts.boundObjectRef } : {}),
          },
        },
      );
      return r.body.status.token;
    },
    stop,
  };
}
