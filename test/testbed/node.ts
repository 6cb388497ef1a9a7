import { acquireNodeLock, releaseNodeLock } from './node-lock.js';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { findBinary } from './cached-binary.js';
import { KUBERNETES_VERSION, type KubernetesTestbed } from './kubernetes.js';
import { makeBridge, makeCgroupRoot, recordHost, restoreHost, type HostState, type NodeNetwork } from './node-host.js';
import { freePorts } from './ports.js';
import { makeTempDir, startServerProcess, waitUntil, type ServerProcess } from './server-process.js';

/**
 * A Kubernetes node for the testbed's control plane, so that the chart's pods really run: containerd
 * (Debian's, its CRI with runc) with the images imported under their final names, a kubelet and
 * kube-scheduler v1.37 built from their Go module (build.sh `kubernetes`), and a CNI bridge.
 * Everything in a temp dir, on loopback except the pods' bridge; stop() leaves the machine as it was
 * (node-host.ts).
 *
 * Facts of this machine kind that the settings follow (measured):
 * - runc works, crun does not ("cgroups in hybrid mode not supported"): the CRI's runtime is runc.
 * - cgroup v1: the kubelet needs `failCgroupV1: false` and `cgroupDriver: cgroupfs`.
 * - its pods' cgroups live under the node's own root (`cgroupRoot`, node-host.ts makeCgroupRoot): a
 *   kubelet SIGKILLs the processes of any pod cgroup under its root that is not one of its pods, so
 *   nodes sharing the machine's /kubepods killed each other's pods (exit 137, no OOM).
 * - CAP_SYS_RESOURCE is withheld: containerd's CRI needs `restrict_oom_score_adj = true` (it would
 *   lower a container's oom_score_adj below its own) and the kubelet `oomScoreAdj: 0` (-999 otherwise).
 * - pods cannot reach servers bound to 127.0.0.1 (their own loopback): the servers the pods use listen
 *   on the bridge's gateway address (`network.gateway`), made before the servers start.
 * - images: no registry; the image archives image.sh built are imported, pull policy Never, and the
 *   sandbox image is image.sh's pause.
 * The kubelet authenticates with a client certificate of the cluster CA (system:node:NAME), so the
 * API server's Node authorizer limits it to its own pods' Secrets, ConfigMaps and tokens, as in a
 * cluster. Its own API listens on 127.0.0.1 only.
 */

const run = promisify(execFile);
export const NODE_NAME = 'vault-ops-node';

export interface KubeNode {
  name: string;
  network: NodeNetwork;
  /** `kubelet --version`, `containerd --version`, `runc --version` (first lines). */
  versions: { kubelet: string; containerd: string; runc: string };
  processes: ServerProcess[];
  /** The OCI runtime spec containerd gave runc for a container (`containerd://ID` as a Pod's status says). */
  containerSpec(containerId: string): Promise<any>;
  /** A container's log as `kubectl logs` shows it (the API server asks the kubelet), as text. */
  containerLog(namespace: string, pod: string, container: string): Promise<string>;
  /** The kubelet's and containerd's log lines that mention any of `needles` (a pod's name, uid, container id). */
  serverLogLines(needles: string[]): Promise<string>;
  stop(): Promise<void>;
}

export interface StartNodeOptions {
  /** The bridge, made before the servers the pods use started (startNodeNetwork). */
  network: NodeNetwork;
  /** docker-archive files to import (each names its image). */
  images: string[];
  /** The CRI sandbox image (one of `images`). */
  pauseImage: string;
}

const kubeBinary = (file: string) =>
  findBinary({
    envVar: `VAULT_OPS_${file.toUpperCase().replace(/-/g, '_')}_BINARY`,
    cacheDir: `kubernetes-${KUBERNETES_VERSION}`,
    file,
    pathNames: [file],
    buildTarget: 'kubernetes',
  });

const firstLine = async (cmd: string, args: string[]) => (await run(cmd, args)).stdout.split('\n')[0]!.trim();

/** The host record and the pods' bridge: call before starting the servers the pods use. */
export async function startNodeNetwork(): Promise<{ host: HostState; network: NodeNetwork }> {
  for (const tool of ['containerd', 'runc', 'ctr', 'ip']) {
    await run('sh', ['-c', `command -v ${tool}`]).catch(() => {
      throw new Error(
        `testbed node: ${tool} is missing: apt-get install containerd runc containernetworking-plugins iproute2`,
      );
    });
  }
  if (process.getuid?.() !== 0) throw new Error('testbed node: the kubelet and containerd need root');
  await acquireNodeLock();
  try {
    const host = await recordHost();
    return { host, network: await makeBridge() };
  } catch (err) {
    await releaseNodeLock();
    throw err;
  }
}

