import { setFlagsFromString } from 'node:v8';

/**
 * Keep V8's young generation at its initial size. Streaming a snapshot allocates many short-lived
 * objects per chunk; by default V8 answers with a young generation that doubles up to 3 × 16 MiB,
 * and each Buffer's memory is only freed when the scavenger collects its wrapper, so a bigger
 * young generation also holds more dead chunk memory. Not growing it keeps the CLI's memory flat
 * (measured: −25 MB heap and −20 MB of dead buffers on a 256 MB save) for a few percent more
 * scavenges. The growth factor is read each time V8 considers growing, so setting it at start-up
 * works, unlike --max-semi-space-size, which is fixed when the heap is created.
 */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}
