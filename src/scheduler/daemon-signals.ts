import type { Logger } from '../observability/logger.js';

/** What the signal handlers drive: the scheduler's shutdown and its hard stop. */
export interface StoppableScheduler {
  shutdown(graceMs: number): Promise<void>;
  abortAll(): void;
}

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * `daemon --once`: a CronJob's pod is being stopped, so pass the signal on at once (no grace):
 * the job's command cleans up. Returns the function that removes the handlers.
 */
export function stopRunOnSignals(scheduler: Pick<StoppableScheduler, 'shutdown'>): () => void {
  const onSignal = () => void scheduler.shutdown(0);
  for (const signal of STOP_SIGNALS) process.once(signal, onSignal);
  return () => {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  };
}

/**
 * The long-running daemon: the first SIGTERM/SIGINT stops new runs and lets running jobs finish
 * within the grace period, a second one stops them now. `stopped` settles once the scheduler has
 * shut down; `dispose` removes the handlers.
 */
export function shutdownOnSignals(
  scheduler: StoppableScheduler,
  graceSeconds: number,
  logger: Logger,
): { stopped: Promise<void>; dispose(): void } {
  let signals = 0;
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) {
      logger.info({ signal, graceSeconds }, 'shutting down: no new runs; running jobs may finish');
      void scheduler.shutdown(graceSeconds * 1000).then(stop);
    } else {
      logger.warn({ signal }, 'second signal: stopping running jobs now');
      scheduler.abortAll();
    }
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return {
    stopped,
    dispose() {
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    },
  };
}
