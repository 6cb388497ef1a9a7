import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createJobFromCronJob } from '../testbed/kubelet.js';
import type { KubernetesTestbed } from '../testbed/kubernetes.js';
import type { KubeNode } from '../testbed/node.js';

/** What chart-pods*.test.ts share: a chart job run on the node, the CLI as a process, the signing key. */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface JobRun {
  job: any;
  pod: any;
  exitCode: number;
  /** The container's log as `kubectl logs` shows it (stdout and stderr), as text. */
  log: string;
  /** After a non-zero exit, how the container ended (explainExit); empty after exit 0. */
  ended: string;
}

const kernelKills = async (): Promise<string> => {
  const out = await new Promise<string>((resolve) =>
    execFile('dmesg', ['--ctime'], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => resolve(err ? '' : stdout)),
  );
  return out
    .split('\n')
    .filter((l) => /oom|killed process|memory cgroup/i.test(l))
    .slice(-10)
    .join('\n');
};

/**
 * Why a Job's container exited non-zero, as far as the node can tell: its `terminated` state (reason,
 * signal, exit code, times), the pod's deletion and conditions, the pod's and Job's events, the
 * kubelet's and containerd's log lines about the pod (its name, uid, container id) and the kernel's
 * OOM lines. An exit 137 is a SIGKILL: this says whose.
 */
export async function explainExit(kube: KubernetesTestbed, node: KubeNode, ns: string, pod: any): Promise<string> {
  const now = (
    await kube.request('GET', `/api/v1/namespaces/${ns}/pods/${pod.metadata.name}`, undefined, {
      allow: [404],
    })
  ).body;
  const p = now?.metadata ? now : pod;
  const status = p.status?.containerStatuses?.[0] ?? {};
  const events = (await kube.request('GET', `/api/v1/namespaces/${ns}/events`)).body.items
    .filter((e: any) =>
      [p.metadata.name, p.metadata.labels?.['batch.kubernetes.io/job-name']].includes(e.involvedObject.name),
    )
    .map((e: any) => {
      const on = `${e.involvedObject.kind}/${e.involvedObject.name}`;
      return `${e.lastTimestamp ?? e.eventTime} ${on}: ${e.reason}: ${e.message}`;
    });
  const containerId = String(status.containerID ?? '').replace(/^containerd:\/\//, '');
  const { state, lastState, restartCount } = status;
  const deletion = `${p.metadata.deletionTimestamp ?? '-'} (grace ${p.metadata.deletionGracePeriodSeconds ?? '-'})`;
  return [
    `--- container ${JSON.stringify({ state, lastState, restartCount })}`,
    `--- pod phase ${p.status?.phase} reason ${p.status?.reason ?? '-'} deletionTimestamp ${deletion}`,
    `--- pod conditions ${JSON.stringify(p.status?.conditions ?? [])}`,
    '--- events',
    ...events,
    await node.serverLogLines([p.metadata.name, p.metadata.uid, containerId]),
    '--- kernel (OOM)',
    await kernelKills(),
  ].join('\n');
}

/** `kubectl create job NAME --from=cronjob/CRONJOB` in `ns`, then wait until the Job completes or fails. */
export async function runJob(
  kube: KubernetesTestbed,
  node: KubeNode,
  ns: string,
  cronJob: string,
  name: string,
  timeoutMs = 180_000,
): Promise<JobRun> {
  await createJobFromCronJob(kube, ns, cronJob, name);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await kube.request('GET', `/apis/batch/v1/namespaces/${ns}/jobs/${name}`)).body;
    const done = (job.status?.conditions ?? []).find(
      (c: any) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
    );
    if (done) {
      const selector = encodeURIComponent(`batch.kubernetes.io/job-name=${name}`);
      const pods = (await kube.request('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=${selector}`)).body.items;
      assert.equal(pods.length, 1, `one pod for job ${name}`);
      const pod = pods[0];
      const terminated = pod.status.containerStatuses?.[0]?.state?.terminated;
      assert.ok(terminated, `job ${name}'s container terminated: ${JSON.stringify(pod.status)}`);
      const log = await node.containerLog(ns, pod.metadata.name, 'vault-ops');
      const why =
        terminated.exitCode === 0
          ? ''
          : `\n=== how ${pod.metadata.name} ended\n${await explainExit(kube, node, ns, pod)}`;
      return { job, pod, exitCode: terminated.exitCode, log, ended: why };
    }
    if (Date.now() > deadline) {
      const events = (await kube.request('GET', `/api/v1/namespaces/${ns}/events`)).body.items
        .map((e: any) => `${e.involvedObject.kind}/${e.involvedObject.name}: ${e.reason}: ${e.message}`)
        .join('\n');
      assert.fail(`job ${name} did not finish within ${timeoutMs} ms; events:\n${events}`);
    }
    await sleep(500);
  }
}

/** An assertion's message for a run: its log, then how it ended when it exited non-zero. */
export const told = (r: JobRun) => `${r.log}${r.ended}`;

export const succeeded = (r: JobRun) => r.job.status.succeeded === 1 && r.exitCode === 0;

/** The chart's signing key's public half (the store's --verify-key), from the Secret the chart made. */
export async function verifyKeyFile(kube: KubernetesTestbed, ns: string, dir: string): Promise<string> {
  const secret = (await kube.request('GET', `/api/v1/namespaces/${ns}/secrets/vault-ops-signing`)).body;
  const pem = Buffer.from(secret.data['signing.pem'], 'base64').toString('utf8');
  const file = join(dir, 'verify-key.pem');
  await writeFile(file, createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'pem' }).toString());
  return file;
}

/**
 * The CLI as its own process (a store's CA reaches it as NODE_EXTRA_CA_CERTS, which Node reads at
 * start-up only): src/cli/entry.ts, as the image's entrypoint runs the built bin/vault-ops.js.
 */
export async function runCliProcess(args: string[], env: Record<string, string>, home: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'entry.ts'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: home, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { code, stdout, all: stdout + stderr, json: () => JSON.parse(stdout) };
}
