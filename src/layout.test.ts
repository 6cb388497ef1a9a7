import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The folders of src/ and what each may import: the README's Layout section, checked. A new
 * import across folders either fits this table or changes it (and the README) on purpose.
 */
const mayImport: Record<string, readonly string[]> = {
  cli: ['*'],
  options: ['config', 'time'],
  config: ['errors'],
  vault: ['config', 'io', 'observability', 'errors'],
  store: ['options', 'io', 'errors'],
  repository: ['store', 'time', 'observability', 'errors'],
  snapshot: ['repository', 'vault', 'options', 'config', 'io', 'observability', 'errors', 'version'],
  verify: ['snapshot', 'repository', 'vault', 'observability', 'errors'],
  restore: ['snapshot', 'repository', 'vault', 'observability', 'errors'],
  recover: ['verify', 'snapshot', 'repository', 'vault', 'observability', 'errors'],
  rotation: ['runbook', 'snapshot', 'repository', 'vault', 'options', 'config', 'time', 'observability', 'errors'],
  runbook: ['time', 'errors'],
  scheduler: ['rotation', 'options', 'config', 'time', 'observability', 'errors'],
  setup: ['rotation', 'snapshot', 'options', 'vault', 'errors'],
  report: ['repository', 'observability', 'errors'],
  observability: ['options'],
  time: ['errors'],
  io: ['errors'],
};

const src = dirname(fileURLToPath(import.meta.url));
const walk = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? walk(join(dir, e.name))
      : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')
        ? [join(dir, e.name)]
        : [],
  );
/** `cli`, `store`, … or the file's own name (without .ts) for src/errors.ts and src/version.ts. */
const folderOf = (path: string) =>
  relative(src, path)
    .split('/')[0]!
    .replace(/\.[jt]s$/, '');

test('every folder of src/ imports only what the layout allows', () => {
  const violations: string[] = [];
  for (const file of walk(src)) {
    const from = folderOf(file);
    if (!(from in mayImport)) continue; // errors.ts, version.ts: leaves
    const allowed = mayImport[from]!;
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const to = folderOf(normalize(join(dirname(file), spec!)));
      if (to !== from && !allowed.includes('*') && !allowed.includes(to))
        violations.push(`${relative(src, file)} → ${spec}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the layout table names every folder of src/', () => {
  const folders = readdirSync(src, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  assert.deepEqual(folders.sort(), Object.keys(mayImport).sort());
});

/** Folders with a front door: code outside them imports only these files of theirs. */
const frontDoors: Record<string, readonly string[]> = {
  'rotation/kv': ['index.ts', 'paths.ts'],
};

test('rotation/kv is reached only through its front door (index.ts, paths.ts)', () => {
  const violations: string[] = [];
  for (const file of walk(src)) {
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = relative(src, normalize(join(dirname(file), spec!))).replace(/\.js$/, '.ts');
      for (const [folder, doors] of Object.entries(frontDoors)) {
        const inside = relative(src, file).startsWith(`${folder}/`);
        if (!inside && target.startsWith(`${folder}/`) && !doors.includes(target.slice(folder.length + 1)))
          violations.push(`${relative(src, file)} → ${spec}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

test('snapshot/archive/ is the archive format alone: it imports nothing but errors and itself', () => {
  const archive = join(src, 'snapshot', 'archive');
  const violations: string[] = [];
  for (const file of walk(archive)) {
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = normalize(join(dirname(file), spec!));
      if (!target.startsWith(archive) && relative(src, target) !== 'errors.js')
        violations.push(`${relative(src, file)} → ${spec}`);
    }
  }
  assert.deepEqual(violations, []);
});
