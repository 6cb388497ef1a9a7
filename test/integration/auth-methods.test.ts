import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { startLdap, type LdapTestbed } from '../testbed/ldap.js';
import { onServer } from '../testbed/servers.js';
import { makeClientCertificates, type ClientCertificates } from '../testbed/tls.js';
import { startVault, type VaultTestbed, rootRequest } from '../testbed/vault.js';
import { runCli, type CliResult } from '../helpers/run-cli.js';
import { SecretRegistry } from '../../src/observability/secret-registry.js';
import { createLogger } from '../../src/observability/logger.js';
import { PassThrough } from 'node:stream';
import { authenticate } from '../../src/vault/auth.js';
import { VaultClient } from '../../src/vault/client.js';
import { resolveConnection } from '../../src/vault/connection.js';

/**
 * Logging in with JWT, TLS certificates, LDAP and userpass against the real auth methods of the
 * server under test: a JWT signed by a key made here (and an expired one, one for another
 * audience, one for an unknown role), a client certificate from a CA made here on a TLS listener
 * (and one from a CA the mount does not trust; and a second listener that requires the
 * certificate on every connection), a real OpenLDAP server (Debian's slapd) with a user whose
 * group maps to the policy (and a wrong password), userpass (and a wrong password). Each token
 * that vault-ops gets runs `status` and `snapshot save`; no output holds a credential or the token.
 * The roles are the ones `setup policies --auth-method …` prints.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const JOB = 'vault-ops-snapshot';
const AUDIENCE = 'vault-ops-test';
const LDAP_USER = { uid: 'alice', password: `ldap-${randomBytes(12).toString('hex')}`, groups: [JOB] };
const USERPASS = { name: 'oncall', password: `userpass-${randomBytes(12).toString('hex')}` };

let vault: VaultTestbed;
let ldap: LdapTestbed;
let dir: string;
let trusted: ClientCertificates;
let untrusted: ClientCertificates;
let jwtKey: KeyObject;
let seq = 0;

const api = (method: string, path: string, body?: unknown) => rootRequest(vault, method, path, body);
const env = () => ({ VAULT_ADDR: vault.addr, VAULT_CACERT: vault.tls!.caFile });

function makeJwt(claims: Record<string, unknown>, key: KeyObject = jwtKey, kid?: string): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${part({ alg: 'ES256', typ: 'JWT', ...(kid ? { kid } : {}) })}.${part(claims)}`;
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}
const now = () => Math.floor(Date.now() / 1000);
const goodClaims = () => ({ sub: 'pipeline-42', aud: AUDIENCE, iat: now(), nbf: now() - 5, exp: now() + 600 });

async function secretFile(content: string): Promise<string> {
  const file = join(dir, `secret-${++seq}`);
  await writeFile(file, `${content}\n`, { mode: 0o600 });
  return file;
}

/** The credentials no output may hold: every private key and password of this file. */
async function credentials(): Promise<string[]> {
  const keys = await Promise.all([trusted.keyFile, untrusted.keyFile].map((f) => readFile(f, 'utf8')));
  const keyLines = keys.flatMap((k) => k.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----')));
  const jwtKeyPem = jwtKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return [
    ...keyLines,
    ...jwtKeyPem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----')),
    LDAP_USER.password,
    USERPASS.password,
    ldap.bindPassword,
    vault.rootToken,
  ];
}

/**
 * Run the CLI recording what it registered as secret: the token it got from the login is among
 * them, and neither it nor any credential (nor a redaction mark: nothing even tried) is in the output.
 */
async function run(args: string[], extraEnv: Record<string, string> = {}, alsoSecret: string[] = []) {
  const seen: string[] = [];
  const secrets = new (class extends SecretRegistry {
    override add(value: string | undefined | null): void {
      if (typeof value === 'string') seen.push(value);
      super.add(value);
    }
  })();
  const r = await runCli(args, { ...env(), ...extraEnv }, { secrets });
  const tokens = seen.filter((v) => /^(hvs|s|hvb|b)\.[A-Za-z0-9_-]{20,}$/.test(v));
  for (const secret of [...(await credentials()), ...alsoSecret, ...tokens])
    assert.ok(!r.all.includes(secret), `a credential leaked: ${secret.slice(0, 4)}…\n${r.all}`);
  assert.ok(!r.all.includes('[REDACTED]'), `nothing tried to print a credential:\n${r.all}`);
  return { ...r, tokens };
}

/** `status` and `snapshot save` to a folder store with one login method's flags: both succeed. */
async function statusAndSave(login: string[], extraEnv: Record<string, string> = {}, alsoSecret: string[] = []) {
  const status = await run(['status', ...login, '--output', 'json'], extraEnv, alsoSecret);
  assert.equal(status.code, 0, status.all);
  assert.equal(status.tokens.length, 1, 'one login, one token');
  assert.equal(status.json().leader.isSelf, true, status.stdout);
  assert.equal(status.json().peers.length, 1, 'the raft peers need the policy the role gave');
  const store = join(dir, `store-${++seq}`);
  const saved = await run(['snapshot', 'save', '--to', store, ...login, '--output', 'json'], extraEnv, alsoSecret);
  assert.equal(saved.code, 0, saved.all);
  const id = saved.json().id as string;
  assert.ok(
    (await readdir(store)).some((f) => f.startsWith(id)),
    'the snapshot is in the store',
  );
}

/** One error line naming the method, the mount and `reason`; exit 1. */
function assertRefused(r: CliResult, prefix: string, reason: RegExp): string {
  assert.equal(r.code, 1, r.all);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('error: '));
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(lines[0]!.startsWith(`error: ${prefix}`), lines[0]);
  assert.match(lines[0]!, reason);
  return lines[0]!;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-auth-methods-'));
  trusted = makeClientCertificates(dir, 'trusted', JOB);
  untrusted = makeClientCertificates(dir, 'untrusted', JOB);
  jwtKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  [vault, ldap] = await Promise.all([
    startVault({ tls: true, mtlsClientCaFile: trusted.caFile }),
    startLdap([LDAP_USER]),
  ]);
  console.log(`testbed: ${vault.version} at ${vault.addr} (mTLS ${vault.mtlsAddr}); slapd ${ldap.version}`);

  // The snapshot job's policy from `setup policies`, plus what `status` reads (the Raft peers).
  const policies = await runCli(['setup', 'policies', '--job', 'snapshot', '--no-canary', '--output', 'json']);
  assert.equal(policies.code, 0, policies.all);
  const hcl = `${policies.json().policies[0].hcl}
path "sys/storage/raft/configuration" { capabilities = ["read"] }
path "sys/storage/raft/autopilot/state" { capabilities = ["read"] }
`;
  await api('POST', `sys/policies/acl/${JOB}`, { policy: hcl });

  for (const type of ['jwt', 'cert', 'ldap', 'userpass']) await api('POST', `sys/auth/${type}`, { type });
  await api('POST', 'auth/jwt/config', {
    jwt_validation_pubkeys: [createPublicKey(jwtKey).export({ type: 'spki', format: 'pem' }).toString()],
  });
  await api('POST', 'auth/ldap/config', {
    url: ldap.url,
    binddn: ldap.bindDn,
    bindpass: ldap.bindPassword,
    userdn: ldap.userDn,
    userattr: 'uid',
    groupdn: ldap.groupDn,
    groupattr: 'cn',
  });
  await api('POST', `auth/userpass/users/${USERPASS.name}`, { password: USERPASS.password });

  // Each method's role as `setup policies --auth-method …` prints it.
  const roleFlags: Record<string, string[]> = {
    jwt: ['--auth-role', JOB, '--jwt-audience', AUDIENCE, '--jwt-subject', 'pipeline-42'],
    cert: ['--client-cert', trusted.certFile, '--client-key', trusted.keyFile, '--client-ca', trusted.caFile],
    ldap: ['--username', LDAP_USER.uid],
    userpass: ['--username', USERPASS.name],
  };
  for (const [method, flags] of Object.entries(roleFlags)) {
    const printed = await runCli([
      'setup',
      'policies',
      '--job',
      'snapshot',
      '--no-canary',
      '--auth-method',
      method,
      ...flags,
      '--output',
      'json',
    ]);
    assert.equal(printed.code, 0, printed.all);
    const role = printed.json().policies[0].loginRole;
    assert.equal(role.method, method);
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(role.params as Record<string, string>))
      params[k] = v.startsWith('@') ? await readFile(v.slice(1), 'utf8') : v;
    await api('POST', role.path, params);
  }
});

