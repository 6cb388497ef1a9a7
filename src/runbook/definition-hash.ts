import { createHash } from 'node:crypto';
import type { Runbook } from './types.js';

/**
 * The identity of a runbook definition: its name, version and, in order, every step's id, title,
 * description, whether it mutates, its gate and whether it may re-run. A resumed run refuses to
 * continue when this differs from the hash journaled at the start of the run: the steps it would
 * skip or repeat may no longer mean what they meant.
 */
export function definitionHash(runbook: Runbook<unknown>): string {
  const canonical = JSON.stringify({
    name: runbook.name,
    version: runbook.version,
    steps: runbook.steps.map((s) => ({
      id: s.id,
      title: s.title,
      description: s.description,
      mutates: s.mutates,
      gate: s.gate ? { automatable: s.gate.automatable } : null,
      rerunnable: s.rerunnable,
    })),
  });
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}
