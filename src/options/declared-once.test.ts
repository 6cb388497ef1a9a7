import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { commandOptions } from './all-commands.js';
import { globalOptions } from './global.js';
import type { OptionSpec } from './option-table.js';
import { storeOptions } from './store.js';

/**
 * What makes two declarations one option: how its text is read, what it accepts and its default. A
 * command may require what another leaves optional (setup policies needs --mount only for rotate-root),
 * so optional, default and required are compared apart: two different defaults, or two different
 * validators, are drift.
 */
function signature(spec: OptionSpec): { accepts: string; default: unknown } {
  const schema = z.toJSONSchema(spec.type, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const { default: dflt, $schema: _, ...accepts } = schema;
  return {
    accepts: JSON.stringify({ parse: spec.parse ?? null, secret: spec.secret ?? false, ...accepts }),
    default: dflt,
  };
}

/** Flags that mean different things to different commands, on purpose. */
const differentOnPurpose: Record<string, string> = {
  VAULT_OPS_SNAPSHOT_STORE: 'snapshot save writes to every store listed (a list of store URLs); the others read one',
  '--from': 'report reads every store listed (one page for many clusters); the others read one',
  '--snapshot':
    'verify picks by rule (latest, oldest, unverified); restore and copy name snapshots (restore refuses latest)',
  '--policy': 'rotate kv and setup take a rotation policy file; recover names ACL policies (repeatable)',
  '--version': 'recover: a KV v2 version of the snapshot; elsewhere the global -V, --version prints the tool version',
};

test('an environment variable or a flag means one option everywhere: the same type and default (#24)', () => {
  const declared = new Map<string, Array<{ where: string; spec: OptionSpec }>>();
  const tables: Array<[string, readonly OptionSpec[]]> = [
    ['(global)', globalOptions],
    ['(store)', storeOptions],
    ...Object.entries(commandOptions),
  ];
  for (const [where, table] of tables)
    for (const spec of table)
      for (const name of [spec.flag.split(/[ ,]/)[0]!, ...(spec.env ?? [])])
        declared.set(name, [...(declared.get(name) ?? []), { where, spec }]);
  const drifting: string[] = [];
  for (const [name, all] of declared) {
    if (name in differentOnPurpose) continue;
    const sigs = all.map((d) => ({ where: d.where, ...signature(d.spec) }));
    const accepts = new Set(sigs.map((s) => s.accepts));
    const defaults = new Set(sigs.filter((s) => s.default !== undefined).map((s) => JSON.stringify(s.default)));
    if (accepts.size > 1 || defaults.size > 1)
      drifting.push(`${name}: ${sigs.map((s) => `${s.where} (default ${JSON.stringify(s.default)})`).join(' / ')}`);
  }
  assert.deepEqual(drifting, []);
});
