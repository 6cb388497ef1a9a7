/** Secret values by key, as the rotation hands them to hooks (never logged: every one is registered as a secret). */
export type Values = Record<string, string>;

export function pick(data: Record<string, unknown> | undefined, keys: readonly string[]): Values {
  const out: Values = {};
  for (const k of keys) {
    const v = data?.[k];
    if (v !== undefined && v !== null) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

export function sameValues(a: Values, b: Values): boolean {
  const keys = Object.keys(b);
  return keys.length > 0 && keys.every((k) => a[k] === b[k]);
}
