// Loaded with `node --import` into a measured vault-ops run: samples process.memoryUsage() every
// 10 ms and, at exit, writes the breakdown at the peak RSS to $BENCH_MEMORY_FILE (MiB): V8 heap,
// array buffers (Buffers: stream chunks, part buffers), and the rest (code, native libraries).
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_MEMORY_FILE;
let peak = process.memoryUsage();
const timer = setInterval(() => {
  const now = process.memoryUsage();
  if (now.rss > peak.rss) peak = now;
}, 10);
timer.unref();
process.on('exit', () => {
  if (!file) return;
  const mb = (n) => Math.round((n / 1048576) * 10) / 10;
  writeFileSync(
    file,
    JSON.stringify({
      rss: mb(peak.rss),
      heapTotal: mb(peak.heapTotal),
      heapUsed: mb(peak.heapUsed),
      arrayBuffers: mb(peak.arrayBuffers),
      otherExternal: mb(peak.external - peak.arrayBuffers),
      rest: mb(peak.rss - peak.heapTotal - peak.external),
    }),
  );
});
