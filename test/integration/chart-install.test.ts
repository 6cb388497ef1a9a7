import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { startKubernetes, type KubernetesTestbed } from '../testbed/kubernetes.js';
import { CHART, helm } from '../helpers/helm.js';

/**
 * The Helm chart installed for real: `helm install` into the testbed's kube-apiserver (RBAC on,
 * default admission plugins), with the default values and with every job and option on. Every
 * object must be accepted by the API server's validation, and again under
 * `fieldValidation=Strict` (a dry-run update with the same manifest: an unknown or duplicated field,
 * which helm's create only gets a warning for and the server drops, fails the test). The PrometheusRule is validated
 * against its CRD (test/fixtures/kubernetes/prometheusrule-crd.yaml). Values that
 * values.schema.json refuses never reach the server: its audit log shows no write.
 */

const fixtures = fileURLToPath(new URL('../fixtures/kubernetes/', import.meta.url));
const EVERY_OPTION = join(fixtures, 'every-option-values.yaml');

let kube: KubernetesTestbed;
let home: string;

type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: any };

/** Where each kind the chart renders lives in the API. */
const RESOURCES: Record<string, string> = {
  'v1/ServiceAccount': 'api/v1/namespaces/{ns}/serviceaccounts',
  'v1/ConfigMap': 'api/v1/namespaces/{ns}/configmaps',
  'v1/Secret': 'api/v1/namespaces/{ns}/secrets',
  'batch/v1/CronJob': 'apis/batch/v1/namespaces/{ns}/cronjobs',
  'networking.k8s.io/v1/NetworkPolicy': 'apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies',
  'monitoring.coreos.com/v1/PrometheusRule': 'apis/monitoring.coreos.com/v1/namespaces/{ns}/prometheusrules',
};

function objectPath(m: Manifest, ns: string): string {
  const collection = RESOURCES[`${m.apiVersion}/${m.kind}`];
  assert.ok(collection, `the test knows where ${m.apiVersion} ${m.kind} lives (add it to RESOURCES)`);
  return `/${collection.replace('{ns}', ns)}/${m.metadata.name}`;
}

const h = (args: string[]) => helm(args, { home, kubeconfig: kube.kubeconfig });

