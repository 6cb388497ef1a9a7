import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { KubernetesTestbed } from './kubernetes.js';

/**
 * The kubelet's part for one Pod of the testbed's API server, without a container runtime: the
 * Pod's volumes are made as local folders the way the kubelet fills them (a ConfigMap's or Secret's
 * items, an emptyDir, a projected service-account token minted by TokenRequest for the Pod's
 * ServiceAccount with the volume's audience and expiry, bound to the Pod), the container's env is
 * resolved (values, secretKeyRef, configMapKeyRef, fieldRef), and its args are returned for the test
 * to run under the image's entrypoint.
 *
 * The one difference from a container: paths. The process sees the folders at local paths, not at
 * their mountPath, so every env value and argument that starts with a mountPath is rewritten to the
 * local folder (longest mountPath first), unless it names a file the host has and the volume does
 * not (what the image would carry). File contents are not rewritten.
 */

export interface PreparedPod {
  /** The container's args (the image's entrypoint runs them), paths mapped to the local folders. */
  args: string[];
  /** The container's whole environment (nothing else is inherited), paths mapped. */
  env: Record<string, string>;
  /** mountPath → local folder. */
  mounts: Map<string, string>;
  /** The projected service-account tokens written, by volume name (to prove they never leak). */
  tokens: Map<string, string>;
  /** A pod path (e.g. /var/run/secrets/vault-ops/token) as its local path. */
  localPath(podPath: string): string;
}

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

async function writeItems(
  dir: string,
  data: Record<string, string>,
  items: { key: string; path: string; mode?: number }[] | undefined,
  defaultMode: number,
  what: string,
): Promise<void> {
  const list: { key: string; path: string; mode?: number }[] =
    items ?? Object.keys(data).map((key) => ({ key, path: key }));
  for (const item of list) {
    if (!(item.key in data)) throw new Error(`kubelet: ${what} has no key ${item.key}`);
    const file = join(dir, item.path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, data[item.key]!);
    await chmod(file, item.mode ?? defaultMode);
  }
}

export async function preparePod(kube: KubernetesTestbed, pod: any, root: string): Promise<PreparedPod> {
  const ns: string = pod.metadata.namespace;
  const spec = pod.spec;
  if (spec.containers.length !== 1)
    throw new Error(`kubelet: pod ${pod.metadata.name} has ${spec.containers.length} containers`);
  const container = spec.containers[0];
  if (container.command) throw new Error('kubelet: the container overrides the image entrypoint (command is set)');
  const get = async (kind: 'configmaps' | 'secrets', name: string) =>
    (await kube.request('GET', `/api/v1/namespaces/${ns}/${kind}/${name}`)).body;

  const volumes = new Map<string, string>();
  const tokens = new Map<string, string>();
  for (const volume of spec.volumes ?? []) {
    const dir = join(root, 'volumes', volume.name);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    volumes.set(volume.name, dir);
    if (volume.emptyDir) continue;
    if (volume.configMap) {
      const cm = await get('configmaps', volume.configMap.name);
      await writeItems(
        dir,
        cm.data ?? {},
        volume.configMap.items,
        volume.configMap.defaultMode ?? 0o644,
        `ConfigMap ${volume.configMap.name}`,
      );
    } else if (volume.secret) {
      const secret = await get('secrets', volume.secret.secretName);
      const data = Object.fromEntries(Object.entries<string>(secret.data ?? {}).map(([k, v]) => [k, b64(v)]));
      await writeItems(
        dir,
        data,
        volume.secret.items,
        volume.secret.defaultMode ?? 0o644,
        `Secret ${volume.secret.secretName}`,
      );
    } else if (volume.projected) {
      const mode = volume.projected.defaultMode ?? 0o644;
      for (const source of volume.projected.sources) {
        if (!source.serviceAccountToken)
          throw new Error(`kubelet: projected source ${Object.keys(source)} not supported`);
        const { audience, expirationSeconds, path } = source.serviceAccountToken;
        // What the kubelet asks for: a token of the Pod's ServiceAccount, for the volume's audience
        // (the API server's own when empty), bound to this Pod.
        const token = await kube.createToken(ns, spec.serviceAccountName, {
          ...(audience ? { audiences: [audience] } : {}),
          expirationSeconds: expirationSeconds ?? 3600,
          boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod.metadata.name, uid: pod.metadata.uid },
        });
        tokens.set(volume.name, token);
        await writeItems(dir, { token }, [{ key: 'token', path }], mode, 'projected token');
      }
    } else {
      throw new Error(`kubelet: volume ${volume.name} of a kind the testbed does not fill: ${Object.keys(volume)}`);
    }
  }

  const mounts = new Map<string, string>();
  for (const m of container.volumeMounts ?? []) {
    const dir = volumes.get(m.name);
    if (!dir) throw new Error(`kubelet: volumeMount ${m.name} names no volume`);
    mounts.set(m.mountPath, m.subPath ? join(dir, m.subPath) : dir);
  }
  const byLength = [...mounts.keys()].sort((a, b) => b.length - a.length);
  const localPath = (value: string): string => {
    for (const mountPath of byLength) {
      if (value !== mountPath && !value.startsWith(`${mountPath}/`)) continue;
      const local = mounts.get(mountPath)! + value.slice(mountPath.length);
      // A file the host has and the volume does not is one the image would carry (the scratch
      // binary, whose cached path may lie under a mountPath such as /tmp when HOME does): keep it.
      return existsSync(value) && !existsSync(local) ? value : local;
    }
    return value;
  };

  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = localPath(e.value);
    else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      const v = (await get('secrets', ref.name)).data?.[ref.key];
      if (v === undefined) throw new Error(`kubelet: Secret ${ref.name} has no key ${ref.key} (env ${e.name})`);
      env[e.name] = b64(v);
    } else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      const v = (await get('configmaps', ref.name)).data?.[ref.key];
      if (v === undefined) throw new Error(`kubelet: ConfigMap ${ref.name} has no key ${ref.key} (env ${e.name})`);
      env[e.name] = v;
    } else if (e.valueFrom?.fieldRef) {
      const field = e.valueFrom.fieldRef.fieldPath as string;
      const values: Record<string, string> = {
        'metadata.name': pod.metadata.name,
        'metadata.namespace': ns,
        'metadata.uid': pod.metadata.uid,
        'spec.serviceAccountName': spec.serviceAccountName,
      };
      if (!(field in values)) throw new Error(`kubelet: fieldRef ${field} not supported (env ${e.name})`);
      env[e.name] = values[field]!;
    } else {
      throw new Error(`kubelet: env ${e.name} has no value the testbed resolves`);
    }
  }
  return { args: (container.args ?? []).map(localPath), env, mounts, tokens, localPath };
}

