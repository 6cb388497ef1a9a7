import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { PassThrough } from 'node:stream';
import { main } from './main.js';

/**
 * The completion scripts, loaded into the real shells (bash, zsh, fish: CI installs them; a missing
 * shell fails the test, it is not skipped) and asked what they complete.
 */

const dir = mkdtempSync(join(tmpdir(), 'vault-ops-completion-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function script(shell: string): Promise<string> {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (c: Buffer) => chunks.push(c));
  const code = await main(['node', 'vault-ops', 'completion', shell], { stdout, stderr: new PassThrough(), env: {} });
  assert.equal(code, 0);
  const file = join(dir, `completion.${shell}`);
  writeFileSync(file, Buffer.concat(chunks));
  return file;
}

/** What bash offers for the words typed so far (the last one being completed). */
function bashComplete(file: string, words: string[]): string[] {
  const cword = words.length - 1;
  const out = execFileSync(
    'bash',
    [
      '-c',
      `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=${cword}; _vault_ops; printf '%s\\n' "\${COMPREPLY[@]}"`,
      'bash',
      file,
      ...words,
    ],
    { encoding: 'utf8', cwd: dir },
  );
  return out.split('\n').filter(Boolean).sort();
}

describe('vault-ops completion', () => {
  test('bash: command words, subcommands, flags, choices and file names', async () => {
    const file = await script('bash');
    assert.deepEqual(bashComplete(file, ['vault-ops', 'sn']), ['snapshot']);
    assert.deepEqual(bashComplete(file, ['vault-ops', 'snapshot', '']), [
      'copy',
      'history',
      'inspect',
      'list',
      'prune',
      'save',
    ]);
    assert.deepEqual(bashComplete(file, ['vault-ops', 'setup', 'st']), ['staging']);
    const saveFlags = bashComplete(file, ['vault-ops', 'snapshot', 'save', '--']);
    for (const flag of ['--to', '--canary', '--keep-last', '--vault-addr', '--help'])
      assert.ok(saveFlags.includes(flag), flag);
    assert.ok(!saveFlags.includes('--unseal-keys-file'), 'a flag of another command');
    // A flag's value does not count as a command word.
    assert.ok(bashComplete(file, ['vault-ops', '--output', 'json', 'snapshot', 'save', '--c']).includes('--canary'));
    assert.deepEqual(bashComplete(file, ['vault-ops', 'verify', '--mode', '']), ['recovery', 'unsealed']);
    assert.deepEqual(bashComplete(file, ['vault-ops', '--output', '']), ['json', 'text']);
    writeFileSync(join(dir, 'keys.txt'), 'x');
    assert.deepEqual(bashComplete(file, ['vault-ops', 'verify', '--unseal-keys-file', 'key']), ['keys.txt']);
  });

  test('zsh: the script loads and completes through bashcompinit', async () => {
    const file = await script('zsh');
    const out = execFileSync(
      'zsh',
      [
        '-f',
        '-c',
        // bashcompinit runs the function under `emulate -L sh` (0-based arrays), as here.
        // biome-ignore lint/suspicious/noTemplateCurlyInString: zsh parameter expansion, not a template
        'source "$1"; print -r -- "${_comps[vault-ops]}"; f() { emulate -L sh; setopt kshglob noshglob braceexpand; ' +
          // biome-ignore lint/suspicious/noTemplateCurlyInString: zsh parameter expansion, not a template
          'COMP_WORDS=(vault-ops snapshot sa); COMP_CWORD=2; _vault_ops; print -l -- "${COMPREPLY[@]}"; }; f',
        'zsh',
        file,
      ],
      { encoding: 'utf8', cwd: dir },
    );
    const [registration, ...offered] = out.trim().split('\n');
    assert.equal(registration, '_bash_complete -o default -F _vault_ops');
    // zsh's compgen emulation leaves prefix filtering to zsh itself: the subcommands of snapshot come back.
    assert.ok(offered.includes('save') && offered.includes('list') && !offered.includes('verify'), offered.join(' '));
  });

  test('fish: the script loads and completes subcommands, flags and choices', async () => {
    const file = await script('fish');
    const complete = (line: string) =>
      execFileSync('fish', ['--no-config', '-c', `source ${file}; complete -C ${JSON.stringify(line)}`], {
        encoding: 'utf8',
        cwd: dir,
      })
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0]);
    assert.deepEqual(complete('vault-ops snapshot ').sort(), ['copy', 'history', 'inspect', 'list', 'prune', 'save']);
    assert.ok(complete('vault-ops snapshot save --').includes('--to'));
    assert.ok(!complete('vault-ops snapshot save --').includes('--unseal-keys-file'));
    assert.deepEqual(complete('vault-ops verify --mode ').sort(), ['recovery', 'unsealed']);
  });

  test('an unknown shell is a usage error', async () => {
    const stderr = new PassThrough();
    const chunks: Buffer[] = [];
    stderr.on('data', (c: Buffer) => chunks.push(c));
    const code = await main(['node', 'vault-ops', 'completion', 'tcsh'], {
      stdout: new PassThrough(),
      stderr,
      env: {},
    });
    assert.equal(code, 2);
    assert.match(Buffer.concat(chunks).toString(), /unknown shell tcsh: use one of bash, zsh, fish/);
  });
});
