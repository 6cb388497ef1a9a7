import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { toolVersion } from '../../src/version.js';

/**
 * Start-up stays light: a command loads only what it uses. Each case runs the CLI (from source,
 * as a real process) under a loader hook that records every module it resolves
 * (test/fixtures/module-record/), and checks which packages were loaded: evidence that does not
 * depend on the machine's speed, unlike a timing. The bench (`npm run bench -- startup`) measures
 * what this buys.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const RECORDER = join(root, 'test/fixtures/module-record/register.mjs');
const ENTRY = join(root, 'src/cli/entry.ts');

/** Heavy packages that no help, no version and no folder-store listing needs. */
const HEAVY = [
  '@aws-sdk/client-s3',
  '@aws-sdk/lib-storage',
  '@google-cloud/storage',
  'node-vault',
  'prom-client',
  'age-encryption',
  'tar-stream',
  '@peculiar/x509',
  'pg',
  'execa',
  'pino-pretty',
];

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-startup-test-'));
  await mkdir(join(dir, 'store'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

let runs = 0;
/** Run the CLI; its stdout and the packages (node_modules names) it loaded. */
async function loaded(args: string[]): Promise<{ stdout: string; packages: Set<string> }> {
  const record = join(dir, `modules-${++runs}`);
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--import', RECORDER, ENTRY, ...args],
    // Nothing from the developer's shell but PATH: no VAULT_ADDR, no config file.
    { cwd: root, env: { PATH: process.env.PATH, HOME: dir, VAULT_OPS_MODULE_RECORD: record } },
  );
  const urls = (await readFile(record, 'utf8')).split('\n').filter(Boolean);
  const packages = new Set<string>();
  for (const url of urls) {
    const path = url.split('/node_modules/').at(-1)!;
    if (path === url) continue;
    const parts = path.split('/');
    packages.add(parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
  }
  return { stdout, packages };
}

function assertNotLoaded(packages: Set<string>, names: readonly string[]): void {
  assert.deepEqual(
    names.filter((n) => packages.has(n)),
    [],
    `loaded: ${[...packages].sort().join(', ')}`,
  );
}

describe('start-up loads only what the command uses', () => {
  test('--version and -V print the version without loading commander or the option tables', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await loaded([flag]);
      assert.equal(r.stdout, `${toolVersion}\n`);
      assertNotLoaded(r.packages, [...HEAVY, 'commander', 'zod', 'pino', 'yaml']);
    }
  });

  test('--help and status --help load commander and the option tables, nothing heavy', async () => {
    for (const args of [['--help'], ['status', '--help'], ['snapshot', 'save', '--help']]) {
      const r = await loaded(args);
      assert.match(r.stdout, /^Usage: vault-ops /, args.join(' '));
      // The recorder works: the packages help needs are seen.
      assert.ok(r.packages.has('commander') && r.packages.has('zod'), [...r.packages].join(', '));
      assertNotLoaded(r.packages, [...HEAVY, 'pino', 'yaml']);
    }
  });

  test('snapshot list of a folder store loads neither the AWS SDK nor the Vault client', async () => {
    const r = await loaded(['snapshot', 'list', '--from', pathToFileURL(join(dir, 'store')).href]);
    assert.match(r.stdout, /^no snapshots in file:\/\//);
    assert.ok(r.packages.has('pino'), [...r.packages].join(', '));
    assertNotLoaded(r.packages, HEAVY);
  });
});
