import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { Command } from 'commander';
import { commandExamples, examplesMarkdown } from './examples.js';
import { createProgram } from './main.js';

const words = (cmd: Command): string => {
  const out: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) out.unshift(c.name());
  return out.join(' ');
};

/** Every command that runs something (not the groups: snapshot, setup, rotate, runbook). */
function runnableCommands(program: Command): string[] {
  const out: string[] = [];
  const visit = (cmd: Command) => {
    // A leaf, or a group that runs something itself (`rotate kv` has `status` and `clear` below it).
    const runs = (cmd as unknown as { _actionHandler: unknown })._actionHandler;
    if (cmd !== program && (cmd.commands.length === 0 || runs)) out.push(words(cmd));
    cmd.commands.forEach(visit);
  };
  visit(program);
  return out;
}

test('every command has two or three examples, and each parses to that command', async () => {
  let ran = '';
  const sink = new PassThrough();
  const program = createProgram(
    async (cmd) => {
      ran = words(cmd);
    },
    { stdout: sink, stderr: sink },
  );
  const commands = runnableCommands(program);
  assert.deepEqual([...commands].sort(), Object.keys(commandExamples).sort());
  for (const [command, examples] of Object.entries(commandExamples)) {
    assert.ok(examples.length >= 2 && examples.length <= 3, `${command}: ${examples.length} examples`);
    for (const example of examples) {
      // What the shell passes: the words before a pipe or redirection (the examples use no quotes).
      const argv = (example.split(/\s[|>]\s/)[0] as string).split(/\s+/);
      assert.equal(argv.shift(), 'vault-ops', example);
      ran = '';
      await program.parseAsync(['node', 'vault-ops', ...argv]);
      assert.equal(ran, command, `${example} ran "${ran}"`);
    }
  }
});

test("each command's --help ends with its examples", () => {
  const out: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (c: Buffer) => out.push(c.toString()));
  const program = createProgram(async () => undefined, { stdout: sink, stderr: sink });
  const find = (path: string) =>
    path.split(' ').reduce((cmd, name) => cmd.commands.find((c) => c.name() === name) as Command, program);
  for (const [command, examples] of Object.entries(commandExamples)) {
    out.length = 0;
    find(command).outputHelp();
    const text = out.join('');
    assert.ok(text.trimEnd().endsWith(`$ ${examples.at(-1)}`), `${command}:\n${text}`);
    for (const example of examples) assert.ok(text.includes(`  $ ${example}\n`), `${command}: ${example}`);
  }
});

test('the README shows exactly these examples', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = /<!-- examples:start -->\n([\s\S]*?)\n<!-- examples:end -->/.exec(readme)?.[1];
  assert.ok(section, 'README.md lacks the <!-- examples:start --> … <!-- examples:end --> section');
  assert.equal(
    section,
    examplesMarkdown(),
    'README examples differ: paste examplesMarkdown() from src/cli/examples.ts',
  );
});
