/**
 * What the scratch server may see of our environment. It gets PATH and its own HOME always; for
 * the restarts on the restored data with the source's seal stanza, also the variables a seal
 * needs to reach its KMS: cloud credentials (AWS_* incl. web identity, AZURE_*, GOOGLE_*) and the
 * seal settings both servers read from the environment (VAULT_SEAL_*, BAO_SEAL_*, and the
 * per-seal VAULT_<KIND>_SEAL_* / BAO_<KIND>_SEAL_* such as VAULT_AWSKMS_SEAL_KEY_ID). An
 * allowlist, never a blocklist: the job's own VAULT_TOKEN, VAULT_ADDR, S3 keys for the store,
 * and everything else stay out.
 */
const SEAL_SETTINGS = [
  /^(VAULT|BAO)_SEAL_[A-Z0-9_]+$/,
  /^(VAULT|BAO)_[A-Z0-9]+_SEAL_[A-Z0-9_]+$/,
  /^(VAULT|BAO)_AZUREKEYVAULT_[A-Z0-9_]+$/,
];

/**
 * The cloud credentials each seal kind reads. A seal gets its own provider's only: the store's keys
 * (AWS_* for an S3 store under a transit seal, AZURE_STORAGE_* always) never reach the scratch server.
 */
const PROVIDER_VARIABLES: Record<string, RegExp[]> = {
  awskms: [/^AWS_[A-Z0-9_]+$/],
  azurekeyvault: [/^AZURE_(?!STORAGE_)[A-Z0-9_]+$/],
  gcpckms: [/^GOOGLE_(APPLICATION_CREDENTIALS|CREDENTIALS|PROJECT|REGION)$/],
};

/** The seal kinds a stanza names (`seal "awskms" { … }`); none known: every provider's variables. */
function sealKinds(sealConfig: string | undefined): string[] | undefined {
  if (sealConfig === undefined) return undefined;
  const kinds = [...sealConfig.matchAll(/^\s*seal\s+"([A-Za-z0-9_-]+)"/gm)].map((m) => m[1]!.toLowerCase());
  return kinds.length ? kinds : undefined;
}

export function sealEnvironment(env: NodeJS.ProcessEnv, sealConfig?: string): Record<string, string> {
  const kinds = sealKinds(sealConfig);
  const allowed = [
    ...SEAL_SETTINGS,
    ...Object.entries(PROVIDER_VARIABLES)
      .filter(([kind]) => !kinds || kinds.includes(kind))
      .flatMap(([, patterns]) => patterns),
  ];
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && allowed.some((re) => re.test(name))) out[name] = value;
  }
  return out;
}

/** HCL attributes of a seal stanza that hold credentials (or point at key material). */
const SECRET_ATTRIBUTE = /(token|secret|password|credential|private|access_key|^current_key$|^previous_key$|^key$)/i;

/**
 * The credential values written in a seal stanza (`token = "…"`, `client_secret = "…"`, …), to
 * register with the log scrubber before anything can print them.
 */
export function sealConfigSecrets(hcl: string): string[] {
  const values: string[] = [];
  for (const match of hcl.matchAll(/^\s*([A-Za-z0-9_]+)\s*=\s*"((?:[^"\\]|\\.)*)"/gm)) {
    const [, name, value] = match;
    if (name && value && value.length >= 4 && SECRET_ATTRIBUTE.test(name)) values.push(value);
  }
  return values;
}
