import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { resolveOptions } from '../config/resolve.js';
import { jobFileJsonSchema, parseJobDefinition } from '../scheduler/job-definition.js';
import { commandOptions, configFileKeys, globalJobKeys, jobCommandOptions } from './all-commands.js';
import { addOptions } from './commander-options.js';
import { configFileOption, globalOptions } from './global.js';
import { environmentOf, fileKeysOf, schemaOf, sourcesOf, type OptionSpec } from './option-table.js';
import { verifyOptions } from './verify.js';

const longFlag = (spec: OptionSpec) => /--[\w-]+/.exec(spec.flag)?.[0];
const duplicates = (values: (string | undefined)[]) =>
  values.filter((v, i) => v !== undefined && values.indexOf(v) !== i);

describe('option tables', () => {
  test('within each command (with the global options), keys, flags and environment variables are unique', () => {
    for (const [command, table] of Object.entries(commandOptions)) {
      const specs = [...globalOptions, configFileOption, ...table];
      assert.deepEqual(duplicates(specs.map((s) => s.key)), [], `${command}: keys`);
      assert.deepEqual(duplicates(specs.map(longFlag)), [], `${command}: flags`);
      assert.deepEqual(duplicates(specs.flatMap((s) => s.env ?? [])), [], `${command}: environment variables`);
    }
  });

  test("each key is the name commander gives its flag's value", () => {
    for (const table of [globalOptions, [configFileOption], ...Object.values(commandOptions)]) {
      for (const spec of table) assert.equal(new Option(spec.flag).attributeName(), spec.key, spec.flag);
    }
  });

  test('the config file takes every option but the command-line-only ones; credentials never go into job files', () => {
    const keys = configFileKeys();
    for (const key of [
      'vaultAddr',
      'token',
      's3Sse',
      'keepDaily',
      'encryptTo',
      'jobs',
      'k8sAudience',
      'dbCaCert',
      'mode',
      'config',
    ])
      assert.ok(keys.has(key), key);
    for (const key of ['yes', 'resume', 'rebootstrap']) assert.ok(!keys.has(key), key);
    assert.ok(!globalJobKeys().includes('token'));
    assert.ok(globalJobKeys().includes('vaultAddr'));
    const schema = JSON.stringify(jobFileJsonSchema());
    assert.ok(!schema.includes('"token"'), 'the job schema never offers the token');
  });

  test('the job schema lists, per command, the keys the scheduler accepts', () => {
    const job = (jobFileJsonSchema() as { properties: { job: { allOf: Array<{ if: any; then: any }> } } }).properties
      .job;
    const known = jobCommandOptions();
    for (const rule of job.allOf) {
      const command = rule.if.properties.command.const as keyof typeof known;
      assert.deepEqual(
        rule.then.properties.options.propertyNames.enum,
        [...globalJobKeys(), ...known[command].map((s) => s.key)],
        command,
      );
    }
    assert.deepEqual(
      job.allOf.map((r) => r.if.properties.command.const),
      Object.keys(known),
    );
  });

  test('an option added to a table appears in --help, the environment, the config file and job files', () => {
    const added: OptionSpec = {
      key: 'drillBudgetSeconds',
      flag: '--drill-budget-seconds <n>',
      help: 'how long the whole drill may take',
      env: ['VAULT_OPS_DRILL_BUDGET_SECONDS'],
      parse: 'int',
      type: z.number().int().positive().optional(),
    };
    const table = [...verifyOptions, added];
    const cmd = addOptions(new Command('verify'), table);
    assert.match(cmd.helpInformation(), /--drill-budget-seconds <n>\s+how long the whole drill may take/);
    cmd.parse(['--drill-budget-seconds', '90'], { from: 'user' });
    assert.equal(cmd.opts().drillBudgetSeconds, 90);
    const schema = schemaOf([added]);
    assert.deepEqual(
      resolveOptions(schema, sourcesOf([added]), {
        flags: {},
        env: { VAULT_OPS_DRILL_BUDGET_SECONDS: '120' },
        file: {},
      }),
      { drillBudgetSeconds: 120 },
    );
    assert.deepEqual(
      resolveOptions(schema, sourcesOf([added]), { flags: {}, env: {}, file: { drillBudgetSeconds: 30 } }),
      { drillBudgetSeconds: 30 },
    );
    assert.ok(fileKeysOf(table).includes('drillBudgetSeconds'));
    const job = {
      job: { command: 'verify', schedule: '30 4 * * *', options: { from: 's3://b/p', drillBudgetSeconds: 600 } },
    };
    assert.equal(parseJobDefinition(job, '/jobs/verify.yaml', { verify: table }).options.drillBudgetSeconds, 600);
    assert.throws(
      () => parseJobDefinition(job, '/jobs/verify.yaml', { verify: verifyOptions }),
      /verify has no option --drill-budget-seconds/,
    );
  });

  test('the flag parsers: integers, numbers, repeatable lists; a switch is a boolean in the environment', () => {
    const table: OptionSpec[] = [
      {
        key: 'count',
        flag: '--count <n>',
        help: 'c',
        env: ['X_COUNT'],
        parse: 'int',
        type: z.number().int().optional(),
      },
      { key: 'ratio', flag: '--ratio <n>', help: 'r', parse: 'number', type: z.number().optional() },
      {
        key: 'item',
        flag: '--item <x>',
        help: 'i',
        env: ['X_ITEMS'],
        parse: 'list',
        type: z.array(z.string()).default([]),
      },
      { key: 'on', flag: '--on', help: 'o', env: ['X_ON'], type: z.boolean().default(false) },
    ];
    const cmd = addOptions(new Command('x'), table);
    cmd.parse(['--count', '3', '--ratio', '0.5', '--item', 'a', '--item', 'b'], { from: 'user' });
    assert.deepEqual(cmd.opts(), { count: 3, ratio: 0.5, item: ['a', 'b'] });
    assert.ok(
      Number.isNaN(addOptions(new Command('y'), table).parse(['--count', '3x'], { from: 'user' }).opts().count),
    );
    const env = { X_COUNT: '7', X_ITEMS: 'a, b', X_ON: 'yes' };
    assert.deepEqual(resolveOptions(schemaOf(table), sourcesOf(table), { flags: {}, env, file: {} }), {
      count: 7,
      item: ['a', 'b'],
      on: true,
    });
  });

  test("resolved values become environment variables under each option's first name", () => {
    assert.deepEqual(
      environmentOf(globalOptions, {
        vaultAddr: 'https://v:8200',
        allowInsecureHttp: false,
        token: 't',
        requestTimeoutSeconds: 5,
      }),
      {
        VAULT_ADDR: 'https://v:8200',
        VAULT_TOKEN: 't',
        VAULT_OPS_REQUEST_TIMEOUT_SECONDS: '5',
      },
    );
    assert.deepEqual(environmentOf(globalOptions, { allowInsecureHttp: true }), {
      VAULT_OPS_ALLOW_INSECURE_HTTP: 'true',
    });
  });

  test(
    'the tables stay cheap to import: zod, commander (for addOptions), node built-ins, each other and ' +
      'time/duration only',
    async () => {
      const dir = new URL('./', import.meta.url);
      const files = (await readdir(dir)).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
      for (const file of files) {
        const text = await readFile(new URL(file, dir), 'utf8');
        for (const [, from] of text.matchAll(/^import [^;]*? from '([^']+)';/gms)) {
          const allowed =
            from !== undefined &&
            (from === 'zod' ||
              from.startsWith('node:') ||
              from.startsWith('./') ||
              from === '../time/duration.js' ||
              from === '../config/resolve.js' ||
              (file === 'commander-options.ts' && from === 'commander'));
          assert.ok(allowed, `${file} imports ${from}`);
        }
      }
    },
  );
});

