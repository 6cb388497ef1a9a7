/**
 * Value-based redaction. Path-based redaction (pino's `redact`) only catches secrets under
 * known field names; a token that ends up inside an error string or an unexpected field would
 * slip through. Every secret vault-ops learns at run time (token, unseal keys, generated values)
 * is registered here, and the logger replaces any occurrence of it in every line it writes.
 */
export class SecretRegistry {
  private readonly values = new Set<string>();

  /** Register a secret value; values shorter than 4 characters are ignored (they would mask ordinary text). */
  add(value: string | undefined | null): void {
    if (typeof value !== 'string') return;
    const trimmed = value.trim();
    if (trimmed.length >= 4) this.values.add(trimmed);
  }

  get size(): number {
    return this.values.size;
  }

  /** Replace every registered value in `text` with `[REDACTED]`. */
  scrub(text: string): string {
    if (this.values.size === 0) return text;
    let out = text;
    for (const value of this.values) {
      if (out.includes(value)) out = out.split(value).join('[REDACTED]');
      // JSON-escaped form, in case a value contains characters JSON escapes.
      const escaped = JSON.stringify(value).slice(1, -1);
      if (escaped !== value && out.includes(escaped)) out = out.split(escaped).join('[REDACTED]');
    }
    return out;
  }
}

/** The process-wide registry the logger and the CLI error handler consult. */
export const secrets = new SecretRegistry();
