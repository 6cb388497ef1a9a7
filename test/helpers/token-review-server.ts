import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { makeTestCertificates } from '../testbed/tls.js';

/**
 * A small stand-in for the Kubernetes API's TokenReview endpoint, over HTTPS with a throw-away CA,
 * so that OpenBao's kubernetes auth method can be tested end to end without a cluster. It issues
 * service-account JWTs (projected-token claims, ES256-signed) and answers
 * `POST /apis/authentication.k8s.io/v1/tokenreviews` for the tokens it issued, like the API server:
 * authenticated only when the token is known, unrevoked, unexpired and valid for one of the
 * requested audiences; `status.audiences` is the overlap; the user is
 * `system:serviceaccount:<ns>:<name>` with the service account's uid.
 */

export interface ServiceAccountRef {
  namespace: string;
  name: string;
  /** Default: a fresh UUID. */
  uid?: string;
}

export interface IssueOptions {
  audiences: string[];
  expiresInSeconds?: number;
  /** Claims to put in the JWT instead of the real ones (a forged token: the review still answers with the truth). */
  forgedClaims?: { audiences?: string[]; uid?: string; name?: string };
}

export interface ReviewRecord {
  audiences: string[];
  authenticated: boolean;
  username?: string;
}

export interface TokenReviewServer {
  /** https://127.0.0.1:PORT */
  url: string;
  caPem: string;
  issue(sa: ServiceAccountRef, options: IssueOptions): string;
  revoke(token: string): void;
  /** Every review answered, in order. */
  reviews: ReviewRecord[];
  stop(): Promise<void>;
}

interface IssuedToken {
  namespace: string;
  name: string;
  uid: string;
  audiences: string[];
  expires: number;
  revoked: boolean;
}

const b64url = (v: Buffer | string) => Buffer.from(v).toString('base64url');

function signJwt(claims: Record<string, unknown>, key: KeyObject, kid: string): string {
  const header = b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid }));
  const payload = b64url(JSON.stringify(claims));
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), { key, dsaEncoding: 'ieee-p1363' });
  return `${header}.${payload}.${b64url(signature)}`;
}

export async function startTokenReviewServer(dir: string): Promise<TokenReviewServer> {
  const tls = makeTestCertificates(dir, 'kube-apiserver');
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const kid = randomUUID();
  const issued = new Map<string, IssuedToken>();
  const reviews: ReviewRecord[] = [];

  const server: Server = createServer(
    { key: readFileSync(tls.keyFile), cert: readFileSync(tls.certFile) },
    (req, res) => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url !== '/apis/authentication.k8s.io/v1/tokenreviews') {
        reply(404, {
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'NotFound',
          code: 404,
          message: `${req.method} ${req.url} not found`,
        });
        return;
      }
      if (!/^Bearer \S+/.test(req.headers.authorization ?? '')) {
        reply(401, {
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'Unauthorized',
          code: 401,
          message: 'Unauthorized',
        });
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let review: { spec?: { token?: string; audiences?: string[] } };
        try {
          review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          reply(400, {
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            reason: 'BadRequest',
            code: 400,
            message: 'invalid JSON',
          });
          return;
        }
        const token = review.spec?.token ?? '';
        const wanted = review.spec?.audiences ?? [];
        const known = issued.get(token);
        let status: Record<string, unknown>;
        if (!known || known.revoked || known.expires < Date.now() / 1000) {
          status = { authenticated: false, error: 'invalid bearer token, token lookup failed' };
        } else {
          const overlap = wanted.length ? known.audiences.filter((a) => wanted.includes(a)) : known.audiences;
          status = overlap.length
            ? {
                authenticated: true,
                audiences: overlap,
                user: {
                  username: `system:serviceaccount:${known.namespace}:${known.name}`,
                  uid: known.uid,
                  groups: [
                    'system:serviceaccounts',
                    `system:serviceaccounts:${known.namespace}`,
                    'system:authenticated',
                  ],
                },
              }
            : {
                authenticated: false,
                error: 'invalid bearer token, token audiences is invalid for the target audiences',
              };
        }
        reviews.push({
          audiences: wanted,
          authenticated: status.authenticated === true,
          ...(status.user ? { username: (status.user as { username: string }).username } : {}),
        });
        reply(201, {
          kind: 'TokenReview',
          apiVersion: 'authentication.k8s.io/v1',
          metadata: { creationTimestamp: null },
          spec: { audiences: wanted },
          status,
        });
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `https://127.0.0.1:${port}`,
    caPem: tls.caPem,
    reviews,
    issue(sa, options) {
      const uid = sa.uid ?? randomUUID();
      const now = Math.floor(Date.now() / 1000);
      const exp = now + (options.expiresInSeconds ?? 600);
      const forged = options.forgedClaims ?? {};
      const token = signJwt(
        {
          aud: forged.audiences ?? options.audiences,
          exp,
          iat: now,
          nbf: now,
          iss: 'https://kubernetes.default.svc.cluster.local',
          sub: `system:serviceaccount:${sa.namespace}:${forged.name ?? sa.name}`,
          'kubernetes.io': {
            namespace: sa.namespace,
            pod: { name: `${sa.name}-28911240-abcde`, uid: randomUUID() },
            serviceaccount: { name: forged.name ?? sa.name, uid: forged.uid ?? uid },
          },
        },
        privateKey,
        kid,
      );
      issued.set(token, {
        namespace: sa.namespace,
        name: sa.name,
        uid,
        audiences: options.audiences,
        expires: exp,
        revoked: false,
      });
      return token;
    },
    revoke(token) {
      const t = issued.get(token);
      if (t) t.revoked = true;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
