import type { Registry } from 'prom-client';

/**
 * Register `metric` in `registry` only when it is first written to. prom-client exports an
 * unlabelled gauge as 0 even if the run never set it; pushed to a Pushgateway (or written to a
 * textfile) that 0 would overwrite, say, the last success time of an earlier run. Metrics a run
 * did not touch are therefore not exported at all, and keep their previous values.
 */
export function registerOnFirstUse<M extends object>(registry: Registry, metric: M): M {
  let registered = false;
  const writers = new Set(['set', 'inc', 'dec', 'labels', 'setToCurrentTime', 'startTimer', 'observe']);
  return new Proxy(metric, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (!registered && writers.has(String(property))) {
          registry.registerMetric(target as never);
          registered = true;
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
