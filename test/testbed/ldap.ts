import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { makeTempDir, startServerProcess, waitUntil, type ServerProcess } from './server-process.js';

const execFileAsync = promisify(execFile);

/** Debian's paths (`apt-get install slapd ldap-utils`); VAULT_OPS_SLAPD overrides the binary. */
const SLAPD = process.env.VAULT_OPS_SLAPD ?? '/usr/sbin/slapd';
const SLAPADD = process.env.VAULT_OPS_SLAPADD ?? '/usr/sbin/slapadd';
const SCHEMA_DIR = '/etc/ldap/schema';
const MODULE_DIR = '/usr/lib/ldap';

export interface LdapUser {
  uid: string;
  password: string;
  /** Groups (groupOfNames under ou=groups) the user is a member of. */
  groups: string[];
}

export interface LdapTestbed {
  /** ldap://127.0.0.1:PORT */
  url: string;
  suffix: string;
  /** The directory's administrator, for Vault's binddn (search for users and groups). */
  bindDn: string;
  bindPassword: string;
  userDn: string;
  groupDn: string;
  version: string;
  process: ServerProcess;
  stop(): Promise<void>;
}

/**
 * A throw-away OpenLDAP server (Debian's slapd) on a loopback port, configured by a slapd.conf in
 * its own temp dir (no system service, no cn=config of the machine's), with `users` and their
 * groups loaded offline (slapadd) before it starts. Throws, never skips, when slapd is missing or
 * does not start.
 */
export async function startLdap(users: LdapUser[]): Promise<LdapTestbed> {
  for (const need of [SLAPD, SLAPADD, join(SCHEMA_DIR, 'inetorgperson.schema'), join(MODULE_DIR, 'back_mdb.so')])
    if (!existsSync(need))
      throw new Error(
        `testbed: ${need} is missing: install OpenLDAP's server (Debian: apt-get install -y slapd ldap-utils)`,
      );
  const dir = await makeTempDir('slapd');
  const dataDir = join(dir, 'data');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const suffix = 'dc=vault-ops,dc=test';
  const bindDn = `cn=admin,${suffix}`;
  const bindPassword = `admin-${Math.random().toString(36).slice(2)}`;
  const conf = join(dir, 'slapd.conf');
  await writeFile(
    conf,
    [
      ...['core', 'cosine', 'inetorgperson'].map((s) => `include ${join(SCHEMA_DIR, `${s}.schema`)}`),
      `modulepath ${MODULE_DIR}`,
      'moduleload back_mdb',
      `pidfile ${join(dir, 'slapd.pid')}`,
      `argsfile ${join(dir, 'slapd.args')}`,
      'database mdb',
      'maxsize 10485760',
      `suffix "${suffix}"`,
      `rootdn "${bindDn}"`,
      `rootpw ${bindPassword}`,
      `directory ${dataDir}`,
      // Users bind as themselves (Vault checks their password that way); the admin reads everything.
      'access to attrs=userPassword by self read by anonymous auth by * none',
      'access to * by * read',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const userDn = `ou=people,${suffix}`;
  const groupDn = `ou=groups,${suffix}`;
  const groups = [...new Set(users.flatMap((u) => u.groups))];
  const entries = [
    `dn: ${suffix}\nobjectClass: dcObject\nobjectClass: organization\ndc: vault-ops\no: vault-ops test`,
    `dn: ${userDn}\nobjectClass: organizationalUnit\nou: people`,
    `dn: ${groupDn}\nobjectClass: organizationalUnit\nou: groups`,
    ...users.map(
      (u) =>
        `dn: uid=${u.uid},${userDn}\nobjectClass: inetOrgPerson\nuid: ${u.uid}\ncn: ${u.uid}\nsn: ${u.uid}\n` +
        `userPassword: ${u.password}`,
    ),
    ...groups.map(
      (g) =>
        `dn: cn=${g},${groupDn}\nobjectClass: groupOfNames\ncn: ${g}\n` +
        users
          .filter((u) => u.groups.includes(g))
          .map((u) => `member: uid=${u.uid},${userDn}`)
          .join('\n'),
    ),
  ];
  const ldif = join(dir, 'seed.ldif');
  await writeFile(ldif, `${entries.join('\n\n')}\n`, { mode: 0o600 });
  try {
    await execFileAsync(SLAPADD, ['-f', conf, '-l', ldif]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`testbed: slapadd could not load the directory: ${(err as { stderr?: string }).stderr ?? err}`);
  }
  const { stderr: versionText } = await execFileAsync(SLAPD, ['-VV']).catch((e) => e as { stderr: string });
  const version = (versionText.match(/slapd ([\d.]+)/) ?? [])[1] ?? 'unknown';
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  // -d 0: stay in the foreground (the testbed owns the process) without debug output; as root, no -u.
  const proc = await startServerProcess({
    name: 'slapd',
    command: SLAPD,
    args: ['-d', '0', '-f', conf, '-h', `${url}/`],
    dir,
  });
  await waitUntil(
    `slapd at ${url}`,
    () =>
      new Promise<boolean>((resolve) => {
        const socket = createConnection({ host: '127.0.0.1', port }, () => {
          socket.end();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      }),
    { server: proc, timeoutMs: 30_000 },
  );
  return {
    url,
    suffix,
    bindDn,
    bindPassword,
    userDn,
    groupDn,
    version,
    process: proc,
    async stop() {
      await proc.stop();
    },
  };
}
