import { createPrivateKey } from 'node:crypto';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { parseRotationPolicy } from '../../src/rotation/kv/policy.js';
import { loadJobFile, parseJobDefinition } from '../../src/scheduler/job-definition.js';

/**
 * The Helm chart, checked with the real helm: lint and template with the default values and with
 * every value set; the rendered manifests are parsed and asserted on (pod security, schedules,
 * token projection, credentials only by reference, the verify pod's network isolation, and the
 * job definitions being the same as jobs/*.yaml).
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const chart = join(root, 'charts', 'vault-ops');
const HELM_VERSION = '3.21.4';

/** VAULT_OPS_HELM_BINARY, else the build.sh cache, else helm on PATH; never skips. */
function helmBinary(): string {
  const fromEnv = process.env.VAULT_OPS_HELM_BINARY;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`VAULT_OPS_HELM_BINARY=${fromEnv} does not exist`);
    return fromEnv;
  }
  const cached = join(
    process.env.VAULT_OPS_CACHE ?? join(homedir(), '.cache', 'vault-ops'),
    `helm-${HELM_VERSION}`,
    'helm',
  );
  if (existsSync(cached)) return cached;
  try {
    const found = execFileSync('sh', ['-c', 'command -v helm'], { encoding: 'utf8' }).trim();
    if (found) return found;
  } catch {
    /* not on PATH */
  }
  throw new Error(
    `no helm binary: run \`bash test/testbed/build.sh helm\` (or set VAULT_OPS_HELM_BINARY); looked at ${cached} and ` +
      `PATH`,
  );
}

type Manifest = {
  kind: string;
  apiVersion: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  [k: string]: any;
};

let helm: string;
let dir: string;
let fullValues: string;

