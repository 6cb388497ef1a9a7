import { formatBytes } from './byte-size.js';
import type { Logger } from './logger.js';

/** Progress of a long transfer, reported through a typed callback (no-op by default). */
export interface ProgressEvent {
  phase: string;
  bytes: number;
  totalBytes?: number;
  done?: boolean;
}
export type ProgressReporter = (event: ProgressEvent) => void;
export const noProgress: ProgressReporter = () => undefined;

/** A one-line bar on a TTY, redrawn at most ten times a second. */
export function ttyProgress(stream: NodeJS.WritableStream): ProgressReporter {
  let last = 0;
  const started = Date.now();
  return (e) => {
    const now = Date.now();
    if (!e.done && now - last < 100) return;
    last = now;
    const seconds = Math.max(0.001, (now - started) / 1000);
    const rate = `${formatBytes(e.bytes / seconds)}/s`;
    const width = 24;
    const bar = e.totalBytes
      ? `[${'#'.repeat(Math.round((width * Math.min(e.bytes, e.totalBytes)) / e.totalBytes)).padEnd(width)}] `
      : '';
    stream.write(
      `\r${e.phase}: ${bar}${formatBytes(e.bytes)}${e.totalBytes ? ` / ${formatBytes(e.totalBytes)}` : ''}  ${rate}   `,
    );
    if (e.done) stream.write('\n');
  };
}

/** Periodic log lines (jobs, CI): one every `everyMs`, and one at the end. */
export function logProgress(logger: Logger, everyMs = 10_000): ProgressReporter {
  let last = Date.now();
  return (e) => {
    const now = Date.now();
    if (!e.done && now - last < everyMs) return;
    last = now;
    logger.info(
      { phase: e.phase, bytes: e.bytes, ...(e.totalBytes ? { totalBytes: e.totalBytes } : {}) },
      e.done ? `${e.phase}: done, ${formatBytes(e.bytes)}` : `${e.phase}: ${formatBytes(e.bytes)} so far`,
    );
  };
}
