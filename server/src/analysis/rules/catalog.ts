// Every rule id with its default severity and a one-line summary: the single source for the
// CLI's SARIF rule table, the settings schema and the docs index.

import type { RuleId, Severity } from '../model';

export interface RuleInfo {
  id: RuleId;
  defaultSeverity: Severity;
  summary: string;
}

export const RULES: readonly RuleInfo[] = [
  { id: 'scrutinee-guard', defaultSeverity: 'warning', summary: 'A guard created in an if-let / while-let / match / for head stays alive through the whole construct.' },
  { id: 'guard-across-await', defaultSeverity: 'warning', summary: 'A blocking (std, parking_lot, spin) lock guard is alive at an .await.' },
  { id: 'double-lock', defaultSeverity: 'error', summary: 'A lock is acquired again while its guard is still alive (directly or through calls).' },
  { id: 'poison-unwrap', defaultSeverity: 'warning', summary: '.unwrap()/.expect() on a std lock result panics when the lock is poisoned, cascading panics.' },
  { id: 'let-underscore-lock', defaultSeverity: 'error', summary: '`let _ = m.lock()` releases the lock immediately.' },
  { id: 'blocking-under-lock', defaultSeverity: 'warning', summary: 'A blocking call (I/O, sleep, join, recv, block_on, processes) runs while a guard is alive.' },
  { id: 'guard-tightening', defaultSeverity: 'information', summary: 'A guard stays alive well after its last use.' },
  { id: 'mutation-during-iteration', defaultSeverity: 'error', summary: 'A DashMap is mutated while an iterator or reference into it is alive.' },
  { id: 'try-lock-flow-control', defaultSeverity: 'information', summary: 'The outcome of try_lock decides control flow.' },
  { id: 'lock-order-inversion', defaultSeverity: 'error', summary: 'Two or more locks are acquired in inconsistent orders (a potential deadlock cycle).' },
  { id: 'lock-hierarchy', defaultSeverity: 'error', summary: 'A lock is acquired against the declared lock hierarchy.' },
  { id: 'parse-error', defaultSeverity: 'information', summary: 'The file has syntax errors; it was analysed where it could be.' },
];

export const RULE_IDS: readonly RuleId[] = RULES.map((r) => r.id);

export function ruleInfo(id: RuleId): RuleInfo {
  return RULES.find((r) => r.id === id)!;
}
