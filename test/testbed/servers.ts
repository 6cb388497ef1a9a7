import { execFileSync } from 'node:child_process';
import { findBinary } from './cached-binary.js';
import type { ServerFlavour } from '../../src/vault/flavour.js';

/**
 * The server matrix. `npm test` runs every test file that needs a Vault server once per server
 * named in VAULT_OPS_TEST_SERVERS (default `openbao,vault`), telling each run which one through
 * VAULT_OPS_TEST_SERVER. Tests ask this module what they run against instead of hard-coding a
 * flavour or a version; where the servers legitimately differ, `differences` says how.
 *
 * Versions: keep in step with test/testbed/build.sh.
 */
export type TestServerName = ServerFlavour;

export interface TestServer {
  name: TestServerName;
  /** What the server reports as its version (sys/seal-status, manifests). */
  version: string;
  /** First word of `<binary> version`. */
  product: 'OpenBao' | 'Vault';
  /** The CLI's usual name (`bao`, `vault`). */
  cli: 'bao' | 'vault';
  /** Facts where the flavours differ, each checked by a test on both sides. */
  differences: {
    /** KV v2 `metadata_cas` on metadata writes (OpenBao ≥ 2.4 only). */
    metadataCas: boolean;
    /** OpenBao's `seal "static"` (a local key file); Vault has none. */
    staticSeal: boolean;
  };
}

const SERVERS: Record<TestServerName, TestServer> = {
  openbao: {
    name: 'openbao',
    version: '2.4.0',
    product: 'OpenBao',
    cli: 'bao',
    differences: { metadataCas: true, staticSeal: true },
  },
  vault: {
    name: 'vault',
    version: '1.21.4',
    product: 'Vault',
    cli: 'vault',
    differences: { metadataCas: false, staticSeal: false },
  },
};

export const ALL_TEST_SERVERS = Object.keys(SERVERS) as TestServerName[];

function parseServerName(value: string, where: string): TestServerName {
  if (value in SERVERS) return value as TestServerName;
  throw new Error(`testbed: ${where}=${value}: expected one of ${ALL_TEST_SERVERS.join(', ')}`);
}

/** VAULT_OPS_TEST_SERVERS as a list (default: every server). */
export function testServerMatrix(env: NodeJS.ProcessEnv = process.env): TestServerName[] {
  const raw = env.VAULT_OPS_TEST_SERVERS?.trim();
  if (!raw) return [...ALL_TEST_SERVERS];
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => parseServerName(s, 'VAULT_OPS_TEST_SERVERS'));
}

/** The server this test process runs against: VAULT_OPS_TEST_SERVER, else the matrix's first. */
export function testServer(env: NodeJS.ProcessEnv = process.env): TestServer {
  const one = env.VAULT_OPS_TEST_SERVER?.trim();
  return SERVERS[one ? parseServerName(one, 'VAULT_OPS_TEST_SERVER') : testServerMatrix(env)[0]!];
}

export function serverSpec(name: TestServerName): TestServer {
  return SERVERS[name];
}

/** A test or suite name carrying the server it runs against: `restore [vault]`. */
export function onServer(title: string, server: TestServer = testServer()): string {
  return `${title} [${server.name}]`;
}

/**
 * The binary of `server`: VAULT_OPS_TEST_BINARY (for the server under test), else the cached
 * build of test/testbed/build.sh, else its CLI on PATH. Throws (never skips) when there is none.
 */
export function serverBinary(server: TestServer = testServer()): string {
  const underTest = server.name === testServer().name;
  return findBinary({
    envVar: underTest ? 'VAULT_OPS_TEST_BINARY' : `VAULT_OPS_TEST_BINARY_${server.name.toUpperCase()}`,
    cacheDir: `${server.name}-${server.version}`,
    file: server.cli,
    pathNames: [server.cli],
    buildTarget: server.name,
  });
}

/** The first line of `<binary> version`, e.g. `Vault v1.21.4 ('…'), built …`. */
export function binaryVersion(binary: string): string {
  return execFileSync(binary, ['version'], { encoding: 'utf8' }).trim().split('\n')[0] ?? 'unknown';
}