async function helmRun(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(helm, args, {
      cwd: root,
      maxBuffer: 32 * 1024 * 1024,
      env: { PATH: process.env.PATH, HOME: dir },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function template(...extra: string[]): Promise<{ text: string; manifests: Manifest[] }> {
  const r = await helmRun(['template', 'vault-ops', chart, '--namespace', 'backup', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  const manifests = parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
  return { text: r.stdout, manifests };
}

const byKind = (ms: Manifest[], kind: string) => ms.filter((m) => m.kind === kind);
const named = (ms: Manifest[], kind: string, name: string) => {
  const m = ms.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(m, `${kind}/${name} is rendered (have ${ms.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')})`);
  return m;
};
const podOf = (cj: Manifest) => cj.spec.jobTemplate.spec.template.spec;
const containerOf = (cj: Manifest) => podOf(cj).containers[0];
const envOf = (cj: Manifest): Record<string, any> =>
  Object.fromEntries(containerOf(cj).env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

const full = {
  fullnameOverride: 'vops',
  image: {
    repository: 'registry.example/vault-ops',
    tag: '1.2.3',
    digest: `sha256:${'a'.repeat(64)}`,
    pullPolicy: 'Always',
  },
  imagePullSecrets: [{ name: 'regcred' }],
  vault: {
    address: 'https://vault.example:8200',
    namespace: 'team-a',
    tlsServerName: 'vault.example',
    caCert: { configMap: 'vault-ca', key: 'ca.pem' },
    auth: { mount: 'k8s-prod', audience: 'https://vault.example', tokenExpirationSeconds: 900 },
  },
  store: {
    url: 's3://snapshots/prod',
    s3: {
      endpoint: 'https://s3.eu-west-1.amazonaws.com',
      region: 'eu-west-1',
      forcePathStyle: true,
      sse: 'aws:kms',
      kmsKeyId: 'alias/vault-snapshots',
    },
    credentials: { existingSecret: 'snapshot-s3', accessKeyIdKey: 'id', secretAccessKeyKey: 'secret' },
  },
  metrics: { pushgateway: 'http://pushgateway.monitoring.svc:9091', vaultClusterName: 'prod-eu' },
  logLevel: 'debug',
  jobs: {
    snapshot: {
      schedule: '*/30 * * * *',
      timeout: '25m',
      serviceAccount: {
        annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/vault-ops-snapshot' },
      },
      cronJob: { activeDeadlineSeconds: 1800, backoffLimit: 0 },
    },
    verify: {
      schedule: '0 5 * * *',
      unsealKeys: { existingSecret: 'prod-unseal', key: 'keys' },
      networkPolicy: {
        store: {
          cidrs: ['52.218.0.0/17'],
          except: ['52.218.1.0/24'],
          peers: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'minio' } } }],
        },
      },
    },
    rotateKv: {
      enabled: true,
      schedule: '20 * * * *',
      secrets: [
        {
          mount: 'secret',
          path: 'payments/stripe',
          every: '90d',
          keys: { api_key: { length: 40 } },
          hooks: { set: ['./hooks/stripe-set.sh'], test: ['./hooks/stripe-test.sh'] },
        },
        {
          mount: 'secret',
          path: 'shared/hmac',
          schedule: '0 3 * * 1',
          window: '3h',
          keys: { hmac: { length: 64, charset: 'hex' } },
        },
      ],
      serviceAccount: { name: 'rotator' },
    },
    prune: { enabled: true, credentials: { existingSecret: 'prune-s3' }, options: { keepDaily: 30, keepMonthly: 24 } },
  },
  cronJob: {
    startingDeadlineSeconds: 300,
    successfulJobsHistoryLimit: 1,
    failedJobsHistoryLimit: 5,
    ttlSecondsAfterFinished: 3600,
  },
  podAnnotations: { 'example.com/team': 'sre' },
  podLabels: { team: 'sre' },
  nodeSelector: { 'kubernetes.io/os': 'linux' },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ops', effect: 'NoSchedule' }],
  priorityClassName: 'ops',
  extraEnv: [{ name: 'HTTPS_PROXY', value: 'http://proxy.example:3128' }],
  extraVolumes: [{ name: 'hooks', configMap: { name: 'rotation-hooks', defaultMode: 0o555 } }],
  extraVolumeMounts: [{ name: 'hooks', mountPath: '/etc/vault-ops/jobs/hooks', readOnly: true }],
  monitoring: {
    prometheusRule: { enabled: true, labels: { release: 'kube-prometheus' }, selector: 'cluster="prod"' },
    grafanaDashboard: { enabled: true },
  },
};

before(async () => {
  helm = helmBinary();
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-chart-'));
  fullValues = join(dir, 'full-values.yaml');
  await writeFile(fullValues, stringify(full));
  const { stdout } = await run(helm, ['version', '--short'], { env: { PATH: process.env.PATH, HOME: dir } });
  console.log(`helm ${stdout.trim()} at ${helm}`);
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function assertHardenedCronJob(cj: Manifest): void {
  const name = cj.metadata.name;
  assert.equal(cj.spec.concurrencyPolicy, 'Forbid', `${name}: no overlap`);
  assert.equal(cj.spec.timeZone, 'Etc/UTC');
  for (const k of ['startingDeadlineSeconds', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit'])
    assert.equal(typeof cj.spec[k], 'number', `${name}: ${k}`);
  for (const k of ['backoffLimit', 'activeDeadlineSeconds', 'ttlSecondsAfterFinished'])
    assert.equal(typeof cj.spec.jobTemplate.spec[k], 'number', `${name}: ${k}`);
  const pod = podOf(cj);
  assert.equal(pod.restartPolicy, 'Never');
  assert.equal(pod.automountServiceAccountToken, false, `${name}: no Kubernetes API token`);
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.ok(pod.securityContext.runAsUser > 0);
  assert.deepEqual(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' });
  const c = containerOf(cj);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true, `${name}: read-only root`);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.equal(c.securityContext.runAsNonRoot, true);
  assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'] });
  assert.ok(c.resources?.requests?.memory && c.resources?.limits?.memory, `${name}: resources`);
  const tmp = pod.volumes.find((v: any) => v.name === 'tmp');
  assert.ok(tmp?.emptyDir?.sizeLimit, `${name}: an emptyDir for scratch`);
  assert.ok(c.volumeMounts.some((m: any) => m.name === 'tmp' && m.mountPath === '/tmp'));
  assert.equal(envOf(cj).TMPDIR, '/tmp');
  assert.ok(!pod.volumes.some((v: any) => v.hostPath), `${name}: no hostPath`);
  assert.deepEqual(c.args.slice(0, 4), ['daemon', '--jobs', '/etc/vault-ops/jobs', '--once']);
}

/** No env var carries a literal credential: they come from secretKeyRef (or files). */
function assertNoInlinedSecrets(ms: Manifest[]): void {
  for (const cj of byKind(ms, 'CronJob')) {
    for (const e of containerOf(cj).env) {
      if (/SECRET|TOKEN|PASSWORD|ACCESS_KEY/.test(e.name) && e.name !== 'VAULT_OPS_JWT_FILE') {
        assert.equal(e.value, undefined, `${cj.metadata.name}: ${e.name} must come from a Secret, not a value`);
        assert.ok(e.valueFrom?.secretKeyRef, `${cj.metadata.name}: ${e.name} from a secretKeyRef`);
      }
    }
  }
  // The one Secret the chart makes is the store's signing key (kept across upgrades); every other
  // credential is a reference to an existing Secret.
  for (const secret of byKind(ms, 'Secret')) {
    assert.match(secret.metadata.name, /-signing$/, 'the chart creates no Secret but the signing key');
    assert.deepEqual(Object.keys((secret as unknown as { data: object }).data), ['signing.pem']);
  }
}

describe('helm chart', () => {
  test('helm lint --strict passes with the default values and with every value set', async () => {
    const plain = await helmRun(['lint', '--strict', chart]);
    assert.equal(plain.code, 0, plain.stdout + plain.stderr);
    const populated = await helmRun(['lint', '--strict', chart, '-f', fullValues]);
    assert.equal(populated.code, 0, populated.stdout + populated.stderr);
  });

  test(
    'defaults: snapshot, verify and prune CronJobs, hardened, with the schedules and definitions of ' + 'jobs/*.yaml',
    async () => {
      const { manifests } = await template();
      assert.deepEqual(
        byKind(manifests, 'CronJob').map((m) => m.metadata.name),
        ['vault-ops-snapshot', 'vault-ops-verify', 'vault-ops-prune'],
      );
      assert.deepEqual(
        byKind(manifests, 'ServiceAccount')
          .map((m) => m.metadata.name)
          .sort(),
        ['vault-ops-prune', 'vault-ops-snapshot', 'vault-ops-verify'],
      );
      for (const cj of byKind(manifests, 'CronJob')) assertHardenedCronJob(cj);
      assertNoInlinedSecrets(manifests);
      assert.equal(byKind(manifests, 'PrometheusRule').length, 0, 'monitoring is opt-in');

      // The same job definitions as the repository's jobs/ (what the daemon on a VM runs).
      const cm = named(manifests, 'ConfigMap', 'vault-ops-jobs');
      for (const name of ['snapshot', 'verify']) {
        const rendered = parseJobDefinition(parse(cm.data![`${name}.yaml`]!), `/etc/vault-ops/jobs/${name}.yaml`);
        const repo = await loadJobFile(join(root, 'jobs', `${name}.yaml`));
        assert.equal(rendered.name, repo.name);
        assert.equal(rendered.command, repo.command);
        assert.equal(rendered.schedule, repo.schedule);
        assert.equal(rendered.timeoutMs, repo.timeoutMs);
        // The prune job (on by default) does the deleting, so that the snapshot job's keys can be write-only;
        // on a VM (jobs/snapshot.yaml) the snapshot job prunes itself.
        const { prune: _own, ...repoOptions } = repo.options;
        const { prune: renderedPrune, ...renderedOptions } = rendered.options;
        assert.deepEqual(renderedOptions, name === 'snapshot' ? repoOptions : repo.options, `${name}: options`);
        if (name === 'snapshot') assert.equal(renderedPrune, false, 'the prune job prunes');
        if (name === 'verify') assert.equal(rendered.options.snapshot, 'unverified', 'drills what is not yet proven');
        const cj = named(manifests, 'CronJob', `vault-ops-${name}`);
        assert.equal(cj.spec.schedule, repo.schedule, `${name}: the CronJob runs on the job's schedule`);
        assert.equal(containerOf(cj).args.at(-1), name);
        assert.deepEqual(
          podOf(cj).volumes.find((v: any) => v.name === 'jobs').configMap.items,
          [{ key: `${name}.yaml`, path: `${name}.yaml` }],
          'each pod sees only its own job file',
        );
      }
      const rotate = await loadJobFile(join(root, 'jobs', 'rotate-kv.yaml'));
      const values = parse(await readFile(join(chart, 'values.yaml'), 'utf8'));
      assert.equal(values.jobs.rotateKv.schedule, rotate.schedule);
      assert.deepEqual(
        values.jobs.rotateKv.options,
        Object.fromEntries(Object.entries(rotate.options).filter(([k]) => k !== 'policy')),
      );
    },
  );

  test(
    'token projection: Vault jobs log in with a projected token of the configured audience; verify gets no Vault ' +
      'access at all',
    async () => {
      const { manifests } = await template('-f', fullValues);
      const snapshot = named(manifests, 'CronJob', 'vops-snapshot');
      const pod = podOf(snapshot);
      const projected = pod.volumes.find((v: any) => v.name === 'vault-token').projected.sources[0].serviceAccountToken;
      assert.deepEqual(projected, { path: 'token', audience: 'https://vault.example', expirationSeconds: 900 });
      const mount = containerOf(snapshot).volumeMounts.find((m: any) => m.name === 'vault-token');
      assert.equal(mount.readOnly, true);
      const env = envOf(snapshot);
      assert.equal(env.VAULT_OPS_JWT_FILE, `${mount.mountPath}/token`);
      assert.equal(env.VAULT_OPS_AUTH_METHOD, 'kubernetes');
      assert.equal(env.VAULT_OPS_AUTH_ROLE, 'vault-ops-snapshot');
      assert.equal(env.VAULT_OPS_AUTH_MOUNT, 'k8s-prod');
      assert.equal(env.VAULT_ADDR, 'https://vault.example:8200');
      assert.equal(env.VAULT_NAMESPACE, 'team-a');
      assert.equal(env.VAULT_CACERT, '/etc/vault-ops/ca/ca.pem');
      assert.deepEqual(pod.volumes.find((v: any) => v.name === 'vault-ca').configMap, {
        name: 'vault-ca',
        items: [{ key: 'ca.pem', path: 'ca.pem' }],
      });
      assert.equal(pod.serviceAccountName, 'vops-snapshot');

      const verify = named(manifests, 'CronJob', 'vops-verify');
      const venv = envOf(verify);
      assert.equal(venv.VAULT_ADDR, undefined, 'verify never talks to Vault');
      assert.equal(venv.VAULT_OPS_AUTH_ROLE, undefined);
      assert.ok(
        !podOf(verify).volumes.some((v: any) => v.name === 'vault-token'),
        'no Vault login token in the verify pod',
      );
      const keys = podOf(verify).volumes.find((v: any) => v.name === 'unseal-keys').secret;
      assert.deepEqual(keys, { secretName: 'prod-unseal', defaultMode: 0o440, items: [{ key: 'keys', path: 'keys' }] });
      assert.equal(venv.VAULT_OPS_UNSEAL_KEYS_FILE, '/etc/vault-ops/unseal/keys');
      assert.equal(venv.VAULT_OPS_VAULT_BINARY, '/usr/local/bin/bao');
    },
  );

  test(
    'every value set: all four jobs, own credentials for prune, IRSA, Pushgateway, rotation policy, ' + 'monitoring',
    async () => {
      const { manifests, text } = await template('-f', fullValues);
      assert.deepEqual(
        byKind(manifests, 'CronJob').map((m) => m.metadata.name),
        ['vops-snapshot', 'vops-verify', 'vops-rotate-kv', 'vops-prune'],
      );
      for (const cj of byKind(manifests, 'CronJob')) {
        assertHardenedCronJob(cj);
        assert.equal(containerOf(cj).image, `registry.example/vault-ops@sha256:${'a'.repeat(64)}`);
        assert.equal(podOf(cj).priorityClassName, 'ops');
        assert.equal(envOf(cj).VAULT_OPS_PUSHGATEWAY, 'http://pushgateway.monitoring.svc:9091');
        assert.equal(envOf(cj).VAULT_OPS_VAULT_CLUSTER_NAME, 'prod-eu');
        assert.equal(cj.spec.failedJobsHistoryLimit, 5);
      }
      assertNoInlinedSecrets(manifests);

      const snapshot = named(manifests, 'CronJob', 'vops-snapshot');
      assert.equal(snapshot.spec.schedule, '*/30 * * * *');
      assert.equal(snapshot.spec.jobTemplate.spec.backoffLimit, 0, 'a per-job 0 overrides the default');
      assert.equal(snapshot.spec.jobTemplate.spec.activeDeadlineSeconds, 1800);
      assert.deepEqual(envOf(snapshot).AWS_SECRET_ACCESS_KEY, { secretKeyRef: { name: 'snapshot-s3', key: 'secret' } });
      assert.equal(
        named(manifests, 'ServiceAccount', 'vops-snapshot').metadata.annotations?.['eks.amazonaws.com/role-arn'],
        'arn:aws:iam::123456789012:role/vault-ops-snapshot',
      );

      const cm = named(manifests, 'ConfigMap', 'vops-jobs');
      const snapshotDef = parseJobDefinition(parse(cm.data!['snapshot.yaml']!), '/etc/vault-ops/jobs/snapshot.yaml');
      assert.equal(snapshotDef.options.prune, false, 'with a prune job, the snapshot job does not delete');
      const prune = named(manifests, 'CronJob', 'vops-prune');
      assert.deepEqual(
        envOf(prune).AWS_SECRET_ACCESS_KEY,
        { secretKeyRef: { name: 'prune-s3', key: 'AWS_SECRET_ACCESS_KEY' } },
        'prune has its own credentials',
      );
      assert.equal(envOf(prune).VAULT_ADDR, undefined);
      assert.deepEqual(parseJobDefinition(parse(cm.data!['prune.yaml']!), '/x/prune.yaml').options, {
        keepDaily: 30,
        keepMonthly: 24,
        keepHourly: 48,
        keepWeekly: 8,
      });

      const rotateDoc = parse(cm.data!['rotate-kv.yaml']!);
      const rotateDef = parseJobDefinition(rotateDoc, '/etc/vault-ops/jobs/rotate-kv.yaml');
      assert.equal(rotateDef.command, 'rotate kv');
      assert.equal(
        rotateDef.options.policy,
        '/etc/vault-ops/jobs/rotate-kv.yaml',
        'the job file is its own rotation policy',
      );
      const policy = parseRotationPolicy(rotateDoc, '/etc/vault-ops/jobs/rotate-kv.yaml');
      assert.deepEqual(
        policy.secrets.map((s) => s.id),
        ['secret/payments/stripe', 'secret/shared/hmac'],
      );
      assert.deepEqual(
        policy.secrets[0]!.hooks?.set,
        ['/etc/vault-ops/jobs/hooks/stripe-set.sh'],
        'hooks resolve into the mounted hooks folder',
      );
      const rotate = named(manifests, 'CronJob', 'vops-rotate-kv');
      assert.equal(podOf(rotate).serviceAccountName, 'rotator');
      assert.ok(containerOf(rotate).volumeMounts.some((m: any) => m.mountPath === '/etc/vault-ops/jobs/hooks'));
      assert.equal(envOf(rotate).AWS_SECRET_ACCESS_KEY, undefined, 'rotate-kv gets no S3 credentials');
      assert.ok(
        byKind(manifests, 'ServiceAccount').some((s) => s.metadata.name === 'rotator'),
        'the named service account is created',
      );

      // The verify pod: deny all ingress, egress only to DNS and the store.
      const np = named(manifests, 'NetworkPolicy', 'vops-verify');
      assert.deepEqual(np.spec.podSelector.matchLabels['app.kubernetes.io/component'], 'verify');
      assert.deepEqual(np.spec.policyTypes, ['Ingress', 'Egress']);
      assert.deepEqual(np.spec.ingress, []);
      assert.equal(np.spec.egress.length, 2);
      assert.deepEqual(
        np.spec.egress[0].ports.map((p: any) => `${p.protocol}/${p.port}`),
        ['UDP/53', 'TCP/53'],
      );
      assert.deepEqual(np.spec.egress[1].to, [
        { ipBlock: { cidr: '52.218.0.0/17', except: ['52.218.1.0/24'] } },
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'minio' } } },
      ]);
      assert.deepEqual(np.spec.egress[1].ports, [{ protocol: 'TCP', port: 443 }]);
      const verifyLabels =
        podOf(named(manifests, 'CronJob', 'vops-verify')) &&
        named(manifests, 'CronJob', 'vops-verify').spec.jobTemplate.spec.template.metadata.labels;
      for (const [k, v] of Object.entries(np.spec.podSelector.matchLabels))
        assert.equal(verifyLabels[k], v, 'the policy selects the verify pods');

      const rule = byKind(manifests, 'PrometheusRule')[0]!;
      assert.equal(rule.metadata.labels?.release, 'kube-prometheus');
      const alerts = Object.fromEntries(rule.spec.groups[0].rules.map((r: any) => [r.alert, r.expr]));
      assert.deepEqual(Object.keys(alerts).sort(), [
        'VaultOpsDaemonJobFailing',
        'VaultOpsJobFailing',
        'VaultOpsMetricTimestampInFuture',
        'VaultOpsNoRecentVerifiedSnapshot',
        'VaultOpsRestoreDrillFailed',
        'VaultOpsRestoreDrillStale',
        'VaultOpsRotationQuarantined',
        'VaultOpsSnapshotMetricsMissing',
        'VaultOpsSnapshotTooOld',
        'VaultOpsVerifiedSnapshotMetricsMissing',
      ]);
      // Each rule watches the release's own cluster (vault_cluster, plus the extra selector), by cluster and store.
      const own = 'vault_cluster="prod-eu",cluster="prod"';
      assert.equal(
        alerts.VaultOpsSnapshotTooOld,
        `time() - max by (vault_cluster, store) (vault_ops_snapshot_last_success_timestamp_seconds{${own}} <= ` +
          'time() + 300) > 7200',
      );
      assert.equal(
        alerts.VaultOpsRestoreDrillStale,
        `time() - max by (vault_cluster, store) (vault_ops_verify_last_run_timestamp_seconds{${own}} <= time() + ` +
          '300) > 90000',
      );
      // The age published at the last verify run, plus the time since that run: 8 days by default.
      assert.equal(
        alerts.VaultOpsNoRecentVerifiedSnapshot,
        `max by (vault_cluster, store) (vault_ops_snapshot_newest_verified_age_seconds{${own}}) + time() - ` +
          `max by (vault_cluster, store) (vault_ops_verify_last_run_timestamp_seconds{${own}} <= time() + 300) > ` +
          '691200',
      );
      // A future run time pushed by someone else is left out of the freshness alerts (#22) and named by its own.
      assert.equal(
        alerts.VaultOpsMetricTimestampInFuture,
        `max by (vault_cluster, store) (vault_ops_snapshot_last_success_timestamp_seconds{${own}} or ` +
          `vault_ops_verify_last_run_timestamp_seconds{${own}} or ` +
          `vault_ops_verify_last_success_timestamp_seconds{${own}}) > time() + 300`,
      );
      assert.equal(
        alerts.VaultOpsVerifiedSnapshotMetricsMissing,
        `absent(vault_ops_snapshot_newest_verified_age_seconds{${own}})`,
      );
      const missing = rule.spec.groups[0].rules.find((r: any) => r.alert === 'VaultOpsVerifiedSnapshotMetricsMissing');
      assert.equal(missing.for, '691200s', 'fires when no verified snapshot was reported for as long');
      assert.match(
        alerts.VaultOpsJobFailing,
        /kube_job_owner\{namespace="backup", owner_kind="CronJob", owner_name=~"vops-\.\*"\}/,
      );
      const dashboard = JSON.parse(named(manifests, 'ConfigMap', 'vops-dashboard').data!['vault-ops.json']!);
      assert.equal(dashboard.uid, 'vault-ops');
      const exprs = dashboard.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr)).join('\n');
      for (const metric of [
        'vault_ops_snapshot_last_success_timestamp_seconds',
        'vault_ops_snapshot_bytes',
        'vault_ops_snapshot_duration_seconds',
        'vault_ops_verify_restore_seconds',
        'vault_ops_rotation_total',
      ])
        assert.ok(exprs.includes(metric), metric);
      // A cluster selector: every panel of the jobs' metrics filters on it and splits by cluster.
      const cluster = dashboard.templating.list.find((v: any) => v.name === 'vault_cluster');
      assert.equal(cluster?.type, 'query');
      assert.match(cluster.definition, /label_values\(vault_ops_\w+, vault_cluster\)/);
      for (const expr of exprs.split('\n').filter((e: string) => !e.includes('vault_ops_daemon_'))) {
        assert.match(expr, /\{vault_cluster=~"\$vault_cluster",\$selector\}/, expr);
        assert.match(expr, / by \(vault_cluster[,)]/, expr);
      }
      assert.ok(!/value:\s*["']?(AKIA|hvs\.|s\.)/.test(text));
    },
  );

  test(
    'a secret value cannot be given to the chart; invalid settings fail with a message naming the ' + 'value',
    async () => {
      const secret = await helmRun([
        'template',
        'x',
        chart,
        '--set',
        'store.credentials.secretAccessKey=wJalrXUtnFEMI',
      ]);
      assert.notEqual(secret.code, 0);
      assert.match(secret.stderr, /additional properties 'secretAccessKey' not allowed|secretAccessKey/);
      const token = await helmRun(['template', 'x', chart, '--set', 'jobs.snapshot.options.token=hvs.abc']);
      assert.notEqual(token.code, 0, 'no Vault token in job options');
      const sixFields = await helmRun(['template', 'x', chart, '--set', 'jobs.snapshot.schedule=*/5 * * * * *']);
      assert.notEqual(sixFields.code, 0);
      assert.match(sixFields.stderr, /5-field cron|pattern/);
      const noSecrets = await helmRun(['template', 'x', chart, '--set', 'jobs.rotateKv.enabled=true']);
      assert.notEqual(noSecrets.code, 0);
      assert.match(noSecrets.stderr, /jobs\.rotateKv\.secrets is empty/);
      const twoCas = await helmRun([
        'template',
        'x',
        chart,
        '--set',
        'vault.caCert.configMap=a',
        '--set',
        'vault.caCert.secret=b',
      ]);
      assert.match(twoCas.stderr, /vault\.caCert: set configMap or secret, not both/);
      const noKeys = await helmRun(['template', 'x', chart, '--set', 'jobs.verify.unsealKeys.existingSecret=']);
      assert.match(noKeys.stderr, /jobs\.verify\.unsealKeys\.existingSecret is required/);
    },
  );

  test(
    'the verify pod reaches nothing but DNS until the store is named; unsealed drills and 0.0.0.0/0 are ' + 'refused',
    async () => {
      const { manifests } = await template();
      const np = named(manifests, 'NetworkPolicy', 'vault-ops-verify');
      assert.equal(np.spec.egress.length, 1, 'by default: DNS only (store.cidrs is empty)');
      assert.deepEqual(
        np.spec.egress[0].ports.map((p: any) => `${p.protocol}/${p.port}`),
        ['UDP/53', 'TCP/53'],
      );
      assert.ok(
        np.spec.egress.every((rule: any) => Array.isArray(rule.to) && rule.to.length > 0),
        'no rule with an empty `to` (that would allow everything)',
      );
      const named1 = await template('--set', 'jobs.verify.networkPolicy.store.cidrs={52.218.0.0/17}');
      assert.deepEqual(named(named1.manifests, 'NetworkPolicy', 'vault-ops-verify').spec.egress[1].to, [
        { ipBlock: { cidr: '52.218.0.0/17' } },
      ]);
      // Everything, in one range or in two halves, or a bare address without its prefix length.
      for (const everything of ['0.0.0.0/0', '::/0', '0.0.0.0/1,128.0.0.0/1', '::/1,8000::/1', '10.0.0.1']) {
        const r = await helmRun([
          'template',
          'x',
          chart,
          '--set',
          `jobs.verify.networkPolicy.store.cidrs={${everything}}`,
        ]);
        assert.notEqual(r.code, 0, everything);
        const first = everything.split(',')[0]!;
        assert.match(
          r.stderr,
          new RegExp(
            `jobs\\.verify\\.networkPolicy\\.store\\.cidrs holds ${first.replaceAll('.', '\\.')}: .*name the S3 ` +
              `endpoint's address ranges \\(at most /(8|16) each\\), not a range that covers everything`,
          ),
        );
      }
      for (const extra of [[], ['--set', 'jobs.verify.networkPolicy.store.cidrs={52.218.0.0/17}']]) {
        const r = await helmRun(['template', 'x', chart, '--set', 'jobs.verify.options.mode=unsealed', ...extra]);
        assert.notEqual(r.code, 0);
        assert.match(
          r.stderr,
          /jobs\.verify\.options\.mode: unsealed is refused: an unsealed drill runs the restored copy live/,
        );
      }
    },
  );

  test('stores[]: the snapshot job writes to every store, each with settings, credentials, prune job', async () => {
    const values = join(dir, 'stores-values.yaml');
    await writeFile(
      values,
      stringify({
        jobs: { prune: { enabled: true, credentials: { existingSecret: 'prune-s3' } } },
        stores: [
          {
            name: 'dr-eu',
            url: 's3://vault-snapshots-dr/vault',
            s3: { region: 'eu-central-1', endpoint: 'https://s3.eu-central-1.amazonaws.com' },
            credentials: { existingSecret: 'dr-writer' },
            prune: {
              enabled: true,
              schedule: '50 5 * * *',
              options: { keepDaily: 30, keepMonthly: 24 },
              credentials: { existingSecret: 'dr-pruner', accessKeyIdKey: 'id', secretAccessKeyKey: 'secret' },
            },
          },
          { name: 'offsite', url: 's3://offsite/vault', credentials: { existingSecret: 'offsite-writer' } },
        ],
      }),
    );
    const { manifests } = await template('--set', 'fullnameOverride=vops', '-f', values);
    assertNoInlinedSecrets(manifests);
    const snapshot = envOf(named(manifests, 'CronJob', 'vops-snapshot'));
    assert.equal(
      snapshot.VAULT_OPS_SNAPSHOT_STORE,
      's3://vault-snapshots/vault,dr-eu=s3://vault-snapshots-dr/vault,offsite=s3://offsite/vault',
    );
    assert.equal(snapshot.VAULT_OPS_STORE_DR_EU_VAULT_OPS_S3_REGION, 'eu-central-1');
    assert.deepEqual(snapshot.VAULT_OPS_STORE_DR_EU_AWS_SECRET_ACCESS_KEY, {
      secretKeyRef: { name: 'dr-writer', key: 'AWS_SECRET_ACCESS_KEY' },
    });
    assert.deepEqual(snapshot.VAULT_OPS_STORE_OFFSITE_AWS_ACCESS_KEY_ID, {
      secretKeyRef: { name: 'offsite-writer', key: 'AWS_ACCESS_KEY_ID' },
    });
    const prune = named(manifests, 'CronJob', 'vops-prune-dr-eu');
    assertHardenedCronJob(prune);
    assert.equal(prune.spec.schedule, '50 5 * * *');
    const pruneEnv = envOf(prune);
    assert.equal(pruneEnv.VAULT_OPS_SNAPSHOT_STORE, 'dr-eu=s3://vault-snapshots-dr/vault');
    assert.deepEqual(pruneEnv.VAULT_OPS_STORE_DR_EU_AWS_SECRET_ACCESS_KEY, {
      secretKeyRef: { name: 'dr-pruner', key: 'secret' },
    });
    assert.equal(pruneEnv.AWS_SECRET_ACCESS_KEY, undefined, "only the store's own credentials");
    assert.equal(podOf(prune).serviceAccountName, 'vops-prune');
    assert.equal(
      envOf(named(manifests, 'CronJob', 'vops-prune')).VAULT_OPS_SNAPSHOT_STORE,
      's3://vault-snapshots/vault',
    );
    // The job files are valid job definitions; the snapshot job leaves pruning to the prune jobs.
    const jobs = named(manifests, 'ConfigMap', 'vops-jobs').data!;
    const dr = parseJobDefinition(parse(jobs['prune-dr-eu.yaml']!), 'prune-dr-eu.yaml');
    assert.deepEqual(dr.options, { keepDaily: 30, keepMonthly: 24 });
    assert.equal(parseJobDefinition(parse(jobs['snapshot.yaml']!), 'snapshot.yaml').options.prune, false);

    const twice = await helmRun([
      'template',
      'x',
      chart,
      '--set',
      'stores[0].name=a',
      '--set',
      'stores[0].url=s3://a/b',
      '--set',
      'stores[1].name=a',
      '--set',
      'stores[1].url=s3://c/d',
    ]);
    assert.notEqual(twice.code, 0);
    assert.match(twice.stderr, /stores\[1\]\.name a is used twice/);
    const unpruned = await helmRun([
      'template',
      'x',
      chart,
      '--set',
      'stores[0].name=a',
      '--set',
      'stores[0].url=s3://a/b',
      '--set',
      'stores[0].prune.enabled=true',
      '--set',
      'jobs.prune.enabled=false',
    ]);
    assert.notEqual(unpruned.code, 0);
    assert.match(unpruned.stderr, /enable jobs\.prune for the retention of store\.url/);
  });

  test('each store job its own credentials: snapshot writes, verify reads (and records), prune deletes', async () => {
    const { manifests } = await template(
      '--set',
      'store.credentials.existingSecret=snapshot-writer',
      '--set',
      'jobs.verify.credentials.existingSecret=verify-reader',
      '--set',
      'jobs.prune.credentials.existingSecret=pruner',
    );
    const secretOf = (job: string) => envOf(named(manifests, 'CronJob', `vault-ops-${job}`)).AWS_SECRET_ACCESS_KEY;
    assert.equal(secretOf('snapshot').secretKeyRef.name, 'snapshot-writer');
    assert.equal(secretOf('verify').secretKeyRef.name, 'verify-reader');
    assert.equal(secretOf('prune').secretKeyRef.name, 'pruner');
    // Without their own, verify and prune fall back to store.credentials (or workload identity).
    const fallback = await template('--set', 'store.credentials.existingSecret=shared');
    for (const job of ['snapshot', 'verify', 'prune'])
      assert.equal(
        envOf(named(fallback.manifests, 'CronJob', `vault-ops-${job}`)).AWS_SECRET_ACCESS_KEY.secretKeyRef.name,
        'shared',
        job,
      );
  });

  test('signing by default: a kept ed25519 key in a Secret, mounted into the store jobs only', async () => {
    const { manifests } = await template('--set', 'jobs.prune.enabled=true');
    const secret = named(manifests, 'Secret', 'vault-ops-signing');
    const doc = secret as unknown as {
      metadata: { annotations: Record<string, string> };
      data: Record<string, string>;
    };
    assert.equal(doc.metadata.annotations['helm.sh/resource-policy'], 'keep', 'survives uninstall');
    const pem = Buffer.from(doc.data['signing.pem']!, 'base64').toString();
    const key = createPrivateKey(pem);
    assert.equal(key.asymmetricKeyType, 'ed25519');
    const path = '/etc/vault-ops/signing/signing.pem';
    for (const [job, signs] of [
      ['snapshot', true],
      ['verify', true],
      ['prune', false],
    ] as const) {
      const cj = named(manifests, 'CronJob', `vault-ops-${job}`);
      const env = envOf(cj);
      assert.equal(env.VAULT_OPS_VERIFY_KEY, path, job);
      assert.equal(env.VAULT_OPS_SIGNING_KEY, signs ? path : undefined, job);
      const volume = podOf(cj).volumes.find((v: any) => v.name === 'signing-key');
      assert.equal(volume.secret.secretName, 'vault-ops-signing', job);
      assert.equal(volume.secret.defaultMode, 0o440, job);
    }
    const withRotation = await template('--values', fullValues);
    const rotate = named(withRotation.manifests, 'CronJob', 'vops-rotate-kv');
    assert.ok(!podOf(rotate).volumes.some((v: any) => v.name === 'signing-key'), 'no store, no key');

    const own = await template('--set', 'signing.existingSecret=my-key', '--set', 'signing.key=k.pem');
    assert.ok(!own.manifests.some((m) => m.kind === 'Secret'), 'the chart makes no key of its own');
    assert.equal(
      envOf(named(own.manifests, 'CronJob', 'vault-ops-snapshot')).VAULT_OPS_SIGNING_KEY,
      '/etc/vault-ops/signing/k.pem',
    );
    const off = await template('--set', 'signing.enabled=false');
    assert.ok(!off.manifests.some((m) => m.kind === 'Secret'));
    assert.equal(envOf(named(off.manifests, 'CronJob', 'vault-ops-verify')).VAULT_OPS_VERIFY_KEY, undefined);
  });

  test('NOTES.txt names the CronJobs and the Vault-side setup', async () => {
    // helm renders NOTES.txt only on install (which needs a cluster): render it through tpl in a copy of the chart.
    const copy = join(dir, 'notes-chart');
    await cp(chart, copy, { recursive: true });
    await cp(join(copy, 'templates', 'NOTES.txt'), join(copy, 'files', 'notes.tpl'));
    await writeFile(
      join(copy, 'templates', 'notes-probe.yaml'),
      'notes: {{ tpl (.Files.Get "files/notes.tpl") . | toJson }}\n',
    );
    const r = await helmRun([
      'template',
      'vault-ops',
      copy,
      '--namespace',
      'backup',
      '--show-only',
      'templates/notes-probe.yaml',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const notes = parse(r.stdout).notes as string;
    assert.match(
      notes,
      /vault-ops-snapshot: vault-ops snapshot save at "0 \* \* \* \*" \(Vault role vault-ops-snapshot\)/,
    );
    assert.match(notes, /vault-ops-verify: vault-ops verify at "30 4 \* \* \*"\n/);
    assert.match(notes, /vault-ops setup policies --k8s-namespace backup --k8s-audience vault/);
    assert.match(notes, /vault-ops setup canary/);
    assert.match(notes, /metrics\.pushgateway is not set/);
    assert.match(
      notes,
      /jobs\.verify\.networkPolicy\.store\.cidrs and \.peers are empty: the verify pod may reach DNS only/,
    );
  });
});
