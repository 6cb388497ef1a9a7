import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The Dockerfile's rules, checked statically (no container runtime here): base images only through
 * build arguments that the build refuses unless pinned by digest; no package manager in the final
 * image; a non-root user; tini as PID 1.
 */
const dockerfile = await readFile(fileURLToPath(new URL('../../Dockerfile', import.meta.url)), 'utf8');
// Continuation lines folded, comments dropped: one instruction per entry.
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const stages = instructions.reduce<string[][]>((acc, line) => {
  if (/^FROM\s/i.test(line)) acc.push([line]);
  else acc.at(-1)?.push(line);
  return acc;
}, []);

test('every base image is a build argument with no default, refused unless pinned by digest', () => {
  const froms = instructions.filter((l) => /^FROM\s/i.test(l)).map((l) => l.split(/\s+/)[1]!);
  assert.ok(froms.length >= 3, froms.join(', '));
  const stageNames = new Set(
    instructions
      .filter((l) => /^FROM\s/i.test(l))
      .map((l) => /\sAS\s+(\S+)/i.exec(l)?.[1])
      .filter(Boolean),
  );
  const imageArgs = new Set<string>();
  for (const from of froms) {
    if (stageNames.has(from)) continue;
    const arg = /^\$\{(\w+)\}$/.exec(from)?.[1];
    assert.ok(arg, `FROM ${from}: base images come from a build argument`);
    imageArgs.add(arg);
  }
  for (const arg of imageArgs) {
    const declared = instructions.find((l) => new RegExp(`^ARG\\s+${arg}(=|$)`).test(l));
    assert.equal(declared, `ARG ${arg}`, `${arg} is declared without a default (a tag default would go unpinned)`);
  }
  const check = instructions.find((l) => /^RUN\s/.test(l) && l.includes("grep -Eq '@sha256:[0-9a-f]{64}$'"));
  assert.ok(check, 'a RUN step refuses images given by tag alone');
  for (const arg of imageArgs) assert.ok(check.includes(`${arg}=\${${arg}}`), `the check covers ${arg}`);
  const checkStage = stages.find((s) => s.includes(check))!;
  for (const arg of imageArgs) assert.ok(checkStage.includes(`ARG ${arg}`), `${arg} is in scope of the check`);
});

test('the final image has no npm, npx, corepack or yarn; runs as a non-root user under tini', () => {
  const final = stages.at(-1)!;
  const run = final.filter((l) => /^RUN\s/.test(l)).join(' ');
  for (const tool of ['npm', 'npx', 'corepack', 'yarn']) {
    assert.ok(run.includes(`/usr/local/bin/${tool}`), `${tool} is removed`);
    assert.ok(run.includes(`! command -v ${tool}`), `the build proves ${tool} is gone`);
  }
  assert.ok(
    !final.some((l) => /^RUN\s.*\bnpm\s+(ci|install|i)\b/.test(l)),
    'nothing is installed with npm in the final stage',
  );
  const user = final.find((l) => /^USER\s/.test(l));
  assert.ok(user && !/^USER\s+(0|root)\b/.test(user), `non-root: ${user}`);
  assert.match(final.find((l) => /^ENTRYPOINT\s/.test(l)) ?? '', /tini/);
});

test('the build refuses a Node older than engines allows (the runtime is Node 24 LTS, 22.12 the floor)', async () => {
  const engines = JSON.parse(await readFile(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8'))
    .engines.node as string;
  assert.equal(engines, '>=22.12');
  const build = stages.find((s) => /^FROM\s+\$\{NODE_IMAGE\}\s+AS\s+build$/i.test(s[0]!))!;
  const check = build.find((l) => /^RUN node -e /.test(l));
  assert.ok(check, 'the build stage checks the Node version');
  assert.match(check, /a < 22 \|\| \(a === 22 && b < 12\)/);
  assert.match(dockerfile, /node:24-bookworm-slim@sha256:/, 'the guidance names Node 24');
});
