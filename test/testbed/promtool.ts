import { findBinary } from './cached-binary.js';

/** promtool's version, from Debian 12's prometheus package. Keep in step with test/testbed/build.sh. */
export const PROMTOOL_VERSION = '2.42.0';

/**
 * promtool (`promtool test rules`): VAULT_OPS_PROMTOOL_BINARY, else the cached build, else `promtool`
 * on PATH. Throws (never skips) when there is none.
 */
export function promtoolBinary(): string {
  return findBinary({
    envVar: 'VAULT_OPS_PROMTOOL_BINARY',
    cacheDir: `promtool-${PROMTOOL_VERSION}`,
    file: 'promtool',
    pathNames: ['promtool'],
    buildTarget: 'promtool',
  });
}
