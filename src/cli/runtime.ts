/**
 * The oldest Node.js vault-ops runs on: package.json's engines (`>=22.12`). Node 24 LTS is the
 * runtime it is built and tested on; 22 is the maintenance LTS. npm only warns about engines, and
 * on an older Node the CLI would fail halfway through a command (execa 10 uses Set methods Node 20
 * lacks), so the process entry refuses it up front.
 */
export const minimumNode = { major: 22, minor: 12 } as const;

/** The error line for a Node.js older than minimumNode, or undefined when `version` is supported. */
export function unsupportedRuntime(version: string = process.versions.node): string | undefined {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major > minimumNode.major || (major === minimumNode.major && minor >= minimumNode.minor)) return undefined;
  return (
    `error: vault-ops needs Node.js 24 LTS (or ${minimumNode.major}.${minimumNode.minor} or later); this is ` +
    `Node.js ${version}: see "Supported Node" in the README for how to get it`
  );
}
