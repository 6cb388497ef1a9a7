#!/usr/bin/env node
// Runs the test suite with Node's built-in runner (TypeScript through tsx):
//   unit tests        src/**/*.test.ts               (pure logic, fast), once
//   integration tests test/integration/**/*.test.ts  (real servers on loopback)
// A test file that needs a Vault server (it names its tests with `onServer(…)`) runs once per
// server of the matrix, VAULT_OPS_TEST_SERVERS=openbao,vault (both by default), with
// VAULT_OPS_TEST_SERVER telling it which; every other file runs once.
// Servers that are missing are built first (test/testbed/build.sh, cached in ~/.cache/vault-ops).
// `--unit` or `--integration` narrows the set; other arguments are file filters (substring match).
// The tests run on the Node that runs this script (22 or 24; CI runs the unit tests on both), and so
// does every `node` they spawn (hooks, fixtures, azurite-blob): its directory goes first on PATH.
// Under a Node older than engines' 22.12 it runs itself again under the Node 24 that
// test/testbed/build.sh fetches (target `node`, cached in ~/.cache/vault-ops).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSupported, supportedNode } from './supported-node.mjs';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const cache = process.env.VAULT_OPS_CACHE ?? join(homedir(), '.cache', 'vault-ops');

if (!isSupported(process.versions.node)) {
  const again = spawnSync(supportedNode('run-tests'), [fileURLToPath(import.meta.url), ...args], { stdio: 'inherit' });
  process.exit(again.status ?? 1);
}
const onlyUnit = args.includes('--unit');
const onlyIntegration = args.includes('--integration');
const filters = args.filter((a) => !a.startsWith('--'));

/** Keep in step with test/testbed/servers.ts and build.sh. */
const SERVERS = { openbao: { dir: 'openbao-2.4.0', file: 'bao' }, vault: { dir: 'vault-1.21.4', file: 'vault' } };
const TOOLS = {
  versitygw: { dir: 'versitygw-1.7.0', file: 'versitygw' },
  helm: { dir: 'helm-3.21.4', file: 'helm' },
  etcd: { dir: 'etcd-3.7.3', file: 'etcd' },
  // build.sh's `kubernetes` target builds kube-apiserver, kube-controller-manager, kube-scheduler and
  // kubelet (last): a cache without the kubelet (made before the node existed) gets the missing ones.
  // The chart's image (build.sh `image`) is built by the test that uses it (testbed/images.ts).
  kubernetes: { dir: 'kubernetes-1.37.2', file: 'kubelet' },
  pushgateway: { dir: 'pushgateway-1.11.5', file: 'pushgateway' },
  promtool: { dir: 'promtool-2.42.0', file: 'promtool' },
};

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}

let files = [];
if (!onlyIntegration) files.push(...walk(join(root, 'src')));
if (!onlyUnit) files.push(...walk(join(root, 'test', 'integration')));
if (filters.length) files = files.filter((f) => filters.some((flt) => f.includes(flt)));
files.sort();
if (files.length === 0) {
  console.error('run-tests: no test files matched');
  process.exit(1);
}

const matrix = (process.env.VAULT_OPS_TEST_SERVERS ?? 'openbao,vault')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const name of matrix) {
  if (!(name in SERVERS)) {
    console.error(
      `run-tests: VAULT_OPS_TEST_SERVERS names ${name}: expected one of ${Object.keys(SERVERS).join(', ')}`,
    );
    process.exit(2);
  }
}
const needsServer = (file) => readFileSync(join(root, file), 'utf8').includes('onServer(');
const serverFiles = files.filter(needsServer);
const onceFiles = files.filter((f) => !serverFiles.includes(f));

// Build what is missing, the way CI does, instead of failing on a fresh machine.
const onPath = (name) => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
const missing = [];
if (serverFiles.length) {
  for (const name of matrix) {
    const override = matrix.length === 1 ? process.env.VAULT_OPS_TEST_BINARY : undefined;
    const spec = SERVERS[name];
    if (!override && !existsSync(join(cache, spec.dir, spec.file)) && !onPath(spec.file)) missing.push(name);
  }
}
if (files.some((f) => f.startsWith('test/integration/'))) {
  for (const [name, spec] of Object.entries(TOOLS))
    if (!existsSync(join(cache, spec.dir, spec.file)) && !onPath(spec.file)) missing.push(name);
}
if (missing.length) {
  console.log(
    `run-tests: building the missing test servers (${missing.join(', ')}); cached in ${cache} for the next run`,
  );
  const built = spawnSync('bash', [join(root, 'test', 'testbed', 'build.sh'), ...missing], { stdio: 'inherit' });
  if (built.status !== 0) {
    console.error(
      `run-tests: building ${missing.join(', ')} failed (see above): the integration tests need real servers`,
    );
    process.exit(1);
  }
}

const concurrency = process.env.VAULT_OPS_TEST_CONCURRENCY ?? String(Math.max(1, Math.min(3, cpus().length)));
const countsDir = mkdtempSync(join(tmpdir(), 'vault-ops-test-counts-'));
const runs = [];
// Files that need no server ride along with the first server's run.
matrix.forEach((server, i) => runs.push({ server, files: [...(i === 0 ? onceFiles : []), ...serverFiles] }));
if (matrix.length === 0 || serverFiles.length === 0)
  runs.splice(0, runs.length, { server: matrix[0] ?? 'openbao', files: onceFiles });

let status = 0;
const total = { passed: 0, failed: 0, skipped: 0 };
for (const [i, run] of runs.entries()) {
  if (run.files.length === 0) continue;
  console.log(`\n== run-tests: ${run.files.length} file(s) against ${run.server}`);
  const countsFile = join(countsDir, `run-${i}.json`);
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${concurrency}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      `--test-reporter=${join(root, 'scripts', 'count-reporter.mjs')}`,
      `--test-reporter-destination=${countsFile}`,
      ...run.files,
    ],
    {
      cwd: root,
      stdio: 'inherit',
      env: {
        ...process.env,
        VAULT_OPS_TEST: '1',
        VAULT_OPS_TEST_SERVER: run.server,
        VAULT_OPS_TEST_SERVERS: matrix.join(','),
        PATH: [dirname(process.execPath), process.env.PATH].filter(Boolean).join(delimiter),
      },
    },
  );
  if (result.status !== 0) status = result.status ?? 1;
  try {
    const counts = JSON.parse(readFileSync(countsFile, 'utf8'));
    for (const k of Object.keys(total)) total[k] += counts[k];
  } catch {
    status ||= 1;
  }
}
rmSync(countsDir, { recursive: true, force: true });
if (total.passed + total.failed === 0) status ||= 1;
console.log(`\nservers: ${matrix.join(', ')}`);
console.log(`${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`);
process.exit(status);
