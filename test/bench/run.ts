/**
 * Benchmarks (not part of `npm test`):
 *
 *   npm run bench -- [snapshot|verify|recover|rotate|inspect|startup|catalogue ...] [--size-mb N] [--runs N]
 *                    [--secrets N] [--concurrency N] [--file ARCHIVE] [--cli built|source]
 *                    [--snapshots 1000,10000] [--stores s3,azure,gcs]
 *
 * With no name every bench runs, sharing one seeded OpenBao and one versitygw. Each bench prints
 * one JSON object on its own line to stdout; progress goes to stderr. The built CLI
 * (`node bin/vault-ops.js`, run `npm run build` first) is measured unless `--cli source`.
 */
import { BenchContext, type BenchOptions } from './bench-context.js';
import { catalogueBench } from './catalogue.js';
import { inspectBench } from './inspect.js';
import { machineInfo } from './measure.js';
import { recoverBench } from './recover.js';
import { rotateBench } from './rotate.js';
import { saveMemoryBench } from './save-memory.js';
import { snapshotBench } from './snapshot.js';
import { startupBench } from './startup.js';
import { verifyBench } from './verify.js';

const benches = {
  snapshot: snapshotBench,
  verify: verifyBench,
  recover: recoverBench,
  rotate: rotateBench,
  inspect: inspectBench,
  'save-memory': saveMemoryBench,
  startup: startupBench,
  catalogue: catalogueBench,
} as const;
type BenchName = keyof typeof benches;

function usage(message: string): never {
  process.stderr.write(
    `bench: ${message}\nusage: npm run bench -- [${Object.keys(benches).join('|')} ...] [--size-mb N] [--runs N] ` +
      `[--secrets N] [--concurrency N] [--file ARCHIVE] [--cli built|source] [--snapshots N,M] ` +
      `[--stores s3,azure,gcs]\n`,
  );
  process.exit(2);
}

function parseArgs(argv: string[]): { names: BenchName[]; options: BenchOptions } {
  const names: BenchName[] = [];
  const options: BenchOptions = {
    sizeMb: 256,
    runs: 3,
    cli: 'built',
    secrets: 1000,
    concurrency: 4,
    sizes: [64, 256, 1024],
    destinations: 1,
    snapshotCounts: [1000, 10000],
    stores: ['s3', 'azure', 'gcs'],
  };
  const int = (flag: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) usage(`${flag} needs an integer ≥ ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--size-mb') options.sizeMb = int(a, argv[++i], 1);
    else if (a === '--runs') options.runs = int(a, argv[++i], 1);
    else if (a === '--secrets') options.secrets = int(a, argv[++i], 1);
    else if (a === '--concurrency') options.concurrency = int(a, argv[++i], 1);
    else if (a === '--destinations') options.destinations = int(a, argv[++i], 1);
    else if (a === '--sizes') {
      const list = (argv[++i] ?? '').split(',').map(Number);
      if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1))
        usage('--sizes needs MB sizes such as 64,256,1024');
      options.sizes = list;
    } else if (a === '--snapshots') {
      const list = (argv[++i] ?? '').split(',').map(Number);
      if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1))
        usage('--snapshots needs store sizes such as 1000,10000');
      options.snapshotCounts = list;
    } else if (a === '--stores') {
      const list = (argv[++i] ?? '').split(',');
      if (list.length === 0 || list.some((k) => !['s3', 'azure', 'gcs'].includes(k)))
        usage('--stores takes s3, azure and/or gcs');
      options.stores = list as BenchOptions['stores'];
    } else if (a === '--file') options.file = argv[++i] ?? usage('--file needs a path');
    else if (a === '--cli') {
      const v = argv[++i];
      if (v !== 'built' && v !== 'source') usage('--cli is built or source');
      options.cli = v;
    } else if (a in benches) names.push(a as BenchName);
    else usage(`unknown argument ${a}`);
  }
  return { names: names.length ? names : (Object.keys(benches) as BenchName[]), options };
}

const { names, options } = parseArgs(process.argv.slice(2));
const ctx = new BenchContext(options);
let failed = false;
const stop = () => {
  void ctx.close().finally(() => process.exit(130));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
try {
  for (const name of names) {
    process.stderr.write(`bench ${name}: starting (${JSON.stringify(options)})\n`);
    try {
      const result = await benches[name](ctx);
      process.stdout.write(
        `${JSON.stringify({ ...result, date: new Date().toISOString(), machine: machineInfo(), cli: options.cli })}\n`,
      );
    } catch (err) {
      failed = true;
      process.stderr.write(`bench ${name} failed: ${(err as Error).stack ?? String(err)}\n`);
    }
  }
} finally {
  await ctx.close();
}
process.exit(failed ? 1 : 0);
