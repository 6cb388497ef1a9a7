import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * What the testbed's Kubernetes node (node.ts) changes on the machine, made and undone here: the
 * pods' bridge, the node's own cgroup root, the kernel settings the kubelet and the CNI bridge plugin
 * set, and what a node leaves behind (mounts, network namespaces, cgroups, iptables chains). Everything
 * is recorded before the node starts and put back as it was after it stops; nothing that existed
 * before is touched.
 */

const run = promisify(execFile);

/**
 * The kernel settings the node changes: the kubelet sets vm.overcommit_memory=1, kernel.panic=10
 * and kernel.panic_on_oops=1 (its "protect kernel defaults" are off); the bridge plugin turns on
 * IPv4 forwarding for a gateway bridge.
 */
const SYSCTLS = ['vm/overcommit_memory', 'kernel/panic', 'kernel/panic_on_oops', 'net/ipv4/ip_forward'];

export interface HostState {
  sysctls: Map<string, string>;
  netns: Set<string>;
  /** `iptables -t TABLE -S` lines as "TABLE LINE" (the kubelet adds a KUBE-FIREWALL chain and its jumps). */
  iptables: Set<string>;
  /** Whether /var/log/containers existed (the kubelet makes it for its log links). */
  containerLogDir: boolean;
  /** Whether /var/run/netns existed (containerd makes it for the pods' network namespaces). */
  netnsDir: boolean;
}

async function iptablesLines(): Promise<Set<string>> {
  const lines = new Set<string>();
  for (const table of ['filter', 'nat', 'mangle']) {
    const out = await run('iptables', ['-t', table, '-S']).catch(() => ({ stdout: '' }));
    for (const line of out.stdout.split('\n')) if (line) lines.add(`${table} ${line}`);
  }
  return lines;
}

/** Deletes the rules, then the chains, that are in iptables now and were not `before`. */
async function restoreIptables(before: Set<string>, problems: string[]): Promise<void> {
  const added = [...(await iptablesLines())].filter((l) => !before.has(l));
  const ipt = (table: string, args: string[]) =>
    run('iptables', ['-t', table, ...args]).catch((e) =>
      problems.push(`iptables -t ${table} ${args.join(' ')}: ${e.message}`),
    );
  const newChains = new Set(
    added.filter((l) => l.split(' ')[1] === '-N').map((l) => l.split(' ').slice(0, 3).join(' ')),
  );
  // Rules added to chains that were there before (the jumps into the new chains): deleted one by one.
  // Rules of new chains go with their chain (-F), quoted comments and all.
  for (const entry of added.filter((l) => l.split(' ')[1] === '-A')) {
    const [table, , chain, ...rule] = entry.split(' ') as [string, string, string, ...string[]];
    if (!newChains.has(`${table} -N ${chain}`)) await ipt(table, ['-D', chain, ...rule]);
  }
  for (const entry of added.filter((l) => l.split(' ')[1] === '-N')) {
    const [table, , chain] = entry.split(' ') as [string, string, string];
    await ipt(table, ['-F', chain]);
    await ipt(table, ['-X', chain]);
  }
}

const listNetns = async () => new Set(await readdir('/var/run/netns').catch(() => [] as string[]));

export async function recordHost(): Promise<HostState> {
  const sysctls = new Map<string, string>();
  for (const key of SYSCTLS) sysctls.set(key, (await readFile(`/proc/sys/${key}`, 'utf8')).trim());
  const containerLogDir = await readdir('/var/log/containers').then(
    () => true,
    () => false,
  );
  const netnsDir = await readdir('/var/run/netns').then(
    () => true,
    () => false,
  );
  return { sysctls, netns: await listNetns(), iptables: await iptablesLines(), containerLogDir, netnsDir };
}

/** The pods' network: a bridge with the gateway address, made before any server binds to it. */
export interface NodeNetwork {
  bridge: string;
  /** The bridge's address: the pods' gateway, where the servers the pods use listen. */
  gateway: string;
  /** The pods' subnet (a /24). */
  subnet: string;
}

