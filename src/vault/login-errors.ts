import { VaultOpsError } from '../errors.js';
import type { LoginRequest } from './login-methods.js';

/**
 * Why a Kubernetes login got a bare "permission denied". Vault and OpenBao name the reason when
 * their own checks fail (service account name, namespace, audience, an expired `exp`); a bare
 * refusal means the token passed them and the API server's TokenReview did not confirm it, which
 * the server does not explain (measured against kube-apiserver 1.37: a forged token, a deleted
 * ServiceAccount, a reviewer without system:auth-delegator all look the same).
 */
export const KUBERNETES_REVIEW_REFUSED =
  'permission denied: the Kubernetes API server did not confirm the token (TokenReview): it is forged or revoked, ' +
  "its ServiceAccount or Pod was deleted, or Vault's token reviewer may not review tokens (bind it to " +
  'system:auth-delegator)';

/**
 * The servers' own refusals, each with what it means for the person running vault-ops; none of
 * them carries the credential. Observed by test/integration/auth-methods.test.ts against both
 * flavours; where they word it differently, both texts are listed:
 * - expired JWT, both: `error validating token: invalid expiration time (exp) claim: token is expired`
 * - wrong audience, both: `… invalid audience (aud) claim: audience claim does not match any expected audience`
 * - unknown role, both: `role "NAME" could not be found`
 * - untrusted certificate: OpenBao 2.4 `invalid certificate or no client certificate supplied; …`, Vault 1.21
 *   `failed to match all constraints for this login certificate`
 * - bad password: LDAP OpenBao `ldap operation failed: failed to bind as user`, Vault `invalid credentials`;
 *   userpass, both: `invalid username or password`
 */
const KNOWN_REFUSALS: ReadonlyArray<{ when: RegExp; say: string }> = [
  {
    when: /token is expired|expired \(exp\)/i,
    say: 'the JWT has expired (its exp claim is in the past): get a fresh one',
  },
  {
    when: /audience \(aud\) claim|audience claim/i,
    say: "the JWT's audience (aud claim) is not one the role accepts (bound_audiences): request the token for it",
  },
  {
    when: /role ".*" could not be found/i,
    say: 'the role does not exist on this auth mount: check --auth-role and --auth-mount',
  },
  {
    when: /invalid certificate or no client certificate supplied|failed to match all constraints for this login cert/i,
    say:
      "the client certificate is not trusted by the mount (no certificate role's CA signed it, or its name is not " +
      'one the role allows): check --client-cert and the roles under auth/<mount>/certs',
  },
  {
    when: /invalid username or password|^invalid credentials$|failed to bind as user/i,
    say: 'bad user name or password: check --username and the password',
  },
  {
    when: /error validating token: .*(signature|no known key)|failed to verify id token signature/i,
    say: "the JWT's signature does not verify against the mount's keys (jwt_validation_pubkeys or JWKS)",
  },
];

/** A refused login as one line: the method, the mount, what was wrong, what to check; never the credential. */
export function loginFailure(request: LoginRequest, err: VaultOpsError): VaultOpsError {
  const detail = err.detail ?? (err.code === 'not-found' ? `no auth method mounted at auth/${request.mount}` : '');
  let why = detail || 'rejected';
  if (request.what === 'Kubernetes' && why === 'permission denied') why = KUBERNETES_REVIEW_REFUSED;
  const known = request.what === 'Kubernetes' ? undefined : KNOWN_REFUSALS.find((r) => r.when.test(detail));
  const what = `${request.what} login to auth/${request.mount} failed`;
  return new VaultOpsError(
    'vault-auth',
    known
      ? `${what}: ${known.say} (Vault: ${detail})`
      : `${what}: ${why}; check the role, the credential and the auth mount (--auth-mount)`,
    { cause: err },
  );
}
