import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/**
 * Measuring tools shared by the benches: wall time and peak RSS of a child process, medians, and
 * the machine's state (cores, memory, load) recorded beside every result.
 */

export interface ProcessRun {
  code: number | null;
  seconds: number;
  /** Peak resident set size of the process itself (its kernel VmHWM, sampled every 20 ms), MiB. */
  peakRssMb: number;
  /** ru_maxrss from GNU time: the largest of the process and the children it waited for, MiB. */
  peakRssMbTree: number;
  /** CPU seconds (user + system) of the process and the children it waited for; NaN without GNU time. */
  cpuSeconds: number;
  stdout: string;
  stderr: string;
}

const GNU_TIME = '/usr/bin/time';

/** Peak RSS (VmHWM) of a running process, kB; 0 once it is gone. */
function vmHwmKb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function childOf(pid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Run a command to completion, timing it from spawn to exit. Peak RSS of the process itself is
 * its /proc/<pid>/status VmHWM sampled every 20 ms (the kernel's own high-water mark, so a sample
 * never under-reads what happened before it); GNU time (when /usr/bin/time exists) adds CPU time
 * and ru_maxrss, which also covers the children it waited for (the drill's scratch server).
 */
export async function runMeasured(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: string } = {},
): Promise<ProcessRun> {
  const useTime = existsSync(GNU_TIME);
  const dir = useTime ? await mkdtemp(join(tmpdir(), 'vault-ops-bench-time-')) : undefined;
  const timeFile = dir ? join(dir, 'rss') : undefined;
  const [cmd, argv] = useTime ? [GNU_TIME, ['-f', '%M %U %S', '-o', timeFile!, command, ...args]] : [command, args];
  const started = performance.now();
  const child = spawn(cmd, argv, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  child.stdin.end(options.stdin ?? '');
  // Under GNU time the measured process is time's only child.
  let target: number | undefined = useTime ? undefined : child.pid;
  let sampledKb = 0;
  const sampler = setInterval(() => {
    target ??= childOf(child.pid!);
    if (target !== undefined) sampledKb = Math.max(sampledKb, vmHwmKb(target));
  }, 20);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c));
  });
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  let peakKb = sampledKb;
  let cpuSeconds = Number.NaN;
  if (timeFile) {
    const text = await readFile(timeFile, 'utf8').catch(() => '');
    const m = /^(\d+) ([\d.]+) ([\d.]+)$/m.exec(text);
    if (m) {
      peakKb = Number(m[1]);
      cpuSeconds = round(Number(m[2]) + Number(m[3]));
    }
    await rm(dir!, { recursive: true, force: true });
  }
  return {
    code,
    seconds,
    peakRssMb: round((sampledKb || peakKb) / 1024, 1),
    peakRssMbTree: round(peakKb / 1024, 1),
    cpuSeconds,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
  };
}

/** Run and throw (with the tail of stderr) unless it exits 0. */
export async function runChecked(
  what: string,
  command: string,
  args: string[],
  options: Parameters<typeof runMeasured>[2] = {},
): Promise<ProcessRun> {
  const r = await runMeasured(command, args, options);
  if (r.code !== 0) {
    const tail = r.stderr.trim().split('\n').slice(-8).join('\n');
    throw new Error(`bench: ${what} exited ${r.code}:\n${tail}`);
  }
  return r;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export const MiB = 1024 * 1024;

/** The 1-minute load average now (the machine is shared: every result records it). */
export function load1(): number {
  return round(loadavg()[0]!, 2);
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model ?? 'unknown',
    memoryGiB: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
  };
}

/** Load averages sampled over a bench: at its start, its end and the highest 1-minute value seen. */
export class LoadWatch {
  private readonly timer: NodeJS.Timeout;
  readonly start = load1();
  private max = this.start;

  constructor() {
    this.timer = setInterval(() => {
      this.max = Math.max(this.max, load1());
    }, 2000);
    this.timer.unref();
  }

  /** The 1-minute load now (and remember it as a maximum candidate). */
  now(): number {
    const l = load1();
    this.max = Math.max(this.max, l);
    return l;
  }

  stop(): { start: number; end: number; max: number } {
    clearInterval(this.timer);
    const end = load1();
    return { start: this.start, end, max: Math.max(this.max, end) };
  }
}
