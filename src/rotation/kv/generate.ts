import { randomInt } from 'node:crypto';
import { dirname } from 'node:path';
import { VaultOpsError } from '../../errors.js';
import type { SecretRegistry } from '../../observability/secret-registry.js';
import type { KvV2 } from './kv.js';
import { CHARSETS, type KeyGenerator, type SecretPolicy } from './policy.js';
import type { ProcessRunner } from './process-runner.js';

/** A uniformly random string over the charset minus `exclude` (crypto-strength, no modulo bias). */
export function localValue(length: number, charset: string, exclude = ''): string {
  const alphabet = [...new Set([...charset].filter((c) => !exclude.includes(c)))];
  if (alphabet.length < 2)
    throw new VaultOpsError('config', 'the charset left after exclude has fewer than 2 characters');
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

export interface GeneratorDeps {
  kv: KvV2;
  runner: ProcessRunner;
  secrets: SecretRegistry;
  policyFile: string;
  signal?: AbortSignal;
}

async function generateOne(
  secret: SecretPolicy,
  key: string,
  generator: KeyGenerator,
  rotationId: string,
  deps: GeneratorDeps,
): Promise<string> {
  switch (generator.kind) {
    case 'local':
      return localValue(generator.length, CHARSETS[generator.charset], generator.exclude);
    case 'passwordPolicy':
      return deps.kv.generatePassword(generator.policy);
    case 'command': {
      const input = JSON.stringify({ rotationId, mount: secret.mount, path: secret.path, key });
      const result = await deps.runner.run(generator.command, {
        input,
        timeoutMs: generator.timeoutMs,
        cwd: dirname(deps.policyFile),
        env: generator.env,
        ...(deps.signal ? { signal: deps.signal } : {}),
      });
      // The generator's stdout is the value: never quote it, not even in errors.
      const value = result.stdout.trim();
      deps.secrets.add(value);
      const what = `generator command for ${secret.id} key ${key} (${generator.command[0]})`;
      // Interrupted: whatever it printed is not trusted; nothing was staged or written yet.
      if (result.aborted) throw new VaultOpsError('aborted', `${what} was interrupted and its process group stopped`);
      if (result.spawnError)
        throw new VaultOpsError(
          'config',
          `${what} could not start (${result.spawnError}): check the path and that it is executable`,
        );
      if (result.timedOut)
        throw new VaultOpsError('internal', `${what} timed out after ${generator.timeoutMs / 1000}s`);
      if (result.exitCode !== 0)
        throw new VaultOpsError('internal', `${what} failed with ${result.signal ?? `exit ${result.exitCode}`}`);
      if (!value) throw new VaultOpsError('internal', `${what} printed no value on stdout`);
      return value;
    }
  }
}

/** New values for every key of the entry; each is registered with the secret registry at once. */
export async function generateValues(
  secret: SecretPolicy,
  rotationId: string,
  deps: GeneratorDeps,
): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const { name, generator } of secret.keys) {
    const value = await generateOne(secret, name, generator, rotationId, deps);
    deps.secrets.add(value);
    values[name] = value;
  }
  return values;
}
