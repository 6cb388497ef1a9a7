import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { SecretRegistry } from '../../src/observability/secret-registry.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout + stderr, for "this secret never appears anywhere" assertions. */
  all: string;
  json<T = any>(): T;
}

function collect(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
  return () => Buffer.concat(chunks).toString('utf8');
}

/**
 * Run the CLI in-process with captured stdout/stderr and an environment of the test's choosing
 * (nothing leaks in from the developer's shell but PATH and HOME).
 */
export async function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  options: { stdoutIsTTY?: boolean; secrets?: SecretRegistry } = {},
): Promise<CliResult> {
  const stdout = new PassThrough();
  // A terminal's stdout, as the CLI sees one (`snapshot list` prints rows as they come there).
  if (options.stdoutIsTTY) Object.assign(stdout, { isTTY: true });
  const stderr = new PassThrough();
  const readOut = collect(stdout);
  const readErr = collect(stderr);
  const code = await main(['node', 'vault-ops', ...args], {
    stdout,
    stderr,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    secrets: options.secrets ?? new SecretRegistry(),
  });
  stdout.end();
  stderr.end();
  await new Promise((r) => setImmediate(r));
  const out = readOut();
  const err = readErr();
  return {
    code,
    stdout: out,
    stderr: err,
    all: out + err,
    json() {
      return JSON.parse(out);
    },
  };
}
