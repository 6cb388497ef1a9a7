import { VaultOpsError } from '../../errors.js';
import { clusterProblem, readClusterStatus, type ClusterStatus } from '../../vault/cluster-status.js';
import { flavourName } from '../../vault/flavour.js';
import type { CommandContext } from '../context.js';
import { printJson, printLines, table } from '../output.js';

/** `vault-ops status`: read the cluster's state, render it, fail (after printing) when it is not serving. */
export async function runStatus(ctx: CommandContext): Promise<void> {
  const client = await ctx.vault();
  const status = await readClusterStatus(client, () => ctx.login(client));
  if (ctx.options.output === 'json') printJson(ctx.stdout, status);
  else printLines(ctx.stdout, renderStatus(status));
  const problem = clusterProblem(status);
  if (problem === 'uninitialized')
    throw new VaultOpsError(
      'vault-uninitialized',
      `Vault at ${client.address} is not initialized: initialize it (bao/vault operator init) or point ` +
        `--vault-addr at an initialized cluster`,
    );
  if (problem === 'sealed')
    throw new VaultOpsError(
      'vault-sealed',
      `Vault at ${client.address} is sealed: unseal it (bao/vault operator unseal) with the threshold of ` +
        `unseal keys`,
    );
  if (problem === 'no-leader')
    throw new VaultOpsError(
      'vault-no-leader',
      `Vault at ${client.address} has no active leader: check that a quorum of raft peers is up`,
    );
}

function renderStatus(s: ClusterStatus): string[] {
  const lines = table([
    ['Initialized', String(s.initialized)],
    ['Sealed', String(s.sealed)],
    ['Server', flavourName(s.flavour)],
    ['Version', s.version ?? '-'],
    ['Cluster name', s.clusterName ?? '-'],
    ['Cluster id', s.clusterId ?? '-'],
    ['Leader', s.leader ? `${s.leader.address}${s.leader.isSelf ? ' (this node)' : ''}` : '-'],
    ...(s.autopilot
      ? [
          [
            'Autopilot',
            `${s.autopilot.healthy ? 'healthy' : 'UNHEALTHY'}, failure tolerance ${s.autopilot.failureTolerance}`,
          ],
        ]
      : []),
  ]);
  if (s.peers) {
    lines.push('', 'Raft peers:');
    lines.push(
      ...table(
        [
          ['NODE', 'ADDRESS', 'ROLE', 'VOTER', 'HEALTHY'],
          ...s.peers.map((p) => [
            p.nodeId,
            p.address,
            p.leader ? 'leader' : 'follower',
            p.voter ? 'yes' : 'no',
            p.healthy === undefined ? '-' : p.healthy ? 'yes' : 'NO',
          ]),
        ],
        '  ',
      ),
    );
  }
  return lines;
}
