import { mkdir, rm, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { bootstrapRequest } from './bootstrap-http.js';
import { binaryVersion, serverBinary, testServer, type TestServer } from './servers.js';
import { freePorts } from './ports.js';
import { makeTempDir, startServerProcess, waitUntil, type ServerProcess } from './server-process.js';
import { makeTestCertificates, type TestCertificates } from './tls.js';

export interface VaultNode {
  nodeId: string;
  addr: string;
  apiPort: number;
  clusterPort: number;
  dataDir: string;
  process: ServerProcess;
  /** Stop the server process, keeping its data. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Start it again on the same data and ports (it comes back sealed). */
  restart(): Promise<void>;
  unseal(keys?: string[]): Promise<void>;
  seal(token?: string): Promise<void>;
}

/**
 * A request to `vault` with its root token (and its CA when it serves TLS), through the testbed's own
 * client: what tests use to set a server up and to look at it.
 */
export function rootRequest<T = any>(vault: VaultTestbed, method: string, path: string, body?: unknown) {
  return bootstrapRequest<T>(vault.addr, method, path, {
    token: vault.rootToken,
    ...(vault.tls ? { ca: vault.tls.caPem } : {}),
    ...(body !== undefined ? { body } : {}),
  });
}

export interface VaultTestbed {
  /** Address of the first node (the leader right after start). */
  addr: string;
  rootToken: string;
  unsealKeys: string[];
  nodes: VaultNode[];
  binary: string;
  /** First line of `<binary> version`. */
  version: string;
  /** The server of the matrix this is (flavour, version, differences). */
  server: TestServer;
  tls?: TestCertificates;
  /** The first node's listener that requires client certificates (`mtlsClientCaFile`). */
  mtlsAddr?: string;
  /** Address of whichever node is active now. */
  leaderAddr(): Promise<string>;
  stop(): Promise<void>;
}

export interface StartVaultOptions {
  nodes?: 1 | 3;
  /** Serve the API over TLS with a throw-away CA (see `tls.caFile`). */
  tls?: boolean;
  /** Run `operator init` (default true). */
  initialize?: boolean;
  /** Unseal after init (default true). */
  unseal?: boolean;
  /** A seal stanza (HCL) for auto-unseal, e.g. `seal "transit"`; init then makes recovery keys. */
  sealConfig?: string;
  /** `raw_storage_endpoint = true`: Vault serves sys/raw outside recovery mode only with it. */
  rawStorageEndpoint?: boolean;
  /**
   * With `tls`: a second listener (`mtlsAddr`) that requires a client certificate signed by this CA
   * (PEM file) on every connection (`tls_require_and_verify_client_cert`). The first listener only
   * requests one, as Vault's listeners do by default (what TLS certificate auth reads).
   */
  mtlsClientCaFile?: string;
  /** The address to listen on (default 127.0.0.1): the testbed node's bridge gateway for its pods. */
  host?: string;
}

function nodeConfig(
  node: { nodeId: string; apiPort: number; clusterPort: number; dataDir: string; mtlsPort?: number },
  tls?: TestCertificates,
  sealConfig = '',
  rawStorageEndpoint = false,
  mtlsClientCaFile?: string,
  host = '127.0.0.1',
): string {
  const mtls =
    tls && mtlsClientCaFile && node.mtlsPort
      ? `listener "tcp" {
  address                            = "127.0.0.1:${node.mtlsPort}"
  tls_cert_file                      = "${tls.certFile}"
  tls_key_file                       = "${tls.keyFile}"
  tls_client_ca_file                 = "${mtlsClientCaFile}"
  tls_require_and_verify_client_cert = true
}
`
      : '';
  const scheme = tls ? 'https' : 'http';
  const tlsLines = tls ? `tls_cert_file = "${tls.certFile}"\n  tls_key_file = "${tls.keyFile}"` : 'tls_disable = true';
  return `storage "raft" {
  path    = "${node.dataDir}"
  node_id = "${node.nodeId}"
}
listener "tcp" {
  address         = "${host}:${node.apiPort}"
  cluster_address = "${host}:${node.clusterPort}"
  ${tlsLines}
}
${mtls}api_addr      = "${scheme}://${host}:${node.apiPort}"
cluster_addr  = "https://${host}:${node.clusterPort}"
disable_mlock = true
ui            = false
log_level     = "info"
${rawStorageEndpoint ? 'raw_storage_endpoint = true\n' : ''}${sealConfig}
`;
}

export async function startVault(options: StartVaultOptions = {}): Promise<VaultTestbed> {
  const server = testServer();
  const binary = serverBinary(server);
  const version = binaryVersion(binary);
  // A binary of the other flavour would make every test below prove the wrong server.
  if (!version.startsWith(`${server.product} v`))
    throw new Error(
      `testbed: ${binary} reports "${version}", expected ${server.product} v${server.version} for ` +
        `VAULT_OPS_TEST_SERVER=${server.name}`,
    );
  const product = server.product;
  const count = options.nodes ?? 1;
  const root = await makeTempDir('vault');
  await chmod(root, 0o700);
  const tls = options.tls ? makeTestCertificates(root, 'server', options.host ? [options.host] : []) : undefined;
  const ca = tls?.caPem;
  if (options.mtlsClientCaFile && !options.tls) throw new Error('testbed: mtlsClientCaFile needs tls: true');
  const ports = await freePorts(count * 2 + (options.mtlsClientCaFile ? 1 : 0));
  const mtlsPort = options.mtlsClientCaFile ? ports[count * 2] : undefined;
  const nodes: VaultNode[] = [];
  let unsealKeys: string[] = [];
  let rootToken = '';

  const makeNode = async (index: number): Promise<VaultNode> => {
    const nodeId = `node${index + 1}`;
    const apiPort = ports[index * 2]!;
    const clusterPort = ports[index * 2 + 1]!;
    const nodeDir = join(root, nodeId);
    const dataDir = join(nodeDir, 'data');
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const configFile = join(nodeDir, 'config.hcl');
    await writeFile(
      configFile,
      nodeConfig(
        { nodeId, apiPort, clusterPort, dataDir, ...(index === 0 && mtlsPort ? { mtlsPort } : {}) },
        tls,
        options.sealConfig,
        options.rawStorageEndpoint,
        options.mtlsClientCaFile,
        options.host,
      ),
      { mode: 0o600 },
    );
    const addr = `${tls ? 'https' : 'http'}://${options.host ?? '127.0.0.1'}:${apiPort}`;
    const launch = async () => {
      const proc = await startServerProcess({
        name: `${server.name}-${nodeId}`,
        command: binary,
        args: ['server', `-config=${configFile}`],
        dir: nodeDir,
        keepDir: true,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: nodeDir },
      });
      await waitUntil(
        `${product} ${nodeId} at ${addr}`,
        async () => (await bootstrapRequest(addr, 'GET', 'sys/seal-status', { ...(ca ? { ca } : {}) })).status === 200,
        { server: proc, timeoutMs: 60_000 },
      );
      return proc;
    };
    const node: VaultNode = {
      nodeId,
      addr,
      apiPort,
      clusterPort,
      dataDir,
      process: await launch(),
      async kill(signal: NodeJS.Signals = 'SIGTERM') {
        if (signal === 'SIGTERM') {
          await node.process.stop();
        } else {
          node.process.child.kill(signal);
          await node.process.exited;
          await node.process.stop();
        }
      },
      async restart() {
        await node.process.stop();
        node.process = await launch();
      },
      async unseal(keys = unsealKeys) {
        for (const key of keys) {
          const { body } = await bootstrapRequest(addr, 'POST', 'sys/unseal', { body: { key }, ...(ca ? { ca } : {}) });
          if (!body.sealed) break;
        }
        await waitUntil(
          `${product} ${nodeId} unsealed`,
          async () => {
            const { body } = await bootstrapRequest(addr, 'GET', 'sys/seal-status', { ...(ca ? { ca } : {}) });
            return body.sealed === false;
          },
          { server: node.process },
        );
        // Unsealed is not yet serving: wait until the node is active or a standby that knows its
        // leader. A single node must become active itself: right after a restore it may still
        // advertise the snapshot's leader (another cluster's node) and redirect there.
        if (rootToken) {
          await waitUntil(
            `${product} ${nodeId} serving`,
            async () => {
              const { status } = await bootstrapRequest(addr, 'GET', 'sys/health', {
                okStatuses: [200, 429, 472, 473, 501, 503],
                ...(ca ? { ca } : {}),
              });
              if (status === 200) return true;
              if (status !== 429 || count === 1) return false;
              const { body } = await bootstrapRequest(addr, 'GET', 'sys/leader', { ...(ca ? { ca } : {}) });
              return Boolean(body.leader_address);
            },
            { server: node.process, timeoutMs: 60_000 },
          );
        }
      },
      async seal(token = rootToken) {
        await bootstrapRequest(addr, 'POST', 'sys/seal', { token, ...(ca ? { ca } : {}) });
      },
    };
    return node;
  };

  try {
    for (let i = 0; i < count; i++) nodes.push(await makeNode(i));
    const first = nodes[0]!;
    if (options.initialize !== false) {
      const auto = options.sealConfig !== undefined;
      const { body } = await bootstrapRequest(first.addr, 'POST', 'sys/init', {
        body: auto ? { recovery_shares: 1, recovery_threshold: 1 } : { secret_shares: 1, secret_threshold: 1 },
        ...(ca ? { ca } : {}),
      });
      // Auto-unseal: the recovery keys stand where unseal keys would (they never unseal).
      unsealKeys = (auto ? body.recovery_keys_base64 : body.keys_base64) as string[];
      rootToken = body.root_token as string;
      if (options.unseal !== false) {
        if (!auto) await first.unseal();
        await waitForActive(first.addr, ca);
        for (const node of nodes.slice(1)) {
          await bootstrapRequest(node.addr, 'POST', 'sys/storage/raft/join', {
            body: { leader_api_addr: first.addr, ...(ca ? { leader_ca_cert: ca } : {}) },
            ...(ca ? { ca } : {}),
          });
          await node.unseal();
        }
        if (nodes.length > 1) await waitForVoters(first.addr, rootToken, nodes.length, ca);
      }
    }
  } catch (err) {
    for (const node of nodes) await node.process.stop().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
    throw err;
  }

  return {
    addr: nodes[0]!.addr,
    rootToken,
    unsealKeys,
    nodes,
    binary,
    version,
    server,
    ...(tls ? { tls } : {}),
    ...(mtlsPort ? { mtlsAddr: `https://127.0.0.1:${mtlsPort}` } : {}),
    async leaderAddr() {
      const { body } = await bootstrapRequest(nodes[0]!.addr, 'GET', 'sys/leader', { ...(ca ? { ca } : {}) });
      return body.leader_address as string;
    },
    async stop() {
      for (const node of nodes) await node.process.stop().catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function waitForActive(addr: string, ca?: string): Promise<void> {
  await waitUntil(
    `server at ${addr} active`,
    async () => {
      const { status } = await bootstrapRequest(addr, 'GET', 'sys/health', {
        okStatuses: [200, 429, 472, 473, 501, 503],
        ...(ca ? { ca } : {}),
      });
      return status === 200;
    },
    { timeoutMs: 60_000 },
  );
}

/** Wait until the raft configuration lists `count` voters (autopilot promotes joined nodes after stabilisation). */
async function waitForVoters(addr: string, token: string, count: number, ca?: string): Promise<void> {
  // Shorten autopilot's stabilisation so that joined non-voters get promoted quickly.
  await bootstrapRequest(addr, 'POST', 'sys/storage/raft/autopilot/configuration', {
    token,
    body: { server_stabilization_time: '1s', cleanup_dead_servers: false },
    ...(ca ? { ca } : {}),
  });
  await waitUntil(
    `raft cluster of ${count} voters`,
    async () => {
      const { body } = await bootstrapRequest(addr, 'GET', 'sys/storage/raft/configuration', {
        token,
        ...(ca ? { ca } : {}),
      });
      const servers = (body.data?.config?.servers ?? []) as Array<{ voter: boolean }>;
      return servers.length === count && servers.every((s) => s.voter);
    },
    { timeoutMs: 90_000, intervalMs: 500 },
  );
  await sleep(200);
}
