/**
 * The least-privilege Vault policy `runbook rotate-root` needs for one connection (HCL). The
 * README shows its output for `database`/`pg`; `setup policies` may reuse it. The lease count
 * needs sudo on sys/leases/lookup and is optional (the runbook says it skipped it).
 */
export function rotateRootPolicy(mount: string, connection: string, options: { leaseCount?: boolean } = {}): string {
  const m = mount.replace(/^\/+|\/+$/g, '');
  const blocks: Array<[string, string[], string]> = [
    [`${m}/config/${connection}`, ['read', 'update'], 'read the connection; update only for re-bootstrap (verify_connection on)'],
    [`${m}/config/`, ['list'], 'name the connections when --connection is wrong'],
    [`${m}/roles/*`, ['read', 'list'], 'dynamic roles of the connection'],
    [`${m}/static-roles/*`, ['read', 'list'], 'static roles of the connection (refuse one on the root user)'],
    [`${m}/creds/*`, ['read'], 'issue check credentials'],
    [`${m}/static-creds/*`, ['read'], 'optional: prove static roles still log in'],
    [`${m}/reset/${connection}`, ['update'], 'connection probe and re-bootstrap'],
    [`${m}/rotate-root/${connection}`, ['update'], 'the rotation'],
    [`${m}/rotate-role/*`, ['update'], 'only for --canary-static-role'],
    ['sys/leases/revoke', ['update'], 'revoke the check credentials at once'],
    ['sys/capabilities-self', ['update'], 'preflight capability check (also in the default policy)'],
  ];
  if (options.leaseCount) blocks.push([`sys/leases/lookup/${m}/creds/*`, ['list', 'sudo'], 'optional: count leases (needs sudo)']);
  return blocks.map(([path, caps, why]) => `# ${why}\npath "${path}" {\n  capabilities = [${caps.map((c) => `"${c}"`).join(', ')}]\n}`).join('\n\n') + '\n';
}