describe('messages for missing options (issue #17)', () => {
  test('every required option of every command says who needs it, every way to give it and an example', () => {
    let checked = 0;
    for (const [command, table] of Object.entries<readonly OptionSpec[]>({
      ...commandOptions,
      '(global)': globalOptions,
    })) {
      const sources = sourcesOf(table);
      const required = table.filter((s) => !s.type.safeParse(undefined).success);
      if (required.length === 0) continue;
      let message = '';
      try {
        resolveOptions(schemaOf(table), sources, { flags: {}, env: {}, file: {} }, command);
        assert.fail(`${command}: expected the missing options to be refused`);
      } catch (err) {
        message = (err as Error).message;
      }
      assert.ok(message.startsWith(`${command} needs `), `${command}: ${message}`);
      assert.doesNotMatch(message, /Invalid input|expected|received|undefined/, `${command}: ${message}`);
      for (const spec of required) {
        assert.ok(spec.example, `${command} ${spec.flag}: a required option needs an example`);
        const shown = spec.flag.replace(/<([^>]+)>/, (_, name: string) => name.toUpperCase());
        assert.ok(message.includes(shown), `${command}: ${message} lacks ${shown}`);
        if (spec.env?.[0]) assert.ok(message.includes(spec.env[0]), `${command}: ${message} lacks ${spec.env[0]}`);
        assert.ok(message.includes(`${spec.key}: in the config file`), `${command}: ${message} lacks ${spec.key}`);
        assert.ok(message.includes(`e.g. ${spec.example}`), `${command}: ${message} lacks the example`);
        checked++;
      }
    }
    assert.ok(checked >= 11, `only ${checked} required options found`);
  });
});
