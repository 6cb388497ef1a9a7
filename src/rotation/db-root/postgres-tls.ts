import { connect as netConnect, isIP } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import { VaultOpsError } from '../../errors.js';

/** libpq's sslmode values (what `connection_url` may say). */
export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** Where a PostgreSQL login goes and what the connection_url says about TLS. */
export interface PostgresTarget {
  host: string;
  port: number;
  /** As written in the connection_url; undefined when it names none. */
  sslmode?: string;
  /**
   * The name the certificate must carry for verify-full (the connection_url's host, also behind --login-check-address).
   */
  tlsServerName?: string;
}

/** The CA a login check trusts: the PEM of --db-ca-cert and its path (for messages). */
export interface TrustedCa {
  file: string;
  pem: string;
}

/**
 * How a login check talks to PostgreSQL: plain TCP only for an explicit `sslmode=disable`, TLS for
 * everything else. `tls` is what `pg` and `tls.connect` get.
 *
 * Why `allow`, `prefer` and a missing sslmode (libpq's default, prefer) mean "TLS required" here:
 * libpq falls back to plain text when the server answers "no TLS" to the SSLRequest, and that
 * answer is unauthenticated — anyone on the path can send it and read what follows. The checks
 * send real passwords (fresh dynamic credentials, static roles' passwords, the root password the
 * operator typed for a re-bootstrap), so a silent downgrade is not acceptable. A server without
 * TLS at all is refused with advice; an operator who accepts plain text writes `sslmode=disable`
 * into the connection_url, where it is visible to everyone reviewing the connection (and Vault
 * itself then uses plain text too, which `prefer` was already doing behind their back).
 *
 * Certificates are verified as libpq verifies them: `verify-ca` the chain, `verify-full` the chain
 * and the host name, against --db-ca-cert or, without it, Node's bundled public CAs. When a CA is
 * given, the chain is verified in every TLS mode (libpq does the same when a root certificate
 * exists). Without a CA, `prefer`/`require` encrypt but do not authenticate the server — as with
 * libpq; demanding verification there would break every server with a self-signed certificate.
 */
export interface PostgresTransport {
  mode: SslMode | undefined;
  tls: false | ConnectionOptions;
  /**
   * For plans and results, e.g. "over TLS (sslmode=verify-full: chain and host name verified against --db-ca-cert
   * ca.pem)".
   */
  describe: string;
}

export function postgresTransport(target: PostgresTarget, ca: TrustedCa | undefined): PostgresTransport {
  const written = target.sslmode;
  if (written !== undefined && !(SSL_MODES as readonly string[]).includes(written)) {
    throw new VaultOpsError(
      'config',
      `the connection_url has sslmode=${written}: expected one of ${SSL_MODES.join(', ')}; fix the connection's ` +
        `connection_url`,
    );
  }
  const mode = written as SslMode | undefined;
  const modeText = mode ? `sslmode=${mode}` : 'no sslmode';
  if (mode === 'disable') return { mode, tls: false, describe: 'in plain text (sslmode=disable)' };

  const caText = ca
    ? `--db-ca-cert ${ca.file}`
    : 'the public CAs bundled with Node (pass --db-ca-cert for a private CA)';
  const expected = target.tlsServerName ?? target.host;
  const base: ConnectionOptions = {
    ...(ca ? { ca: ca.pem } : {}),
    // SNI carries a DNS name only (RFC 6066).
    ...(isIP(expected) === 0 ? { servername: expected } : {}),
  };
  if (mode === 'verify-full') {
    return {
      mode,
      tls: {
        ...base,
        rejectUnauthorized: true,
        checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(expected, cert),
      },
      describe: `over TLS (sslmode=verify-full: chain and host name ${expected} verified against ${caText})`,
    };
  }
  if (mode === 'verify-ca' || ca) {
    return {
      mode,
      tls: { ...base, rejectUnauthorized: true, checkServerIdentity: () => undefined },
      describe:
        `over TLS (${modeText}${mode === 'verify-ca' ? '' : ', TLS required'}: chain verified against ` +
        `${caText}, host name not checked)`,
    };
  }
  return {
    mode,
    tls: { ...base, rejectUnauthorized: false },
    describe:
      `over TLS (${modeText}${mode === 'require' ? '' : ', read as TLS required'}: encrypted, server ` +
      `certificate not verified; --db-ca-cert verifies it)`,
  };
}