/** Undo startNodeNetwork when no node was started on it (a start that failed half-way). */
export async function stopNodeNetwork(made: { host: HostState; network: NodeNetwork }): Promise<void> {
  const problems = await restoreHost(made.host, made.network, '/nonexistent-vault-ops-node');
  await releaseNodeLock();
  if (problems.length) throw new Error(`testbed node: could not undo: ${problems.join('; ')}`);
}

function containerdConfig(dir: string, sock: string, pause: string, cni: string): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${dir}/root"
state = "${dir}/state"
[grpc]
  address = "${sock}"
[ttrpc]
  address = "${sock}.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"
[${cri}]
  sandbox_image = "${pause}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[${cri}.containerd.runtimes.runc.options]
  BinaryName = "runc"
  SystemdCgroup = false
[${cri}.cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "${cni}"
`;
}

function kubeletConfig(
  sock: string,
  address: string,
  port: number,
  healthzPort: number,
  caFile: string,
  logs: string,
  cgroupRoot: string,
) {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // On the bridge's address, where the API server reaches it for logs (client certificate of the CA).
    address,
    port,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: caFile } },
    authorization: { mode: 'AlwaysAllow' },
    containerRuntimeEndpoint: `unix://${sock}`,
    cgroupDriver: 'cgroupfs',
    // This node's pods under /NAME/kubepods, not the machine's /kubepods (node-host.ts makeCgroupRoot):
    // a kubelet kills whatever runs in a pod cgroup under its root that is not one of its pods.
    cgroupRoot: `/${cgroupRoot}`,
    failCgroupV1: false,
    oomScoreAdj: 0,
    failSwapOn: false,
    resolvConf: '/etc/resolv.conf',
    // The machine's disk is shared: never evict the test's pods or collect its imported images.
    evictionHard: { 'memory.available': '1%', 'nodefs.available': '1%', 'imagefs.available': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    podLogsDir: logs,
    // 2: the kubelet says why it kills a container ("Killing container with a grace period", V(2)).
    logging: { verbosity: 2 },
  };
}