/** A /24 in 10.88.0.0/16 whose bridge name and route this machine does not have yet. */
export async function makeBridge(): Promise<NodeNetwork> {
  const routes = (await run('ip', ['-4', 'route', 'show'])).stdout;
  const links = (await run('ip', ['-o', 'link', 'show'])).stdout;
  for (let attempt = 0; attempt < 20; attempt++) {
    const n = 1 + Math.floor(Math.random() * 250);
    const bridge = `vo-node${n}`;
    const subnet = `10.88.${n}.0/24`;
    if (routes.includes(`10.88.${n}.`) || links.includes(`${bridge}:`)) continue;
    const gateway = `10.88.${n}.1`;
    await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    await run('ip', ['addr', 'add', `${gateway}/24`, 'dev', bridge]);
    await run('ip', ['link', 'set', bridge, 'up']);
    return { bridge, gateway, subnet };
  }
  throw new Error('testbed node: no free 10.88.N.0/24 for the pods bridge (20 tries)');
}

/** Mount points under `dir`, deepest first. */
async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .map((p) => p.replace(/\\040/g, ' '))
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * The node's own cgroup root, `/NAME` in each v1 hierarchy (the kubelet's `cgroupRoot`; it refuses one that
 * does not exist): its pods' cgroups go under `/NAME/kubepods`, never under a machine-wide `/kubepods`. A
 * kubelet's housekeeping SIGKILLs every process in a pod cgroup under its root whose pod it does not know
 * (cleanupOrphanedPodCgroups), so two nodes sharing `/kubepods` (a second checkout's, or one whose test
 * process died and left its kubelet running) kill each other's pods: exit 137 within seconds. cpuset
 * needs its cpus and mems before a task may join a child.
 */
export async function makeCgroupRoot(name: string): Promise<void> {
  for (const hierarchy of await readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
    const parent = join('/sys/fs/cgroup', hierarchy);
    await mkdir(join(parent, name), { recursive: true });
    if (hierarchy !== 'cpuset') continue;
    for (const file of ['cpuset.cpus', 'cpuset.mems'])
      await writeFile(join(parent, name, file), await readFile(join(parent, file), 'utf8'));
  }
}

/** The cgroup directory `name` at the top of each v1 hierarchy, removed depth first (empty by then). */
async function removeCgroups(name: string): Promise<string[]> {
  const left: string[] = [];
  const removeTree = async (path: string): Promise<void> => {
    const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await removeTree(join(path, e.name));
    await rmdir(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') left.push(`${path}: ${err.code}`);
    });
  };
  for (const hierarchy of await readdir('/sys/fs/cgroup').catch(() => [] as string[]))
    await removeTree(join('/sys/fs/cgroup', hierarchy, name));
  return left;
}

/**
 * Undo the node's traces on the machine: unmount what is mounted under `dir`, delete the network
 * namespaces and iptables chains that appeared since `before`, the bridge and the node's cgroup root
 * (`cgroupRoot`, when it made one), and put the kernel settings back. Returns what could not be undone
 * (empty when all went).
 */
export async function restoreHost(
  before: HostState,
  network: NodeNetwork | undefined,
  dir: string,
  cgroupRoot?: string,
) {
  const problems: string[] = [];
  for (const mount of await mountsUnder(dir))
    await run('umount', ['--lazy', mount]).catch((e) => problems.push(`umount ${mount}: ${e.message}`));
  for (const ns of await listNetns())
    if (!before.netns.has(ns))
      await run('ip', ['netns', 'delete', ns]).catch((e) => problems.push(`netns ${ns}: ${e.message}`));
  if (network)
    await run('ip', ['link', 'delete', network.bridge]).catch((e) => problems.push(`${network.bridge}: ${e.message}`));
  await restoreIptables(before.iptables, problems);
  if (!before.containerLogDir) await rmdir('/var/log/containers').catch(() => undefined);
  if (!before.netnsDir) await rmdir('/var/run/netns').catch(() => undefined);
  if (cgroupRoot) problems.push(...(await removeCgroups(cgroupRoot)));
  for (const [key, value] of before.sysctls) {
    const now = (await readFile(`/proc/sys/${key}`, 'utf8')).trim();
    if (now !== value)
      await writeFile(`/proc/sys/${key}`, value).catch((e) => problems.push(`sysctl ${key}: ${e.message}`));
  }
  return problems;
}
