import { Option, type Command } from 'commander';
import type { OptionSpec, OptionTable } from './option-table.js';

/** The flag parsers of the tables' `parse` kinds (an invalid integer becomes NaN: the schema names it). */
const parsers: Record<NonNullable<OptionSpec['parse']>, (value: string, previous?: unknown) => unknown> = {
  int: (v) => (/^\d+$/.test(v) ? Number(v) : Number.NaN),
  number: (v) => Number(v),
  list: (v, previous) => [...((previous as string[] | undefined) ?? []), v],
};

/** Declare a table's options as commander flags, in table order (the order `--help` lists them). */
export function addOptions(cmd: Command, table: OptionTable): Command {
  for (const spec of table) {
    const option = new Option(spec.flag, spec.help);
    if (spec.parse) option.argParser(parsers[spec.parse]);
    if (spec.choices) option.choices(spec.choices);
    cmd.addOption(option);
  }
  return cmd;
}