export async function startNode(kube: KubernetesTestbed, options: StartNodeOptions & { host: HostState }) {
  const { network, host } = options;
  const dir = await makeTempDir('node');
  const processes: ServerProcess[] = [];
  const sock = join(dir, 'containerd', 'containerd.sock');
  // The node's cgroup root: the temp dir's unique name.
  const cgroupRoot = basename(dir);
  let kubeletRoot = '';

  const stop = async () => {
    // Pods first, through the API, while the kubelet still runs them: it stops their containers and
    // sandboxes (the CNI takes their addresses back) and confirms each deletion.
    const onNode = async (): Promise<any[]> =>
      (await kube.request('GET', `/api/v1/pods?fieldSelector=spec.nodeName%3D${NODE_NAME}`).catch(() => undefined))
        ?.body.items ?? [];
    for (const pod of await onNode())
      await kube
        .request('DELETE', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, undefined, {
          allow: [404],
        })
        .catch(() => undefined);
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && (await onNode()).length > 0; ) await sleep(500);
    for (const p of [...processes].reverse().filter((p) => p.name !== 'containerd')) await p.stop();
    // Whatever the kubelet left: the CRI's containers and sandboxes, then containerd and its shims.
    const ctr = (...args: string[]) => run('ctr', ['-a', sock, '-n', 'k8s.io', ...args]).catch(() => ({ stdout: '' }));
    const tasks = (await ctr('tasks', 'ls', '-q')).stdout.split('\n').filter(Boolean);
    for (const id of tasks) await ctr('tasks', 'kill', '-s', 'SIGKILL', id);
    await sleep(tasks.length ? 500 : 0);
    for (const id of tasks) await ctr('tasks', 'rm', '-f', id);
    for (const id of (await ctr('containers', 'ls', '-q')).stdout.split('\n').filter(Boolean))
      await ctr('containers', 'rm', id);
    for (const p of processes.filter((p) => p.name === 'containerd')) await p.stop();
    await killShims(sock);
    // The kubelet links each container's log into /var/log/containers (a fixed path): only ours go.
    for (const link of await readdir('/var/log/containers').catch(() => [] as string[])) {
      const target = await readlink(join('/var/log/containers', link)).catch(() => '');
      if (target.startsWith(`${dir}/`)) await rm(join('/var/log/containers', link), { force: true });
    }
    const problems = await restoreHost(host, network, dir, cgroupRoot);
    await rm(dir, { recursive: true, force: true }).catch((e) => problems.push(`rm ${dir}: ${e.message}`));
    if (kubeletRoot) await rm(kubeletRoot, { recursive: true, force: true }).catch(() => undefined);
    await releaseNodeLock();
    if (problems.length) throw new Error(`testbed node: could not undo: ${problems.join('; ')}`);
  };

  try {
    const cni = join(dir, 'cni');
    await mkdir(cni, { recursive: true });
    await writeFile(
      join(cni, '10-vault-ops.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'vault-ops-testbed',
        plugins: [
          {
            type: 'bridge',
            bridge: network.bridge,
            isGateway: true,
            ipMasq: false,
            ipam: {
              type: 'host-local',
              ranges: [[{ subnet: network.subnet, gateway: network.gateway }]],
              dataDir: join(dir, 'cni-ipam'),
            },
          },
        ],
      }),
    );
    await mkdir(join(dir, 'containerd'), { recursive: true });
    const config = join(dir, 'containerd', 'config.toml');
    await writeFile(config, containerdConfig(join(dir, 'containerd'), sock, options.pauseImage, cni));
    const containerd = await startServerProcess({
      name: 'containerd',
      command: 'containerd',
      // info: the CRI's StopContainer, its kills and each task's exit (a container's end, explained).
      args: ['--config', config, '--log-level', 'info'],
      dir,
      keepDir: true,
    });
    processes.push(containerd);
    await waitUntil('containerd', async () => (await run('ctr', ['-a', sock, 'version'])).stdout.includes('Server'), {
      server: containerd,
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    for (const archive of options.images) await run('ctr', ['-a', sock, '-n', 'k8s.io', 'images', 'import', archive]);

    await makeCgroupRoot(cgroupRoot);
    const [port, healthzPort, schedulerPort] = await freePorts(3);
    const kubeletConfigFile = join(dir, 'kubelet.json');
    await writeFile(
      kubeletConfigFile,
      JSON.stringify(
        kubeletConfig(sock, network.gateway, port!, healthzPort!, kube.caFile, join(dir, 'pod-logs'), cgroupRoot),
      ),
    );
    // The kubelet's root dir holds the pods' volumes; outside /tmp, since tmpfs Secrets mount under it.
    kubeletRoot = join(dir, 'kubelet');
    const kubelet = await startServerProcess({
      name: 'kubelet',
      command: kubeBinary('kubelet'),
      args: [
        `--config=${kubeletConfigFile}`,
        `--kubeconfig=${await kube.clientKubeconfig('kubelet', `system:node:${NODE_NAME}`, 'system:nodes')}`,
        `--hostname-override=${NODE_NAME}`,
        `--node-ip=${network.gateway}`,
        `--root-dir=${kubeletRoot}`,
        `--cert-dir=${join(dir, 'kubelet-pki')}`,
      ],
      dir,
      keepDir: true,
    });
    processes.push(kubelet);
    const scheduler = await startServerProcess({
      name: 'kube-scheduler',
      command: kubeBinary('kube-scheduler'),
      args: [
        `--kubeconfig=${await kube.clientKubeconfig('scheduler', 'system:kube-scheduler')}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        `--secure-port=${schedulerPort}`,
        `--cert-dir=${join(dir, 'scheduler-pki')}`,
        '--v=1',
      ],
      dir,
      keepDir: true,
    });
    processes.push(scheduler);
    await waitUntil(
      `node ${NODE_NAME} Ready and untainted`,
      async () => {
        const node = (await kube.request('GET', `/api/v1/nodes/${NODE_NAME}`, undefined, { allow: [404] })).body;
        const ready = node?.status?.conditions?.find((c: any) => c.type === 'Ready')?.status === 'True';
        return ready && !(node.spec.taints ?? []).some((t: any) => t.effect === 'NoSchedule');
      },
      { server: kubelet, timeoutMs: 120_000, intervalMs: 500 },
    );
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }

  return {
    name: NODE_NAME,
    network,
    versions: {
      kubelet: await firstLine(kubeBinary('kubelet'), ['--version']),
      containerd: await firstLine('containerd', ['--version']),
      runc: await firstLine('runc', ['--version']),
    },
    processes,
    async containerSpec(containerId: string) {
      const id = containerId.replace(/^containerd:\/\//, '');
      const info = await run('ctr', ['-a', sock, '-n', 'k8s.io', 'containers', 'info', id]);
      return JSON.parse(info.stdout).Spec;
    },
    async containerLog(namespace: string, pod: string, container: string) {
      // What `kubectl logs` asks: the API server fetches it from the kubelet's API.
      // As text: a log of one JSON line would come back parsed (an object) otherwise.
      const path = `/api/v1/namespaces/${namespace}/pods/${pod}/log?container=${container}`;
      return (await kube.request<string>('GET', path, undefined, { text: true })).body;
    },
    async serverLogLines(needles: string[]) {
      const out: string[] = [];
      for (const p of processes.filter((p) => p.name === 'kubelet' || p.name === 'containerd')) {
        const lines = (await p.log()).split('\n').filter((l) => needles.some((n) => n && l.includes(n)));
        out.push(`--- ${p.name} (${lines.length} lines) ---`, ...lines.slice(-60));
      }
      return out.join('\n');
    },
    stop,
  } satisfies KubeNode;
}

/** containerd's shims outlive containerd: end those serving this node's containerd, by their pid. */
async function killShims(sock: string): Promise<void> {
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.startsWith('/usr/bin/containerd-shim') && cmdline.includes(sock)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
  }
}
