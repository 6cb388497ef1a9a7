import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRotationPolicy } from '../rotation/kv/policy.js';
import { buildJobPolicies, installCommands, renderHcl, rotateKvPolicyRules, snapshotPolicyRules } from './policies.js';

const k8s = { mount: 'kubernetes', namespace: 'vault-ops', audience: 'vault' };

describe('setup policies', () => {
  test('snapshot: read (not sudo) on the snapshot, the manifest facts, the canary', () => {
    const rules = snapshotPolicyRules();
    assert.deepEqual(
      rules.map((r) => [r.path, r.capabilities]),
      [
        ['sys/storage/raft/snapshot', ['read']],
        ['sys/mounts', ['read']],
        ['sys/auth', ['read']],
        ['sys/policies/acl', ['list']],
        ['vault-ops-canary/canary', ['create', 'update']],
      ],
    );
    assert.ok(!rules.some((r) => r.capabilities.includes('sudo')));
    assert.equal(snapshotPolicyRules({ canaryMount: false }).length, 4);
    assert.equal(snapshotPolicyRules({ canaryMount: 'ops/canary/' }).at(-1)!.path, 'ops/canary/canary');
  });

  test('rotate-kv: exact paths per secret; read, lock and pending values only with hooks; password policies', () => {
    const policy = parseRotationPolicy(
      {
        secrets: [
          { mount: 'secret', path: 'app/db', every: '30d', keys: { password: { passwordPolicy: 'strong' } } },
          { mount: 'kv', path: 'api', every: '7d', keys: { key: {} }, hooks: { set: ['true'] } },
        ],
      },
      '/p.yaml',
    );
    const rules = rotateKvPolicyRules(policy, { stagingMount: 'stage' });
    const map = Object.fromEntries(rules.map((r) => [r.path, r.capabilities]));
    assert.deepEqual(map, {
      'secret/metadata/app/db': ['read', 'patch'],
      'secret/data/app/db': ['patch'],
      'kv/metadata/api': ['read', 'patch'],
      'kv/data/api': ['read', 'patch'],
      'stage/data/locks/kv/api': ['create', 'read', 'update'],
      'stage/metadata/locks/kv/api': ['read', 'delete'],
      'stage/data/pending/kv/api': ['create', 'read', 'update'],
      'stage/metadata/pending/kv/api': ['delete'],
      'sys/policies/password/strong/generate': ['read'],
    });
    assert.ok(!rules.some((r) => r.path.includes('*')), 'no globs');
    const hookless = parseRotationPolicy(
      { secrets: [{ mount: 'secret', path: 'app/db', every: '30d', keys: { password: {} } }] },
      '/q.yaml',
    );
    assert.deepEqual(
      rotateKvPolicyRules(hookless, { stagingMount: 'stage' }).map((r) => r.path),
      ['secret/metadata/app/db', 'secret/data/app/db'],
      'hook-less rotation takes no lock: nothing on the staging mount',
    );
  });

  test('HCL and install commands: policy, then a Kubernetes role with short TTLs and the audience', () => {
    const [snapshot, verify] = buildJobPolicies({
      jobs: ['snapshot', 'verify'],
      kubernetes: { ...k8s, serviceAccount: 'backup' },
    });
    assert.match(snapshot!.hcl, /path "sys\/storage\/raft\/snapshot" \{\n {2}capabilities = \["read"\]\n\}/);
    const commands = installCommands(snapshot!).join('\n');
    assert.match(commands, /^vault policy write vault-ops-snapshot - <<'EOF'\n/);
    assert.match(
      commands,
      /vault write auth\/kubernetes\/role\/vault-ops-snapshot \\\n {4}bound_service_account_names=backup \\\n {4}bound_service_account_namespaces=vault-ops \\\n {4}audience=vault \\\n {4}token_policies=vault-ops-snapshot \\\n {4}token_ttl=10m \\\n {4}token_max_ttl=1h$/,
    );
    assert.equal(verify!.name, undefined, 'verify needs no Vault policy');
    assert.equal(verify!.kubernetesRole, undefined);
    assert.deepEqual(installCommands(verify!), []);
  });

  test('rotate-root reuses the runbook`s policy; jobs without their inputs are skipped with a note', () => {
    const [root] = buildJobPolicies({
      jobs: ['rotate-root'],
      database: { mount: 'database', connection: 'pg', dynamicRoles: ['ro'] },
      kubernetes: k8s,
    });
    assert.equal(root!.name, 'vault-ops-rotate-root-pg');
    assert.match(root!.hcl, /path "database\/rotate-root\/pg"/);
    assert.ok(root!.notes.some((n) => /per dynamic role of the connection \(ro\): regenerate/.test(n)));
    const [kv, rr] = buildJobPolicies({ jobs: ['rotate-kv', 'rotate-root'], kubernetes: k8s });
    assert.match(kv!.notes[0]!, /skipped/);
    assert.match(rr!.notes[0]!, /skipped/);
  });

  test(
    'rotate-root: lease revocation only by path, per role of the connection, with lease_id denied in the ' + 'body',
    () => {
      const [root] = buildJobPolicies({
        jobs: ['rotate-root'],
        database: { mount: '/team/db/', connection: 'pg', dynamicRoles: ['rw', 'ro', 'ro'] },
        kubernetes: k8s,
      });
      const paths = [...root!.hcl.matchAll(/^path "([^"]+)"/gm)].map((m) => m[1]!);
      assert.deepEqual(
        paths.filter((p) => p.startsWith('sys/leases/revoke')),
        ['sys/leases/revoke/team/db/creds/ro/*', 'sys/leases/revoke/team/db/creds/rw/*'],
        'one glob per role, "<role>/*" (so role ro does not cover ro2), never the body form sys/leases/revoke',
      );
      assert.match(
        root!.hcl,
        /path "sys\/leases\/revoke\/team\/db\/creds\/ro\/\*" \{\n {2}capabilities = \["update"\]\n {2}denied_parameters = \{\n {4}"lease_id" = \[\]\n {2}\}\n\}/,
      );
      assert.ok(
        !paths.some((p) => p.startsWith('sys/revoke') || p === 'sys/leases/revoke' || p === 'sys/leases/revoke/*'),
      );

      const [none] = buildJobPolicies({
        jobs: ['rotate-root'],
        database: { mount: 'database', connection: 'pg', dynamicRoles: [], leaseCount: true },
        kubernetes: k8s,
      });
      assert.ok(
        !/sys\/leases\/revoke/.test(none!.hcl.replace(/^#.*$/gm, '')),
        'no dynamic role: nothing to revoke, nothing granted',
      );
      assert.match(none!.hcl, /# no dynamic role uses connection pg: no lease revocation is granted/);
      assert.match(none!.hcl, /path "sys\/leases\/lookup\/database\/creds\/\*"/);
    },
  );

  test('renderHcl comments each rule', () => {
    assert.equal(
      renderHcl([{ path: 'a/b', capabilities: ['read', 'list'], why: 'because' }], 'head'),
      '# head\n\n# because\npath "a/b" {\n  capabilities = ["read", "list"]\n}\n',
    );
  });

  test('another login method: its role instead of the Kubernetes one, printed with its notes (#27)', () => {
    const login = { jwtAudience: 'vault', clientCa: 'ca.pem' };
    const roleOf = (method: 'jwt' | 'cert' | 'ldap' | 'userpass', extra = {}) =>
      buildJobPolicies({ jobs: ['snapshot'], kubernetes: k8s, login: { method, ...login, ...extra } })[0]!;
    const jwt = roleOf('jwt', { jwtSubject: 'repo:ops/vault:ref:refs/heads/main' });
    assert.equal(jwt.kubernetesRole, undefined);
    assert.equal(jwt.loginRole!.path, 'auth/jwt/role/vault-ops-snapshot');
    assert.deepEqual(jwt.loginRole!.params, {
      role_type: 'jwt',
      user_claim: 'sub',
      bound_audiences: 'vault',
      bound_subject: 'repo:ops/vault:ref:refs/heads/main',
      token_policies: 'vault-ops-snapshot',
      token_ttl: '10m',
      token_max_ttl: '1h',
    });
    const cert = roleOf('cert', { mount: 'tls' });
    assert.equal(cert.loginRole!.path, 'auth/tls/certs/vault-ops-snapshot');
    assert.equal(cert.loginRole!.params.certificate, '@ca.pem');
    assert.equal(cert.loginRole!.params.allowed_common_names, 'vault-ops-snapshot');
    assert.deepEqual(roleOf('ldap').loginRole!.params, { policies: 'vault-ops-snapshot' });
    assert.equal(roleOf('userpass', { username: 'oncall' }).loginRole!.path, 'auth/userpass/users/oncall');
    const commands = installCommands(cert);
    assert.ok(commands.some((l) => l.startsWith('# the client certificate is signed by the CA in ca.pem')));
    assert.ok(commands.includes('vault write auth/tls/certs/vault-ops-snapshot \\'));
    assert.ok(commands.includes('    certificate=@ca.pem \\'));
  });
});
