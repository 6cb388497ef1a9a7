import { findBinary } from './cached-binary.js';

/** The Prometheus module version promtool is built from. Keep in step with test/testbed/build.sh. */
export const PROMETHEUS_VERSION = '0.316.0';

/**
 * promtool (`promtool test rules`): VAULT_OPS_PROMTOOL_BINARY, else the cached build, else `promtool`
 * on PATH. Throws (never skips) when there is none.
 */
export function promtoolBinary(): string {
  return findBinary({
    envVar: 'VAULT_OPS_PROMTOOL_BINARY',
    cacheDir: `promtool-${PROMETHEUS_VERSION}`,
    file: 'promtool',
    pathNames: ['promtool'],
    buildTarget: 'promtool',
  });
}