after(async () => {
  await vault?.stop();
  await ldap?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe(onServer('log in with JWT'), () => {
  test("a JWT signed by the mount's key, from a file and from a variable: status and snapshot save", async () => {
    const jwt = makeJwt(goodClaims());
    await statusAndSave(['--auth-method', 'jwt', '--auth-role', JOB, '--jwt-file', await secretFile(jwt)], {}, [jwt]);
    const fromEnv = makeJwt(goodClaims());
    await statusAndSave(
      ['--auth-method', 'jwt', '--auth-role', JOB, '--jwt-env', 'CI_JOB_JWT'],
      {
        CI_JOB_JWT: fromEnv,
      },
      [fromEnv],
    );
  });

  test('expired, another audience, another key, an unknown role: one line each, no JWT', async () => {
    const login = async (jwt: string, role = JOB) =>
      run(['status', '--auth-method', 'jwt', '--auth-role', role, '--jwt-file', await secretFile(jwt)], {}, [jwt]);
    const expired = await login(makeJwt({ ...goodClaims(), iat: now() - 7200, nbf: now() - 7200, exp: now() - 3600 }));
    console.log(assertRefused(expired, 'JWT login to auth/jwt failed: ', /the JWT has expired/));
    const audience = await login(makeJwt({ ...goodClaims(), aud: 'someone-else' }));
    console.log(
      assertRefused(audience, 'JWT login to auth/jwt failed: ', /audience \(aud claim\) is not one the role/),
    );
    const forged = makeJwt(goodClaims(), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    console.log(assertRefused(await login(forged), 'JWT login to auth/jwt failed: ', /signature does not verify/));
    const role = await login(makeJwt(goodClaims()), 'no-such-role');
    console.log(assertRefused(role, 'JWT login to auth/jwt failed: ', /the role does not exist on this auth mount/));
  });
});

describe(onServer('log in with JWT, keys from a JWKS'), () => {
  let jwks: Server;
  after(() => jwks?.close());

  test('a second mount (--auth-mount) whose keys come from a JWKS URL: status and snapshot save', async () => {
    // The JWKS endpoint of an OIDC issuer, served on loopback: the mount fetches the key by its kid.
    const jwk = { ...createPublicKey(jwtKey).export({ format: 'jwk' }), kid: 'test-key', use: 'sig', alg: 'ES256' };
    jwks = createServer((_req, res) =>
      res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [jwk] })),
    );
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
    await api('POST', 'sys/auth/ci-jwks', { type: 'jwt' });
    await api('POST', 'auth/ci-jwks/config', { jwks_url: url });
    await api('POST', `auth/ci-jwks/role/${JOB}`, {
      role_type: 'jwt',
      user_claim: 'sub',
      bound_audiences: AUDIENCE,
      token_policies: JOB,
    });
    const jwt = makeJwt(goodClaims(), jwtKey, 'test-key');
    await statusAndSave(
      ['--auth-method', 'jwt', '--auth-mount', 'ci-jwks', '--auth-role', JOB, '--jwt-env', 'OIDC_TOKEN'],
      { OIDC_TOKEN: jwt },
      [jwt],
    );
  });
});

