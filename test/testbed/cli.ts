/**
 * `npm run testbed`: start OpenBao (or HashiCorp Vault), versitygw and PostgreSQL on 127.0.0.1 in
 * the foreground and print the environment to use them, until Ctrl-C (everything is stopped and
 * removed then). `npm run testbed -- --help` lists the options.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { addDynamicRole, configurePostgresConnection, mountDatabaseEngine } from '../helpers/database-engine.js';
import { bootstrapRequest } from './bootstrap-http.js';
import { startPostgres, startS3, startVault } from './index.js';
import { stringify } from 'yaml';
import { chartValues, prepareChartRelease } from './chart-release.js';
import { testbedImages } from './images.js';
import { startKubernetes, type KubernetesTestbed } from './kubernetes.js';
import { startNode, startNodeNetwork, stopNodeNetwork, type KubeNode } from './node.js';
import type { TestServerName } from './servers.js';

export const TESTBED_USAGE = `usage: npm run testbed -- [options]

Starts throw-away servers on 127.0.0.1 and prints the environment to use them; Ctrl-C stops them and
removes their data.

  --server openbao|vault  the Vault flavour (default openbao; vault needs its 20-30 min build)
  --nodes 1|3             a single node (default) or a 3-node Raft cluster
  --database              set up the database secrets engine as runbooks/rotate-root.md uses it:
                          mount database, connection pg (admin user vault_admin, sslmode=disable:
                          this PostgreSQL has no TLS), dynamic role ro
  --kubernetes            also a Kubernetes control plane (etcd, kube-apiserver, controller-manager)
                          and a node that runs pods (containerd + runc, kubelet, kube-scheduler, a CNI
                          bridge) with the chart's image built from the Dockerfile imported; the
                          servers then listen on the bridge's gateway over TLS, where pods reach them,
                          Kubernetes auth is set up, and a values file for helm written. Prints the
                          KUBECONFIG (admin) and the commands to try the chart by hand (as root)
  --help                  this text`;

function parse(argv: string[]) {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        help: { type: 'boolean' },
        server: { type: 'string' },
        nodes: { type: 'string' },
        database: { type: 'boolean' },
        kubernetes: { type: 'boolean' },
      },
      strict: true,
    });
    const server = (values.server ?? 'openbao') as TestServerName;
    if (!['openbao', 'vault'].includes(server)) throw new Error(`--server ${values.server}: openbao or vault`);
    const nodes = Number(values.nodes ?? '1');
    if (nodes !== 1 && nodes !== 3) throw new Error(`--nodes ${values.nodes}: 1 or 3`);
    return {
      help: values.help === true,
      server,
      nodes: nodes as 1 | 3,
      database: values.database === true,
      kubernetes: values.kubernetes === true,
    };
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n${TESTBED_USAGE}\n`);
    process.exit(2);
  }
}

const options = parse(process.argv.slice(2));
if (options.help) {
  process.stdout.write(`${TESTBED_USAGE}\n`);
  process.exit(0);
}

// The servers run in process groups of their own: Ctrl-C reaches this process only, which stops them in
// order and removes their data (a terminal's SIGINT to the whole group made PostgreSQL and the server
// quit under their own steam, "exited while in use", and left their directories behind).
process.env.VAULT_OPS_TESTBED_DETACHED = '1';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const work = await mkdtemp(join(tmpdir(), 'vault-ops-testbed-'));
process.env.VAULT_OPS_TEST_SERVER = options.server;
// With --kubernetes, the pods' bridge first: the servers listen on its gateway, where pods reach them.
const nodeNetwork = options.kubernetes ? await startNodeNetwork() : undefined;
const host = nodeNetwork?.network.gateway;
// There, over TLS (throw-away CAs): vault-ops refuses plaintext http off loopback.
const vault = await startVault({ nodes: options.nodes, ...(host ? { host, tls: true } : {}) });
const s3 = await startS3(host ? { host, tls: true } : {}).catch(async (err) => {
  await vault.stop();
  throw err;
});
const pg = await startPostgres().catch(async (err) => {
  await vault.stop();
  await s3.stop();
  throw err;
});
let kube: KubernetesTestbed | undefined;
let node: KubeNode | undefined;
let stopping = false;
const stop = async (code = 0) => {
  if (stopping) return;
  stopping = true;
  process.stdout.write('\n# stopping: the servers and their data go away\n');
  // The node first: its pods, containerd, mounts, the bridge, the kernel settings it changed.
  await (node ? node.stop() : nodeNetwork && stopNodeNetwork(nodeNetwork))?.catch((err) =>
    process.stderr.write(`testbed: ${(err as Error).message}\n`),
  );
  await Promise.allSettled([
    vault.stop(),
    s3.stop(),
    pg.stop(),
    kube?.stop(),
    rm(work, { recursive: true, force: true }),
  ]);
  process.exit(code);
};
process.removeAllListeners('SIGINT');
process.removeAllListeners('SIGTERM');
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

try {
  await s3.createBucket('vault-ops-demo');
  // The runbooks' keys.txt: the unseal keys, one per line, 0600.
  const keysFile = join(work, 'keys.txt');
  await writeFile(keysFile, `${vault.unsealKeys.join('\n')}\n`, { mode: 0o600 });
  let database = '';
  if (options.database) {
    const password = `A${randomBytes(12).toString('hex')}`;
    await pg.query(`CREATE ROLE vault_admin WITH LOGIN CREATEROLE PASSWORD '${password}'`);
    const api = (method: string, path: string, body?: unknown) =>
      bootstrapRequest(vault.addr, method, path, { token: vault.rootToken, ...(body !== undefined ? { body } : {}) });
    await mountDatabaseEngine(api, vault, 'database');
    await configurePostgresConnection(api, pg, {
      mount: 'database',
      connection: 'pg',
      username: 'vault_admin',
      password,
      mountIt: false,
    });
    await addDynamicRole(api, { mount: 'database', connection: 'pg', role: 'ro' });
    database =
      '# database engine: mount database, connection pg (user vault_admin, sslmode=disable), dynamic role ro\n' +
      '#   vault-ops runbook rotate-root --mount database --connection pg --dry-run\n';
  }
  let nodeText = '';
  if (options.kubernetes && nodeNetwork) {
    const [k, images] = await Promise.all([
      startKubernetes({ controllerManager: true, nodes: true }),
      testbedImages(options.server),
    ]);
    kube = k;
    node = await startNode(kube, {
      ...nodeNetwork,
      images: [images.pauseArchive, images.archive],
      pauseImage: images.pause,
    });
    // docs/kubernetes.md steps 2-4 done (snapshot's policy and role), and step 5's values written.
    await prepareChartRelease({ kube, vault, s3, namespace: 'vault-ops', jobs: [['snapshot']] });
    const valuesFile = join(work, 'values.yaml');
    await writeFile(valuesFile, stringify(chartValues({ images, vault, s3, store: 's3://vault-ops-demo/vault' })));
    nodeText =
      `# node ${node.name}: ${node.versions.kubelet}, ${node.versions.containerd}, ${node.versions.runc}\n` +
      `# the chart's image (built from the Dockerfile, imported): ${images.name}\n` +
      '# Vault side (Kubernetes auth, the snapshot role) and namespace vault-ops (CAs, Secrets) are set up:\n' +
      `#   helm install vault-ops ${join(repoRoot, 'charts', 'vault-ops')} -n vault-ops -f ${valuesFile}\n` +
      '#   kubectl -n vault-ops create job snapshot-now --from=cronjob/vault-ops-snapshot\n' +
      '#   kubectl -n vault-ops logs -f job/snapshot-now\n' +
      `export VAULT_CACERT=${vault.tls!.caFile}\n` +
      `export NODE_EXTRA_CA_CERTS=${s3.tls!.caFile}   # versitygw's CA, for vault-ops on this machine\n`;
  }
  const bin = vault.server.name === 'vault' ? 'vault' : 'bao';
  const size = `${options.nodes} node${options.nodes > 1 ? 's' : ''}`;

  console.log(`# ${vault.version} (${size}), versitygw ${s3.version}, ${pg.version}
# Test credentials of throw-away servers; they vanish with Ctrl-C.
export VAULT_ADDR=${vault.addr}
export VAULT_TOKEN=${vault.rootToken}
# unseal keys file (the runbooks' keys.txt): ${keysFile}
export VAULT_OPS_UNSEAL_KEYS_FILE=${keysFile}
export AWS_ACCESS_KEY_ID=${s3.accessKeyId}
export AWS_SECRET_ACCESS_KEY=${s3.secretAccessKey}
export AWS_REGION=${s3.region}
export VAULT_OPS_S3_ENDPOINT=${s3.endpoint}
export VAULT_OPS_S3_FORCE_PATH_STYLE=true
# bucket: s3://vault-ops-demo
export DATABASE_URL=${pg.url}
# ${bin} (the server's CLI) and vault-ops:
export PATH=${dirname(vault.binary)}:$PATH
alias vault-ops='node ${join(repoRoot, 'bin', 'vault-ops.js')}'   # after npm ci (it builds dist/)
${database}${options.nodes > 1 ? vault.nodes.map((n) => `# ${n.nodeId}: ${n.addr}`).join('\n') : ''}
${kube ? `# ${kube.version} at ${kube.url} (admin)\nexport KUBECONFIG=${kube.kubeconfig}\n${nodeText}` : ''}
# Ctrl-C to stop.`);
} catch (err) {
  process.stderr.write(`testbed: ${(err as Error).message}\n`);
  await stop(1);
}
setInterval(() => undefined, 60_000);
