// Lines of code and tests fit in 120 columns (Biome's formatter wraps code; this catches what it
// cannot: long strings, comments and template text). Regular-expression literals in tests are the
// one exception: split, they would no longer read as the message they match.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MAX = 120;
const files = execFileSync(
  'git',
  ['ls-files', 'src/*.ts', 'test/*.ts', 'test/*.mjs', 'scripts/*.ts', 'scripts/*.mjs'],
  {
    encoding: 'utf8',
  },
)
  .split('\n')
  .filter(Boolean);
const long = [];
for (const file of files) {
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if ([...line].length <= MAX) return;
      if (/\.test\.ts$/.test(file) && /^\s*\/.*\/[gimsuy]*,?\)?;?$/.test(line)) return;
      long.push(`${file}:${i + 1}: ${[...line].length} characters`);
    });
}
if (long.length > 0) {
  console.error(`${long.length} line(s) longer than ${MAX} characters:\n${long.join('\n')}`);
  process.exit(1);
}
