import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { RecordingHttpProxy, type RecordedRequest } from '../helpers/recording-http-proxy.js';
import { bootstrapRequest } from '../testbed/bootstrap-http.js';
import type { VaultTestbed } from '../testbed/vault.js';
import type { BenchContext } from './bench-context.js';
import { ensureKvV2, repoRoot } from './bench-context.js';
import { LoadWatch, median, round, runChecked } from './measure.js';

/**
 * `rotate`: `rotate kv` over N due secrets without hooks on a fresh OpenBao, against a raw loop
 * that sends the same KV requests per secret (learnt from the audit log of a small run) with the
 * same concurrency to the same server: the server's own limit. Requests are counted by a small
 * HTTP proxy in front of Vault (OpenBao 2.4 refuses audit devices through the API).
 */

const MOUNT = 'secret';
/** Every secret is due one second after its last rotation. */
const EVERY = '1s';

/** A request of a rotation, with the secret's name in its path replaced by `{name}`. */
type CountedRequest = RecordedRequest;

export async function rotateBench(ctx: BenchContext): Promise<Record<string, unknown>> {
  const n = ctx.options.secrets;
  const concurrency = ctx.options.concurrency;
  const vault = await ctx.freshVault();
  const work = await mkdtemp(join(tmpdir(), 'vault-ops-bench-rotate-'));
  try {
    await ensureKvV2(vault, MOUNT);
    // No staging mount: hook-less rotation takes no lock and stages nothing.
    // At least 20: the request count compares runs of 10 and 20 secrets.
    const names = Array.from({ length: Math.max(n, 20) }, (_, i) => `rot/s${i}`);
    await pool(names, 8, (name) =>
      bootstrapRequest(vault.addr, 'POST', `${MOUNT}/data/${name}`, {
        token: vault.rootToken,
        body: { data: { api_key: 'initial' } },
      }),
    );

    const policyFor = async (count: number) => {
      const file = join(work, `policy-${count}.yaml`);
      const secrets = names
        .slice(0, count)
        .map((path) => ({ mount: MOUNT, path, every: EVERY, keys: { api_key: { length: 32 } } }));
      await writeFile(file, stringify({ secrets }));
      return file;
    };
    const cli = ctx.cli();
    const rotate = async (policy: string, expected: number, target: VaultTestbed = vault) => {
      await sleep(1100); // let every secret fall due again
      const r = await runChecked(
        'vault-ops rotate kv',
        cli.command,
        [...cli.args, 'rotate', 'kv', '--policy', policy, '--concurrency', String(concurrency), '--output', 'json'],
        {
          env: ctx.cliEnv(target, undefined, { VAULT_OPS_LOG_LEVEL: 'warn' }),
          cwd: repoRoot,
        },
      );
      const report = JSON.parse(r.stdout) as { startedAt: string; finishedAt: string; summary: Record<string, number> };
      if (report.summary.rotated !== expected)
        throw new Error(
          `bench: rotate kv rotated ${report.summary.rotated} of ${expected}: ${JSON.stringify(report.summary)}`,
        );
      return { run: r, inRunSeconds: (Date.parse(report.finishedAt) - Date.parse(report.startedAt)) / 1000 };
    };

    // 1. Requests per rotation, counted through a recording proxy: runs of 10 and 20 secrets, the difference / 10.
    const proxy = await RecordingHttpProxy.start(vault.addr);
    let requests10: CountedRequest[];
    let requests20: CountedRequest[];
    let connections10: number;
    let connections20: number;
    try {
      const viaProxy = { ...vault, addr: proxy.addr };
      await rotate(await policyFor(10), 10, viaProxy);
      ({ requests: requests10, connections: connections10 } = proxy.take());
      await rotate(await policyFor(20), 20, viaProxy);
      ({ requests: requests20, connections: connections20 } = proxy.take());
    } finally {
      await proxy.stop();
    }
    const requestsPerRotation = (requests20.length - requests10.length) / 10;
    const sequence = sequenceOf(requests20, 'rot/s13');
    if (sequence.length !== requestsPerRotation) {
      throw new Error(
        `bench: ${requestsPerRotation} requests per rotation but ${sequence.length} name one secret: ` +
          `${JSON.stringify(sequence)}`,
      );
    }

    // 2. Timing: vault-ops and the raw loop, alternating.
    const policy = await policyFor(n);
    const load = new LoadWatch();
    const samples = { vaultOps: [] as number[], vaultOpsInRun: [] as number[], raw: [] as number[] };
    const rss: number[] = [];
    const cpu: number[] = [];
    for (let run = 1; run <= ctx.options.runs; run++) {
      const { run: r, inRunSeconds } = await rotate(policy, n);
      samples.vaultOps.push(r.seconds);
      samples.vaultOpsInRun.push(inRunSeconds);
      rss.push(r.peakRssMb);
      cpu.push(r.cpuSeconds);
      const raw = await rawLoop(vault, names.slice(0, n), sequence, concurrency);
      samples.raw.push(raw);
      process.stderr.write(
        `bench rotate: run ${run}: vault-ops ${r.seconds.toFixed(2)}s (in run ${inRunSeconds.toFixed(2)}s), raw ` +
          `${raw.toFixed(2)}s, load ${load.now()}\n`,
      );
    }
    const m = {
      vaultOps: round(median(samples.vaultOps)),
      vaultOpsInRun: round(median(samples.vaultOpsInRun)),
      raw: round(median(samples.raw)),
    };
    return {
      bench: 'rotate',
      secrets: n,
      concurrency,
      runs: ctx.options.runs,
      requestsPerRotation,
      /** New TCP connections per rotation (0 when keep-alive reuses them all). */
      connectionsPerRotation: (connections20 - connections10) / 10,
      connectionsPerRun: { secrets10: connections10, secrets20: connections20 },
      requestSequence: sequence.map((s) => `${s.method} ${s.path}`),
      medianSeconds: m,
      rotationsPerSecond: {
        vaultOps: round(n / m.vaultOps, 1),
        vaultOpsInRun: round(n / m.vaultOpsInRun, 1),
        raw: round(n / m.raw, 1),
      },
      ratioVsRaw: round(m.vaultOps / m.raw, 3),
      ratioVsRawInRun: round(m.vaultOpsInRun / m.raw, 3),
      peakRssMb: Math.max(...rss),
      /** CPU seconds of the vault-ops process for the whole run (the server's are not in it). */
      medianCpuSeconds: round(median(cpu)),
      samplesSeconds: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.map((x) => round(x))])),
      load: load.stop(),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** The requests that name one secret, in order, with its name as `{name}`. */
