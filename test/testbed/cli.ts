/**
 * `npm run testbed`: start OpenBao, versitygw and PostgreSQL on 127.0.0.1 in the foreground and
 * print the environment to use them, until Ctrl-C (everything is stopped and removed then).
 * `--nodes 3` starts a 3-node Raft cluster; `--kubernetes` also a Kubernetes control plane (etcd,
 * kube-apiserver, kube-controller-manager) and prints its KUBECONFIG, for helm by hand.
 */
import { startPostgres, startS3, startVault } from './index.js';
import { startKubernetes, type KubernetesTestbed } from './kubernetes.js';

const nodes = process.argv.includes('--nodes') && process.argv[process.argv.indexOf('--nodes') + 1] === '3' ? 3 : 1;
const vault = await startVault({ nodes });
const s3 = await startS3().catch(async (err) => {
  await vault.stop();
  throw err;
});
const pg = await startPostgres().catch(async (err) => {
  await vault.stop();
  await s3.stop();
  throw err;
});
await s3.createBucket('vault-ops-demo');
let kube: KubernetesTestbed | undefined;
if (process.argv.includes('--kubernetes')) {
  kube = await startKubernetes({ controllerManager: true }).catch(async (err) => {
    await Promise.allSettled([vault.stop(), s3.stop(), pg.stop()]);
    throw err;
  });
}

console.log(`# ${vault.version} (${nodes} node${nodes > 1 ? 's' : ''}), versitygw ${s3.version}, ${pg.version}
# Test credentials of throw-away servers; they vanish with Ctrl-C.
export VAULT_ADDR=${vault.addr}
export VAULT_TOKEN=${vault.rootToken}
export VAULT_OPS_TEST_UNSEAL_KEY=${vault.unsealKeys[0]}
export AWS_ACCESS_KEY_ID=${s3.accessKeyId}
export AWS_SECRET_ACCESS_KEY=${s3.secretAccessKey}
export AWS_REGION=${s3.region}
export VAULT_OPS_S3_ENDPOINT=${s3.endpoint}
export VAULT_OPS_S3_FORCE_PATH_STYLE=true
# bucket: s3://vault-ops-demo
export DATABASE_URL=${pg.url}
${nodes > 1 ? vault.nodes.map((n) => `# ${n.nodeId}: ${n.addr}`).join('\n') : ''}
${kube ? `# ${kube.version} at ${kube.url} (admin)\nexport KUBECONFIG=${kube.kubeconfig}` : ''}
# Ctrl-C to stop.`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled([vault.stop(), s3.stop(), pg.stop(), kube?.stop()]);
  process.exit(0);
};
process.removeAllListeners('SIGINT');
process.removeAllListeners('SIGTERM');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
setInterval(() => undefined, 60_000);