/**
 * `kubectl create job NAME --from=cronjob/CRONJOB`: a Job with the CronJob's jobTemplate, owned by
 * the CronJob, annotated as a manual run. Returns the Job as the API server stored it.
 */
export async function createJobFromCronJob(
  kube: KubernetesTestbed,
  namespace: string,
  cronJob: string,
  name: string,
): Promise<any> {
  const cj = (await kube.request('GET', `/apis/batch/v1/namespaces/${namespace}/cronjobs/${cronJob}`)).body;
  const template = cj.spec.jobTemplate;
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace,
      labels: template.metadata?.labels ?? {},
      annotations: { ...(template.metadata?.annotations ?? {}), 'cronjob.kubernetes.io/instantiate': 'manual' },
      ownerReferences: [
        { apiVersion: 'batch/v1', kind: 'CronJob', name: cronJob, uid: cj.metadata.uid, controller: true },
      ],
    },
    spec: template.spec,
  };
  return (await kube.request('POST', `/apis/batch/v1/namespaces/${namespace}/jobs`, job)).body;
}

/** The Pod the Job controller created for Job `job` (waits for it: the controller works asynchronously). */
export async function jobPod(
  kube: KubernetesTestbed,
  namespace: string,
  job: string,
  timeoutMs = 60_000,
): Promise<any> {
  const selector = encodeURIComponent(`batch.kubernetes.io/job-name=${job}`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pods = (await kube.request('GET', `/api/v1/namespaces/${namespace}/pods?labelSelector=${selector}`)).body;
    if (pods.items.length > 0) return pods.items[0];
    await new Promise((r) => setTimeout(r, 200));
  }
  const events = (await kube.request('GET', `/api/v1/namespaces/${namespace}/events`)).body.items
    .map((e: any) => `${e.involvedObject.kind}/${e.involvedObject.name}: ${e.reason}: ${e.message}`)
    .join('\n');
  throw new Error(`kubelet: the Job controller made no Pod for job ${job} within ${timeoutMs} ms; events:\n${events}`);
}
