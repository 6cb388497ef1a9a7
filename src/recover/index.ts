/** The front door of recover/: one item out of a snapshot into the live cluster (`vault-ops recover`). */
export { executeRecovery, planRecovery, type PreparedRecovery, type RecoveryResult } from './recover.js';
export type { PlannedItem, RecoverDeps, RecoverOptions, RecoveryPlan } from './types.js';
export { snapshotHistory, type HistoryEntry, type HistoryOptions } from './history.js';
export { tokenIdentity, writeRecoveryRecord } from './record.js';
