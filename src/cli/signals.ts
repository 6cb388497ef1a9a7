/**
 * SIGINT/SIGTERM as an AbortSignal for long operations, so that they stop at the next step and
 * clean up (scratch servers, temp dirs, multipart uploads) instead of the process dying mid-way.
 */
export function abortOnSignals(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