function sequenceOf(requests: readonly CountedRequest[], name: string): CountedRequest[] {
  const re = new RegExp(`(^|/)${name.replace(/[/]/g, '\\/')}$`);
  return requests
    .filter((r) => re.test(r.path))
    .map((r) => ({ method: r.method, path: r.path.replace(re, '$1{name}') }));
}

/** The same KV requests, per secret in the same order, `concurrency` secrets at a time; seconds. */
async function rawLoop(
  vault: VaultTestbed,
  names: readonly string[],
  sequence: readonly CountedRequest[],
  concurrency: number,
): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const send = (method: string, path: string, body?: unknown) =>
    new Promise<void>((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const headers: Record<string, string> = { 'X-Vault-Token': vault.rootToken };
      if (payload) {
        headers['Content-Type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
        headers['Content-Length'] = String(payload.length);
      }
      const req = request(new URL(`/v1/${path}`, vault.addr), { method, headers, agent }, (res) => {
        res.resume();
        res.once('end', () =>
          res.statusCode && res.statusCode < 400
            ? resolve()
            : reject(new Error(`bench raw loop: ${method} ${path} answered ${res.statusCode}`)),
        );
      });
      req.once('error', reject);
      req.end(payload);
    });
  const value = () => randomBytes(24).toString('base64url');
  const started = performance.now();
  await pool(names, concurrency, async (name) => {
    for (const step of sequence) {
      const path = step.path.replace('{name}', name);
      const data = path.includes('/data/');
      if (step.method === 'PATCH')
        await send(
          'PATCH',
          path,
          data
            ? { data: { api_key: value() } }
            : { custom_metadata: { 'bench-state': 'current', 'bench-at': new Date().toISOString() } },
        );
      else if (step.method === 'POST' || step.method === 'PUT')
        await send(
          step.method,
          path,
          data
            ? { data: { holder: 'bench', expires: new Date().toISOString(), value: value() } }
            : { custom_metadata: { 'bench-state': 'current' } },
        );
      else await send(step.method, path);
    }
  });
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return seconds;
}
