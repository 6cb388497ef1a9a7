/** Types of supported-node.mjs (a plain script module, shared by run-tests.mjs and demo.ts). */
export function isSupported(version: string): boolean;
export function supportedNode(who: string): string;
