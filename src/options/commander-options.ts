import { Option, type Command } from 'commander';
import type { OptionSpec, OptionTable } from './option-table.js';

/** The flag parsers of the tables' `parse` kinds (an invalid integer becomes NaN: the schema names it). */
const parsers: Record<NonNullable<OptionSpec['parse']>, (value: string, previous?: unknown) => unknown> = {
  int: (v) => (/^\d+$/.test(v) ? Number(v) : Number.NaN),
  number: (v) => Number(v),
  list: (v, previous) => [...((previous as string[] | undefined) ?? []), v],
};

/**
 * The values a flag accepts when they are a closed list (its `choices`, or its schema's enum), for
 * shell completion; commander itself checks only `choices`, our schema checks the rest.
 */
export const flagValues = new WeakMap<Option, readonly string[]>();

/** Declare a table's options as commander flags, in table order (the order `--help` lists them). */
export function addOptions(cmd: Command, table: OptionTable): Command {
  for (const spec of table) {
    const option = new Option(spec.flag, spec.help);
    if (spec.parse) option.argParser(parsers[spec.parse]);
    if (spec.choices) option.choices(spec.choices);
    const values = spec.choices ?? enumValues(spec.type);
    if (values) flagValues.set(option, values);
    cmd.addOption(option);
  }
  return cmd;
}

/** The string values of an enum schema, through optional/default wrappers; undefined for any other type. */
function enumValues(type: unknown): readonly string[] | undefined {
  let t = type as { options?: unknown; def?: { innerType?: unknown } } | undefined;
  for (let depth = 0; t && depth < 4; depth++) {
    if (Array.isArray(t.options) && t.options.every((o) => typeof o === 'string')) return t.options as string[];
    t = t.def?.innerType as typeof t;
  }
  return undefined;
}
