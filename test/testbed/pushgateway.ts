import { findBinary } from './cached-binary.js';
import { freePort } from './ports.js';
import { makeTempDir, startServerProcess, waitUntil, type ServerProcess } from './server-process.js';

/** Keep in step with test/testbed/build.sh. */
export const PUSHGATEWAY_VERSION = '1.11.5';

/** One series as the Pushgateway exposes it on /metrics (its labels include the grouping key's). */
export interface ExposedSeries {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PushgatewayTestbed {
  /** http://127.0.0.1:PORT */
  url: string;
  process: ServerProcess;
  /** Every series of the families named `vault_ops_*` that the Pushgateway now exposes. */
  series(): Promise<ExposedSeries[]>;
  stop(): Promise<void>;
}

/**
 * The pushgateway binary: VAULT_OPS_PUSHGATEWAY_BINARY, else the cached build, else `pushgateway`
 * on PATH. Throws (never skips) when there is none.
 */
export function pushgatewayBinary(): string {
  return findBinary({
    envVar: 'VAULT_OPS_PUSHGATEWAY_BINARY',
    cacheDir: `pushgateway-${PUSHGATEWAY_VERSION}`,
    file: 'pushgateway',
    pathNames: ['pushgateway'],
    buildTarget: 'pushgateway',
  });
}

/** A sample line of the text exposition format: `name{a="x",b="y"} value [timestamp]`. */
export function parseSeries(text: string): ExposedSeries[] {
  const series: ExposedSeries[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) throw new Error(`testbed: unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    series.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return series;
}

/** Start a Pushgateway on loopback (random port, in-memory: no persistence file). */
export async function startPushgateway(): Promise<PushgatewayTestbed> {
  const binary = pushgatewayBinary();
  const dir = await makeTempDir('pushgateway');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await startServerProcess({
    name: 'pushgateway',
    command: binary,
    args: [`--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    dir,
  });
  try {
    await waitUntil(`pushgateway on ${url}`, async () => (await fetch(`${url}/-/ready`)).ok, {
      server,
      timeoutMs: 30_000,
    });
  } catch (err) {
    await server.stop();
    throw err;
  }
  let stopped = false;
  return {
    url,
    process: server,
    async series() {
      const res = await fetch(`${url}/metrics`);
      if (!res.ok) throw new Error(`testbed: pushgateway /metrics answered ${res.status}`);
      return parseSeries(await res.text()).filter((s) => s.name.startsWith('vault_ops_'));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
    },
  };
}