describe(onServer('log in with a TLS client certificate'), () => {
  test('a certificate from the trusted CA: status and snapshot save', async () => {
    await statusAndSave(['--auth-method', 'cert', '--client-cert', trusted.certFile, '--client-key', trusted.keyFile]);
    await statusAndSave([
      '--auth-method',
      'cert',
      '--auth-role',
      JOB,
      '--client-cert',
      trusted.certFile,
      '--client-key',
      trusted.keyFile,
    ]);
  });

  test('on a listener that requires the certificate on every connection: status and snapshot save', async () => {
    await statusAndSave(['--auth-method', 'cert', '--client-cert', trusted.certFile, '--client-key', trusted.keyFile], {
      VAULT_ADDR: vault.mtlsAddr!,
    });
    // Token auth through the same listener: the certificate goes with every request, whatever the method.
    const r = await run(['status', '--client-cert', trusted.certFile, '--client-key', trusted.keyFile], {
      VAULT_ADDR: vault.mtlsAddr!,
      VAULT_TOKEN: vault.rootToken,
    });
    assert.equal(r.code, 0, r.all);
    // Without the certificate that listener refuses the connection itself.
    const without = await run(['status'], { VAULT_ADDR: vault.mtlsAddr!, VAULT_TOKEN: vault.rootToken });
    console.log(without.stderr);
    assert.equal(without.code, 1, without.all);
    assert.match(without.stderr, /requires a client certificate signed by a CA it trusts; pass --client-cert/);
    const other = await run(['status', '--client-cert', untrusted.certFile, '--client-key', untrusted.keyFile], {
      VAULT_ADDR: vault.mtlsAddr!,
      VAULT_TOKEN: vault.rootToken,
    });
    console.log(other.stderr);
    assert.equal(other.code, 1, other.all);
    assert.match(other.stderr, /requires a client certificate signed by a CA it trusts/);
  });

  test('a certificate the mount does not trust: one line, no key', async () => {
    const r = await run([
      'status',
      '--auth-method',
      'cert',
      '--client-cert',
      untrusted.certFile,
      '--client-key',
      untrusted.keyFile,
    ]);
    console.log(assertRefused(r, 'Certificate login to auth/cert failed: ', /not trusted by the mount/));
  });
});

