#!/usr/bin/env node
// Runs the test suite with Node's built-in runner (TypeScript through tsx):
//   unit tests        src/**/*.test.ts        (pure logic, fast)
//   integration tests test/integration/**/*.test.ts (real OpenBao, versitygw, PostgreSQL)
// `--unit` or `--integration` narrows the set; other arguments are file filters (substring match).
// Node 20 has no glob support in `node --test`, hence this small script.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cpus } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const onlyUnit = args.includes('--unit');
const onlyIntegration = args.includes('--integration');
const filters = args.filter((a) => !a.startsWith('--'));

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
const concurrency = process.env.VAULT_OPS_TEST_CONCURRENCY ?? String(Math.max(1, Math.min(3, cpus().length)));
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env: {
      ...process.env,
      VAULT_OPS_TEST: '1',
      // The AWS SDK's notice that its 2027 releases need Node 22, once per test file: noise.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    } },
);
process.exit(result.status ?? 1);
