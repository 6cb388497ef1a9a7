import type { VaultClient } from './client.js';

/**
 * The two server flavours vault-ops serves. They share the API but differ where it matters to a
 * drill (storage layout of local mounts, seal types, `metadata_cas`), so snapshots record which
 * one they came from and a drill only ever restores into a server of the same flavour.
 */
export type ServerFlavour = 'vault' | 'openbao';

/** What people call them, for messages and `status`. */
export function flavourName(flavour: ServerFlavour): string {
  return flavour === 'vault' ? 'HashiCorp Vault' : 'OpenBao';
}

/** The CLI binary each flavour ships: the scratch server's default. */
export function flavourBinary(flavour: ServerFlavour): string {
  return flavour === 'vault' ? 'vault' : 'bao';
}

/**
 * The flavour from `vault version` / `bao version` output: `Vault v1.21.4 ('…'), built …` or
 * `OpenBao v2.4.0 (…)`; undefined when it is neither.
 */
export function flavourOfVersionOutput(output: string): ServerFlavour | undefined {
  const first = output.trim().split('\n')[0] ?? '';
  if (/^OpenBao\b/i.test(first)) return 'openbao';
  if (/^Vault\b/.test(first)) return 'vault';
  return undefined;
}

/**
 * The flavour from an unauthenticated `sys/health` answer. HashiCorp Vault always sends
 * `enterprise` (false on CE) and `echo_duration_ms`; OpenBao dropped both from its health
 * response (read in both servers' http/sys_health.go). Works sealed, standby or uninitialised.
 */
export function flavourOfHealth(health: Record<string, unknown>): ServerFlavour {
  return 'enterprise' in health || 'echo_duration_ms' in health ? 'vault' : 'openbao';
}

/** Every status code answers 200 so that a sealed or standby node still tells us what it is. */
const HEALTH_ANY_STATE =
  'sys/health?standbyok=true&perfstandbyok=true&sealedcode=200&uninitcode=200&drsecondarycode=200' +
  '&performancestandbycode=200&standbycode=200&removedcode=200';

export async function readServerFlavour(client: VaultClient): Promise<ServerFlavour> {
  const health = await client.read<Record<string, unknown>>(HEALTH_ANY_STATE, { unauthenticated: true });
  return flavourOfHealth(health ?? {});
}
