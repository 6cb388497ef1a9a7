import { bootstrapRequest } from './bootstrap-http.js';
import { startVault, type VaultTestbed } from './vault.js';

/**
 * Auto-unseal as both flavours offer it: `seal "transit"`, backed by a second server's transit
 * engine (the "KMS"). The stanza carries a token limited to encrypt/decrypt with one key, as a
 * real deployment would; the KMS is of the same flavour as the server under test.
 */
export interface TransitSeal {
  kms: VaultTestbed;
  /** The seal stanza (HCL) for the source cluster and for `verify --seal-config`. */
  stanza: string;
  /** The stanza's token (to assert it never reaches output). */
  token: string;
  stop(): Promise<void>;
}

export async function startTransitSeal(keyName = 'vault-ops-autounseal'): Promise<TransitSeal> {
  const kms = await startVault();
  try {
    const root = kms.rootToken;
    await bootstrapRequest(kms.addr, 'POST', 'sys/mounts/transit', { token: root, body: { type: 'transit' } });
    await bootstrapRequest(kms.addr, 'POST', `transit/keys/${keyName}`, { token: root, body: {} });
    await bootstrapRequest(kms.addr, 'POST', 'sys/policies/acl/autounseal', {
      token: root,
      body: {
        policy:
          `path "transit/encrypt/${keyName}" { capabilities = ["update"] }\npath "transit/decrypt/${keyName}" ` +
          `{ capabilities = ["update"] }\n`,
      },
    });
    const created = await bootstrapRequest(kms.addr, 'POST', 'auth/token/create-orphan', {
      token: root,
      body: { policies: ['autounseal'], period: '24h', no_default_policy: true },
    });
    const token = created.body.auth.client_token as string;
    const stanza = `seal "transit" {
  address         = "${kms.addr}"
  token           = "${token}"
  key_name        = "${keyName}"
  mount_path      = "transit/"
  disable_renewal = "true"
}
`;
    return { kms, stanza, token, stop: () => kms.stop() };
  } catch (err) {
    await kms.stop();
    throw err;
  }
}
