import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { testbedImages, type TestbedImages } from '../testbed/images.js';
import { onServer, testServer } from '../testbed/servers.js';

/**
 * The image the Dockerfile builds (test/testbed/image.sh, no registry), read from its archive layer
 * by layer, whiteouts applied, as a runtime unpacks it: what dockerfile.test.ts checks in the
 * Dockerfile's text holds in the built image. chart-pods.test.ts runs it.
 */

const run = promisify(execFile);
const server = testServer();
let images: TestbedImages;

interface Archive {
  config: { config: { User?: string; Entrypoint?: string[]; Env?: string[] } };
  repoTags: string[];
  /** Every path of the image's filesystem (no leading slash), after all layers. */
  files: Set<string>;
  /** The last layer that writes usr/local/bin/node. */
  nodeLayer: string;
}

const member = async (archive: string, name: string) =>
  (await run('tar', ['-xOf', archive, name], { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' })).stdout;

async function readArchive(archive: string): Promise<Archive> {
  const [manifest] = JSON.parse(await member(archive, 'manifest.json'));
  const config = JSON.parse(await member(archive, manifest.Config));
  const files = new Set<string>();
  let nodeLayer = '';
  for (const layer of manifest.Layers as string[]) {
    // Member names only, each layer a tar inside the archive.
    const { stdout } = await run('sh', ['-c', 'tar -xOf "$0" "$1" | tar -t', archive, layer], {
      maxBuffer: 256 * 1024 * 1024,
    });
    for (const raw of stdout.split('\n').filter(Boolean)) {
      const path = raw.replace(/^\.?\//, '').replace(/\/$/, '');
      const base = posix.basename(path);
      const dir = posix.dirname(path);
      if (base === '.wh..wh..opq') {
        for (const f of files) if (f.startsWith(`${dir}/`)) files.delete(f);
      } else if (base.startsWith('.wh.')) {
        const gone = posix.join(dir, base.slice(4));
        for (const f of files) if (f === gone || f.startsWith(`${gone}/`)) files.delete(f);
      } else if (path) files.add(path);
      if (path === 'usr/local/bin/node') nodeLayer = layer;
    }
  }
  return { config, repoTags: manifest.RepoTags, files, nodeLayer };
}

before(async () => {
  images = await testbedImages(server.name);
});

describe(onServer('the image built from the Dockerfile'), () => {
  test('tini then vault-ops as uid 10001, Node 24, the scratch binary; no npm, npx, corepack, yarn', async () => {
    const image = await readArchive(images.archive);
    assert.deepEqual(image.repoTags, [images.name], 'named as the node imports it');
    assert.equal(image.config.config.User, '10001:10001');
    assert.deepEqual(image.config.config.Entrypoint, [
      '/usr/bin/tini',
      '--',
      'node',
      '/opt/vault-ops/bin/vault-ops.js',
    ]);
    const binary = `/usr/local/bin/${server.cli}`;
    assert.ok(image.config.config.Env?.includes(`VAULT_OPS_VAULT_BINARY=${binary}`), JSON.stringify(image.config));
    for (const path of ['usr/local/bin/node', binary.slice(1), 'usr/bin/tini', 'opt/vault-ops/dist', 'etc/passwd'])
      assert.ok(image.files.has(path), `${path} is in the image`);
    for (const path of [
      'usr/local/bin/npm',
      'usr/local/bin/npx',
      'usr/local/bin/corepack',
      'usr/local/bin/yarn',
      'usr/local/lib/node_modules/npm',
      'usr/local/lib/node_modules/corepack',
    ])
      assert.ok(!image.files.has(path), `${path} is not in the final image`);
    assert.ok(![...image.files].some((f) => f.startsWith('opt/vault-ops/src/')), 'no TypeScript sources, only dist');
    // The image's own node binary, taken out of the layer that carries it and run here.
    const dir = await mkdtemp(join(tmpdir(), 'vault-ops-image-node-'));
    try {
      const node = join(dir, 'node');
      await run('sh', [
        '-c',
        'tar -xOf "$0" "$1" | tar -xO usr/local/bin/node > "$2"',
        images.archive,
        image.nodeLayer,
        node,
      ]);
      await chmod(node, 0o755);
      assert.match((await run(node, ['--version'])).stdout.trim(), /^v24\./, 'Node 24 LTS');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