describe(onServer('log in with LDAP (OpenLDAP slapd)'), () => {
  test('a directory user whose group maps to the policy: status and snapshot save', async () => {
    const file = await secretFile(LDAP_USER.password);
    await statusAndSave(['--auth-method', 'ldap', '--username', LDAP_USER.uid, '--auth-password-file', file]);
  });

  test('a wrong password: one line, no password', async () => {
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    const r = await run(
      ['status', '--auth-method', 'ldap', '--username', LDAP_USER.uid, '--auth-password-file', await secretFile(wrong)],
      {},
      [wrong],
    );
    console.log(assertRefused(r, 'LDAP login to auth/ldap failed: ', /bad user name or password/));
  });
});

describe(onServer('log in with userpass'), () => {
  test('a user with the policy: status and snapshot save', async () => {
    const file = await secretFile(USERPASS.password);
    await statusAndSave(['--auth-method', 'userpass', '--username', USERPASS.name, '--auth-password-file', file]);
  });

  test('a wrong password: one line, no password', async () => {
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    const r = await run(
      [
        'status',
        '--auth-method',
        'userpass',
        '--username',
        USERPASS.name,
        '--auth-password-file',
        await secretFile(wrong),
      ],
      {},
      [wrong],
    );
    console.log(assertRefused(r, 'Userpass login to auth/userpass failed: ', /bad user name or password/));
  });

  test('no password file and no terminal: a usage error before any login', async () => {
    const r = await run(['status', '--auth-method', 'userpass', '--username', USERPASS.name]);
    assert.equal(r.code, 2, r.all);
    assert.match(r.stderr, /no terminal to ask on: pass --auth-password-file FILE/);
  });
});

