/**
 * What the scratch server may see of our environment. It gets PATH and its own HOME always; for
 * the restarts on the restored data with the source's seal stanza, also the variables a seal
 * needs to reach its KMS: cloud credentials (AWS_* incl. web identity, AZURE_*, GOOGLE_*) and the
 * seal settings both servers read from the environment (VAULT_SEAL_*, BAO_SEAL_*, and the
 * per-seal VAULT_<KIND>_SEAL_* / BAO_<KIND>_SEAL_* such as VAULT_AWSKMS_SEAL_KEY_ID). An
 * allowlist, never a blocklist: the job's own VAULT_TOKEN, VAULT_ADDR, S3 keys for the store,
 * and everything else stay out.
 */
const SEAL_VARIABLE = [
  /^AWS_[A-Z0-9_]+$/,
  /^AZURE_[A-Z0-9_]+$/,
  /^GOOGLE_(APPLICATION_CREDENTIALS|CREDENTIALS|PROJECT|REGION)$/,
  /^(VAULT|BAO)_SEAL_[A-Z0-9_]+$/,
  /^(VAULT|BAO)_[A-Z0-9]+_SEAL_[A-Z0-9_]+$/,
  /^(VAULT|BAO)_AZUREKEYVAULT_[A-Z0-9_]+$/,
];

export function sealEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && SEAL_VARIABLE.some((re) => re.test(name))) out[name] = value;
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