/**
 * The one-line refusal when the server offers no TLS. Nothing was sent but the 8-byte SSLRequest:
 * no user name, no password.
 */
export function noTlsRefusal(target: PostgresTarget, transport: PostgresTransport): VaultOpsError {
  const where = `${target.host}:${target.port}`;
  if (transport.mode === 'require' || transport.mode === 'verify-ca' || transport.mode === 'verify-full') {
    return new VaultOpsError(
      'insecure',
      `${where} offers no TLS but the connection_url has sslmode=${transport.mode}: enable TLS on the database ` +
        `(ssl=on) or fix the connection_url; no password was sent`,
    );
  }
  const said = transport.mode ? `has sslmode=${transport.mode}` : 'names no sslmode';
  return new VaultOpsError(
    'insecure',
    `${where} offers no TLS and the connection_url ${said}: refusing to send a password in clear text (no password ` +
      `was sent); enable TLS on the database, or write sslmode=disable into the connection_url if plain text is ` +
      `acceptable there`,
  );
}

/** The one-line failure when the TLS handshake or the certificate check fails. */
export function tlsFailure(
  target: PostgresTarget,
  transport: PostgresTransport,
  ca: TrustedCa | undefined,
  err: unknown,
): VaultOpsError {
  const e = err as { code?: string; message?: string };
  const where = `${target.host}:${target.port}`;
  const detail = `${e.code ? `${e.code}: ` : ''}${(e.message ?? String(err)).split('\n')[0]}`;
  const expected = target.tlsServerName ?? target.host;
  const advice =
    e.code === 'ERR_TLS_CERT_ALTNAME_INVALID'
      ? `the database's certificate does not name ${expected}: connect by a name it carries, or use sslmode=verify-ca`
      : ca
        ? `check that --db-ca-cert ${ca.file} is the CA that signed the database's certificate`
        : "pass --db-ca-cert FILE with the CA that signed the database's certificate";
  return new VaultOpsError(
    'verification',
    `TLS to the database at ${where} failed (${detail}; ` +
      `${transport.mode ? `sslmode=${transport.mode}` : 'no sslmode'}): ${advice}; no password was sent`,
    { cause: err },
  );
}

export type TransportProbe =
  | { outcome: 'plain' }
  | { outcome: 'tls'; protocol: string }
  | { outcome: 'no-tls' }
  | { outcome: 'tls-failed'; error: Error }
  | { outcome: 'unreachable'; reason: string };

/** PostgreSQL's SSLRequest: length 8, code 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * Without any credential: does the server speak TLS, and does its certificate pass the transport's
 * checks? Sends the SSLRequest and, on 'S', completes a TLS handshake, then hangs up before the
 * startup message (so not even a user name is sent).
 */
export function probeTransport(
  target: PostgresTarget,
  transport: PostgresTransport,
  timeoutMs = 5_000,
): Promise<TransportProbe> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: target.host, port: target.port });
    let secure: ReturnType<typeof tlsConnect> | undefined;
    let settled = false;
    const done = (result: TransportProbe) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      secure?.destroy();
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () =>
        done(
          secure
            ? { outcome: 'tls-failed', error: new Error('TLS handshake timed out') }
            : { outcome: 'unreachable', reason: 'timeout' },
        ),
      timeoutMs,
    );
    socket.on('error', (err: NodeJS.ErrnoException) =>
      done(
        secure ? { outcome: 'tls-failed', error: err } : { outcome: 'unreachable', reason: err.code ?? err.message },
      ),
    );
    socket.once('connect', () => {
      if (transport.tls === false) return done({ outcome: 'plain' });
      socket.write(SSL_REQUEST);
      socket.once('data', (answer: Buffer) => {
        if (answer[0] === 0x4e /* N */) return done({ outcome: 'no-tls' });
        if (answer[0] !== 0x53 /* S */)
          return done({
            outcome: 'tls-failed',
            error: new Error(`unexpected answer to the SSLRequest (byte ${answer[0]})`),
          });
        secure = tlsConnect({ ...(transport.tls as ConnectionOptions), socket });
        secure.once('secureConnect', () => done({ outcome: 'tls', protocol: secure?.getProtocol() ?? 'TLS' }));
        secure.on('error', (err) => done({ outcome: 'tls-failed', error: err }));
      });
    });
  });
}
