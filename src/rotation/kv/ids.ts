import { randomBytes } from 'node:crypto';
import { formatCompactUtc } from '../../time/compact-utc.js';

/** A rotation id: sortable UTC time plus 12 random hex characters (`20261127T184600Z-3f9a1c0b77de`). */
export function newRotationId(now: Date): string {
  return `${formatCompactUtc(now)}-${randomBytes(6).toString('hex')}`;
}
