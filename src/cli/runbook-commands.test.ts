import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { Command } from 'commander';
import type { SnapshotManifest } from '../repository/manifest.js';
import { reviewRotations } from '../restore/rotations.js';
import { createProgram } from './main.js';

/**
 * The runbooks and the commands the CLI prints for the on-call must name flags the CLI has: every
 * `vault-ops …` command in runbooks/*.md, and restore's reconcile commands, parse to a command.
 */
const words = (cmd: Command): string => {
  const out: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) out.unshift(c.name());
  return out.join(' ');
};

/** `vault-ops …` in code spans and code blocks, continuation lines joined, placeholders made concrete. */
function runbookCommands(markdown: string): string[] {
  const text = markdown.replace(/\\\n\s*/g, ' ');
  const found = new Set<string>();
  for (const m of text.matchAll(
    /vault-ops ((?:snapshot|verify|restore|runbook|rotate|status|setup|report)[^`\n#]*)/g,
  )) {
    const command = m[1]!
      .trim()
      .replace(/"\$STORE"/g, '/backups')
      .replace(/<[^>]+>/g, 'x')
      .replace(/\s+\.\.\.$|\s*…$/, '')
      .replace(/[.,;:)]+$/, '');
    found.add(command);
  }
  return [...found];
}

async function parsesTo(argv: string[]): Promise<string> {
  let ran = '';
  const sink = new PassThrough();
  sink.resume();
  const program = createProgram(
    async (cmd) => {
      ran = words(cmd);
    },
    { stdout: sink, stderr: sink },
  );
  await program.parseAsync(['node', 'vault-ops', ...argv]);
  return ran;
}

test('every vault-ops command in the runbooks parses (flags and commands exist)', async () => {
  for (const file of ['restore.md', 'rotate-root.md']) {
    const markdown = readFileSync(new URL(`../../runbooks/${file}`, import.meta.url), 'utf8');
    const commands = runbookCommands(markdown);
    assert.ok(commands.length >= 3, `${file}: ${commands.length} commands found`);
    for (const command of commands) {
      const argv = command.split(/\s+/).filter((w) => w && w !== '…');
      const ran = await parsesTo(argv).catch((err: Error) => `error: ${err.message}`);
      assert.ok(ran && !ran.startsWith('error'), `${file}: vault-ops ${command} → ${ran}`);
    }
  }
});

test("restore's printed reconcile commands parse", async () => {
  const manifest = {
    id: 'S',
    createdAt: '2026-12-07T12:00:00Z',
    archive: { key: 'k', bytes: 1, sha256: '0'.repeat(64) },
    raft: { index: 10, term: 1, configurationIndex: 1, servers: [] },
    snapshotMeta: { version: 1, size: 1 },
    cluster: {},
    seal: { type: 'shamir', shares: 1, threshold: 1 },
    keyCounts: {},
    mounts: [
      { path: 'database/', type: 'database' },
      { path: 'secret/', type: 'kv' },
    ],
    authMethods: [],
    policies: [],
    durationSeconds: 1,
    toolVersion: 't',
  } satisfies SnapshotManifest;
  const review = reviewRotations(
    manifest,
    [
      {
        label: 's3://backups/records',
        url: 's3://backups/records',
        records: [
          { time: 't', kind: 'database-root', rotationId: 'a', mount: 'database', connection: 'pg', raftIndex: 20 },
          {
            time: 't',
            kind: 'database-root',
            rotationId: 'interrupted-x',
            mount: 'database',
            connection: 'o',
            raftIndex: 20,
          },
          { time: 't', kind: 'kv-rotation', rotationId: 'k', mount: 'secret', path: 'app/db', raftIndex: 20 },
        ],
      },
    ],
    '/var/backups/vault',
  );
  const commands = review.rolledBack.flatMap((r) => [...r.action.matchAll(/'(vault-ops [^']+)'/g)].map((m) => m[1]!));
  assert.equal(commands.length, 4, commands.join('\n'));
  for (const command of commands) {
    const ran = await parsesTo(command.split(/\s+/).slice(1)).catch((err: Error) => `error: ${err.message}`);
    assert.ok(ran && !ran.startsWith('error'), `${command} → ${ran}`);
  }
});