describe(onServer('the password on a terminal, and a long run'), () => {
  test('on a terminal the password is asked for without echo, and the login works', async () => {
    // `script` (util-linux) gives the CLI a pty; the test types the password at the prompt like a person.
    const cmd =
      `${process.execPath} --import tsx src/cli/entry.ts status --auth-method userpass --username ` +
      `${USERPASS.name} --output json`;
    const child = spawn('script', ['-qec', cmd, '/dev/null'], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env(), VAULT_OPS_LOG_LEVEL: 'warn', TERM: 'dumb' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    let typed = false;
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
      if (!typed && screen.includes(`Userpass password for ${USERPASS.name} (not shown): `)) {
        typed = true;
        child.stdin.write(`${USERPASS.password}\r`);
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearTimeout(timer);
    assert.ok(typed, `the prompt showed:\n${screen}`);
    assert.equal(code, 0, screen);
    assert.match(screen, /"peers"/, 'status ran with the token the typed password got');
    for (const secret of await credentials()) assert.ok(!screen.includes(secret), 'the password is never echoed');
  });

  test('a token at its max TTL is replaced by logging in again, renewal until then', async () => {
    await api('POST', 'auth/userpass/users/short-lived', {
      password: USERPASS.password,
      token_policies: JOB,
      // Renewal at two thirds of the TTL leaves a loaded machine 2 s of slack at each step.
      token_ttl: '6s',
      token_max_ttl: '9s',
    });
    const logLines = new PassThrough();
    const client = new VaultClient(
      await resolveConnection({
        vaultAddr: vault.addr,
        caCert: vault.tls!.caFile,
        allowInsecureHttp: false,
        requestTimeoutSeconds: 5,
      }),
    );
    const session = await authenticate(
      client,
      {
        authMethod: 'userpass',
        username: 'short-lived',
        authPasswordFile: await secretFile(USERPASS.password),
        jwtFile: '/nonexistent',
      },
      { secrets: new SecretRegistry(), logger: await createLogger({ level: 'debug', destination: logLines }) },
    );
    let log = '';
    logLines.on('data', (c: Buffer) => (log += c.toString()));
    try {
      const first = client.token;
      // A client for another node (as the leader's is made) before the re-login: it follows it.
      const other = await client.forAddress(vault.addr);
      assert.ok(session.ttlSeconds > 0 && session.ttlSeconds <= 6, `ttl ${session.ttlSeconds}`);
      await new Promise((r) => setTimeout(r, 11_000)); // past the first token's 9 s max TTL
      assert.notEqual(client.token, first, `a new token from a new login; the log:\n${log}`);
      const lookup = await client
        .read<{ data: { ttl: number; policies: string[] } }>('auth/token/lookup-self')
        .catch((err: Error) => assert.fail(`${err.message}; the log:\n${log}`));
      // It answered: alive (its TTL may read 0 in its last second).
      assert.ok(lookup.data.ttl >= 0, `the token in use is alive; the log:\n${log}`);
      assert.match(log, /renewed Vault token/, 'renewed while it could be');
      // Near the max TTL a renewal comes back short (Vault) or is refused, `past the max TTL` (OpenBao, whose
      // TTLs round up): either way the next token comes from a new login.
      assert.match(
        log,
        /"why":"(the token nears its max TTL|renewal failed: [^"]*max TTL[^"]*)"[^\n]*logged in to Vault again/,
      );
      assert.ok(lookup.data.policies.includes(JOB));
      const peers = await client.read('sys/storage/raft/configuration');
      assert.ok(peers, 'and carries the policy');
      assert.equal(other.token, client.token, "the other node's client sends the new token too");
      await other.read('auth/token/lookup-self');
    } finally {
      session.close();
    }
  });
});
