import { Counter, type CounterConfiguration, Gauge, type GaugeConfiguration, type Registry } from 'prom-client';

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

type GaugeConfig<L extends string> = Omit<GaugeConfiguration<L>, 'registers'>;
type CounterConfig<L extends string> = Omit<CounterConfiguration<L>, 'registers'>;

/** A job's gauge, exported only once the run sets it. */
export function lazyGauge<L extends string = string>(registry: Registry, config: GaugeConfig<L>): Gauge<L> {
  return registerOnFirstUse(registry, new Gauge<L>({ ...config, registers: [] }));
}

/** A job's counter, exported only once the run increments it. */
export function lazyCounter<L extends string = string>(registry: Registry, config: CounterConfig<L>): Counter<L> {
  return registerOnFirstUse(registry, new Counter<L>({ ...config, registers: [] }));
}
