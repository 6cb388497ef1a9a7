/**
 * Two or three real examples per command: printed at the end of its `--help` and listed in the
 * README's "Examples" section. A test runs each through the parser and checks the README holds
 * exactly these, so the three never drift apart.
 */
export const commandExamples: Readonly<Record<string, readonly string[]>> = {
  status: ['vault-ops status', 'vault-ops status --vault-addr https://vault.example.com:8200 --output json'],
  'snapshot save': [
    'vault-ops snapshot save --to /var/backups/vault',
    'vault-ops snapshot save --to s3://backups/vault/prod --canary --prune --keep-daily 7 --keep-weekly 4',
    'vault-ops snapshot save --to s3://backups/vault/prod --to az://backups/vault/prod --encrypt-to age1example',
  ],
  'snapshot copy': [
    'vault-ops snapshot copy --from s3://backups/vault/prod --to gs://backups-dr/vault/prod',
    'vault-ops snapshot copy --from /var/backups/vault --to s3://backups/vault/prod --missing',
  ],
  'snapshot list': [
    'vault-ops snapshot list --from /var/backups/vault',
    'vault-ops snapshot list --from s3://backups/vault/prod --output json',
    'vault-ops snapshot list --from s3://backups/vault/prod --unverified',
  ],
  'snapshot inspect': [
    'vault-ops snapshot inspect ./20261127T184600Z-3f9a1c.snap',
    'vault-ops snapshot inspect s3://backups/vault/prod#latest --output json',
  ],
  'snapshot prune': [
    'vault-ops snapshot prune --from s3://backups/vault/prod --keep-last 3 --keep-daily 7 --dry-run',
    'vault-ops snapshot prune --from /var/backups/vault --keep-last 10',
  ],
  'snapshot history': [
    'vault-ops snapshot history --from s3://backups/vault/prod --path secret/payments/db --unseal-keys-file k',
    'vault-ops snapshot history --from /var/backups/vault --path secret/app --limit 30 --output json',
  ],
  verify: [
    'vault-ops verify --from s3://backups/vault/prod --unseal-keys-file /run/secrets/unseal-keys',
    'vault-ops verify --from s3://backups/vault/prod --snapshot unverified --unseal-keys-file /run/secrets/unseal-keys',
    'vault-ops verify --from /var/backups/vault --snapshot oldest --unseal-keys-file keys --check-secret secret/app',
  ],
  restore: [
    'vault-ops restore --from s3://backups/vault/prod --snapshot 20261127T184600Z-3f9a1c',
    'vault-ops restore --from /var/backups/vault --snapshot 20261127T184600Z-3f9a1c --force --yes',
  ],
  recover: [
    'vault-ops recover --from /srv/backups --snapshot latest --path secret/app/db --unseal-keys-file k --dry-run',
    'vault-ops recover --from /srv/backups --snapshot latest --path secret/app --version 3 --as secret/app-v3 --yes',
    'vault-ops recover --from /var/backups/vault --snapshot latest --policy payments-read --unseal-keys-file k',
  ],
  report: [
    'vault-ops report --from s3://backups/vault/prod --out vault-backups-evidence.html',
    'vault-ops report --from /var/backups/vault --out /srv/www/vault-backups.html',
    'vault-ops report --from eu=s3://backups-eu/vault --from us=s3://backups-us/vault --out s3://audit/fleet.html',
  ],
  'rotate kv': [
    'vault-ops rotate kv --policy jobs/rotate-kv.yaml --dry-run',
    'vault-ops rotate kv --policy jobs/rotate-kv.yaml --only secret/app/db',
  ],
  'rotate kv status': [
    'vault-ops rotate kv status --policy jobs/rotate-kv.yaml',
    'vault-ops rotate kv status --policy jobs/rotate-kv.yaml --output json',
  ],
  'rotate kv clear': [
    'vault-ops rotate kv clear --policy jobs/rotate-kv.yaml --only secret/app/db',
    'vault-ops rotate kv clear --policy jobs/rotate-kv.yaml --only secret/app/db --output json',
  ],
  'runbook rotate-root': [
    'vault-ops runbook rotate-root --mount database --connection postgres-prod --dry-run',
    'vault-ops runbook rotate-root --mount database --connection pg-prod --snapshot-store s3://backups/vault/prod',
    'vault-ops runbook rotate-root --mount database --connection postgres-prod --resume',
  ],
  daemon: ['vault-ops daemon --jobs /etc/vault-ops/jobs --check', 'vault-ops daemon --jobs /etc/vault-ops/jobs'],
  'setup all': [
    'vault-ops setup all --dry-run',
    'vault-ops setup all --job rotate-kv --policy jobs/rotate-kv.yaml | sh',
  ],
  'setup policies': [
    'vault-ops setup policies | sh',
    'vault-ops setup policies --job rotate-root --mount database --connection postgres-prod',
  ],
  'setup canary': ['vault-ops setup canary', 'vault-ops setup canary --canary-mount ops-canary --dry-run'],
  'setup staging': ['vault-ops setup staging', 'vault-ops setup staging --staging-mount ops-staging --dry-run'],
  'setup signing-key': [
    'vault-ops setup signing-key --out /etc/vault-ops',
    'vault-ops setup signing-key --out ./keys --output json',
  ],
  'setup job-schema': ['vault-ops setup job-schema > jobs/schema.json', 'vault-ops setup job-schema --output json'],
  completion: [
    'vault-ops completion bash > /etc/bash_completion.d/vault-ops',
    'vault-ops completion fish > ~/.config/fish/completions/vault-ops.fish',
  ],
};

/** The README's "Examples" section body: each command's examples under a comment naming it. */
export function examplesMarkdown(): string {
  const blocks = Object.entries(commandExamples).map(([command, examples]) => [`# ${command}`, ...examples].join('\n'));
  return `\`\`\`sh\n${blocks.join('\n\n')}\n\`\`\``;
}

/** The help text after a command's options: its examples, indented. */
export function examplesHelp(examples: readonly string[]): string {
  return `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`;
}