/** The manifests of an installed release, as helm sent them. */
async function releaseManifests(release: string, ns: string): Promise<Manifest[]> {
  const r = await h(['get', 'manifest', release, '--namespace', ns]);
  assert.equal(r.code, 0, r.stderr);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

/** An update that changes nothing, in which an unknown or duplicated field is an error (not a warning). */
const STRICT_DRY_RUN = 'dryRun=All&fieldValidation=Strict';

/** Each object is on the server, and passes a strict dry-run update with the manifest helm sent. */
async function assertAcceptedStrictly(manifests: Manifest[], ns: string): Promise<void> {
  for (const m of manifests) {
    const path = objectPath(m, ns);
    const stored = await kube.request('GET', path);
    assert.equal(stored.body.metadata.name, m.metadata.name);
    assert.equal(stored.body.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm', `${m.kind}/${m.metadata.name}`);
    // Custom resources take no unconditional update: name the stored version.
    const update = { ...m, metadata: { ...m.metadata, resourceVersion: stored.body.metadata.resourceVersion } };
    const dry = await kube.request('PUT', `${path}?${STRICT_DRY_RUN}`, update, { allow: [400, 422] });
    assert.ok(dry.status < 300, `${m.kind}/${m.metadata.name} under fieldValidation=Strict: ${dry.body.message}`);
  }
}

/** Writes (anything but get/list/watch) by the admin identity helm uses, since audit event `from`. */
async function adminWritesSince(from: number) {
  return (await kube.auditEvents())
    .slice(from)
    .filter((e) => e.user.username === 'testbed-admin' && !['get', 'list', 'watch'].includes(e.verb))
    .map((e) => `${e.verb} ${e.requestURI}`);
}

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'vault-ops-chart-install-'));
  const started = Date.now();
  kube = await startKubernetes();
  console.log(`testbed: ${kube.version} at ${kube.url}, ready in ${Date.now() - started} ms`);
});
after(async () => {
  await kube?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

describe('helm chart on a real API server', () => {
  test('helm install with the default values: every object is accepted and stored; NOTES name the jobs', async () => {
    const r = await h(['install', 'vault-ops', CHART, '--namespace', 'vault-ops', '--create-namespace']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /STATUS: deployed/);
    assert.match(
      r.stdout,
      /vault-ops-snapshot: vault-ops snapshot save at "0 \* \* \* \*" \(Vault role vault-ops-snapshot\)/,
    );
    const manifests = await releaseManifests('vault-ops', 'vault-ops');
    assert.deepEqual(manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort(), [
      'ConfigMap/vault-ops-jobs',
      'CronJob/vault-ops-prune',
      'CronJob/vault-ops-snapshot',
      'CronJob/vault-ops-verify',
      'NetworkPolicy/vault-ops-verify',
      'Secret/vault-ops-signing',
      'ServiceAccount/vault-ops-prune',
      'ServiceAccount/vault-ops-snapshot',
      'ServiceAccount/vault-ops-verify',
    ]);
    await assertAcceptedStrictly(manifests, 'vault-ops');
    // The strict check has teeth: the same CronJob with a misspelt field is refused.
    const cronJob = manifests.find((m) => m.kind === 'CronJob')!;
    const misspelt = { ...cronJob, spec: { ...cronJob.spec, startingDeadlineSecond: 60 } };
    const refused = await kube.request('PUT', `${objectPath(cronJob, 'vault-ops')}?${STRICT_DRY_RUN}`, misspelt, {
      allow: [400, 422],
    });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.match(refused.body.message, /unknown field "spec.startingDeadlineSecond"/);

    // What the server made of a CronJob: its defaults filled in, the projected token as rendered.
    const cj = (await kube.request('GET', '/apis/batch/v1/namespaces/vault-ops/cronjobs/vault-ops-snapshot')).body;
    assert.equal(cj.spec.schedule, '0 * * * *');
    assert.equal(cj.spec.timeZone, 'Etc/UTC');
    assert.equal(cj.spec.concurrencyPolicy, 'Forbid');
    const pod = cj.spec.jobTemplate.spec.template.spec;
    assert.equal(pod.dnsPolicy, 'ClusterFirst', 'defaulted by the server');
    assert.deepEqual(pod.volumes.find((v: any) => v.name === 'vault-token').projected.sources[0].serviceAccountToken, {
      audience: 'vault',
      expirationSeconds: 600,
      path: 'token',
    });

    // The store's signing key is made once: an upgrade keeps it (lookup against the real API server).
    const keyOf = async () =>
      (await kube.request('GET', '/api/v1/namespaces/vault-ops/secrets/vault-ops-signing')).body.data['signing.pem'];
    const made = await keyOf();
    assert.match(Buffer.from(made, 'base64').toString(), /^-----BEGIN PRIVATE KEY-----/);
    const upgraded = await h(['upgrade', 'vault-ops', CHART, '--namespace', 'vault-ops']);
    assert.equal(upgraded.code, 0, upgraded.stderr);
    assert.equal(await keyOf(), made, 'the same key after an upgrade');
  });

  test(
    'helm install with every job and option on (PrometheusRule after its CRD): accepted, also under strict ' +
      'field validation',
    async () => {
      const crdDoc = parse(await readFile(join(fixtures, 'prometheusrule-crd.yaml'), 'utf8'));
      await kube.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crdDoc);
      // Established: the API server serves the new kind (helm's discovery must see it).
      const deadline = Date.now() + 30_000;
      for (;;) {
        const got = (
          await kube.request(
            'GET',
            '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/prometheusrules.monitoring.coreos.com',
          )
        ).body;
        if (got.status?.conditions?.some((c: any) => c.type === 'Established' && c.status === 'True')) break;
        assert.ok(Date.now() < deadline, 'the PrometheusRule CRD is established within 30 s');
        await new Promise((r) => setTimeout(r, 200));
      }

      const r = await h(['install', 'vops', CHART, '--namespace', 'backup', '--create-namespace', '-f', EVERY_OPTION]);
      assert.equal(r.code, 0, r.stderr);
      const manifests = await releaseManifests('vops', 'backup');
      assert.deepEqual(manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort(), [
        'ConfigMap/vops-dashboard',
        'ConfigMap/vops-jobs',
        'CronJob/vops-prune',
        'CronJob/vops-rotate-kv',
        'CronJob/vops-snapshot',
        'CronJob/vops-verify',
        'NetworkPolicy/vops-verify',
        'PrometheusRule/vops',
        'Secret/vops-signing',
        'ServiceAccount/rotator',
        'ServiceAccount/vops-prune',
        'ServiceAccount/vops-snapshot',
        'ServiceAccount/vops-verify',
      ]);
      await assertAcceptedStrictly(manifests, 'backup');
      const rule = (await kube.request('GET', '/apis/monitoring.coreos.com/v1/namespaces/backup/prometheusrules/vops'))
        .body;
      assert.ok(rule.spec.groups[0].rules.length >= 5, 'the alert rules were stored, not pruned');
      for (const name of ['vops-snapshot', 'vops-verify', 'vops-rotate-kv', 'vops-prune']) {
        const cj = (await kube.request('GET', `/apis/batch/v1/namespaces/backup/cronjobs/${name}`)).body;
        assert.equal(cj.spec.suspend, true, `${name}: cronJob.suspend reached the server`);
        assert.equal(cj.spec.jobTemplate.spec.template.spec.priorityClassName, 'ops');
      }
    },
  );

  test('a secret value, a token, a 6-field schedule: the schema refuses them, nothing reaches the server', async () => {
    const cases: [string, object, RegExp][] = [
      [
        'secret',
        { store: { credentials: { existingSecret: 's3', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG' } } },
        /additional properties 'secretAccessKey' not allowed/,
      ],
      ['token', { jobs: { snapshot: { options: { token: 'hvs.CAESIabc' } } } }, /invalid propertyName 'token'/],
      [
        'schedule',
        { jobs: { snapshot: { schedule: '*/5 * * * * *' } } },
        /'\/jobs\/snapshot\/schedule': '\*\/5 \* \* \* \* \*' does not match pattern/,
      ],
    ];
    for (const [name, values, why] of cases) {
      const file = join(home, `refused-${name}.yaml`);
      await writeFile(file, stringify(values));
      const from = (await kube.auditEvents()).length;
      const r = await h([
        'install',
        `refused-${name}`,
        CHART,
        '--namespace',
        `refused-${name}`,
        '--create-namespace',
        '-f',
        file,
      ]);
      assert.notEqual(r.code, 0, `${name}: refused`);
      assert.match(r.stderr, /values don't meet the specifications of the schema/, `${name}: ${r.stderr}`);
      assert.match(r.stderr, why, `${name}: names the value`);
      assert.deepEqual(await adminWritesSince(from), [], `${name}: helm wrote nothing to the API server`);
      const ns = await kube.request('GET', `/api/v1/namespaces/refused-${name}`, undefined, { allow: [404] });
      assert.equal(ns.status, 404, `${name}: not even the namespace was created`);
      for (const secret of ['wJalrXUtnFEMI/K7MDENG', 'hvs.CAESIabc'])
        assert.ok(!(r.stdout + r.stderr).includes(secret), 'helm does not echo the secret value');
    }
  });
});
