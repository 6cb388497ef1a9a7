import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { rotateRootRunbook } from './steps.js';

const docPath = new URL('../../../runbooks/rotate-root.md', import.meta.url);

/** The numbered `1. **step-id** — …` items under "## Steps". */
function documentedSteps(markdown: string): string[] {
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Steps'));
  assert.ok(section, 'runbooks/rotate-root.md has a "## Steps" section');
  return [...section.matchAll(/^\d+\.\s+\*\*([a-z0-9-]+)\*\*/gm)].map((m) => m[1]!);
}

test('runbooks/rotate-root.md lists exactly the steps of the code, in order', async () => {
  const markdown = await readFile(docPath, 'utf8');
  assert.deepEqual(
    documentedSteps(markdown),
    rotateRootRunbook.steps.map((s) => s.id),
  );
});

test('every step and gate phrase the code uses is explained in the runbook', async () => {
  const markdown = await readFile(docPath, 'utf8');
  for (const step of rotateRootRunbook.steps) {
    if (step.gate)
      assert.match(
        markdown,
        new RegExp(`\`${step.id === 'rotate-root' ? 'rotate' : step.id} <name>\``),
        `gate phrase of ${step.id}`,
      );
  }
  for (const flag of [
    '--dry-run',
    '--resume',
    '--yes',
    '--journal',
    '--password-file',
    '--canary-static-role',
    '--rebootstrap',
    '--snapshot-store',
    '--record-to',
  ]) {
    assert.ok(markdown.includes(flag), flag);
  }
});
