// The LockLens rule catalogue as seen by editors: ids, one-line titles and the
// documentation page of each rule (docs/rules/<id>.md). Shared by client and server.

export const RULE_IDS = [
  'scrutinee-guard',
  'guard-across-await',
  'double-lock',
  'poison-unwrap',
  'let-underscore-lock',
  'blocking-under-lock',
  'guard-tightening',
  'mutation-during-iteration',
  'try-lock-flow-control',
  'lock-order-inversion',
  'lock-hierarchy',
] as const;

export type RuleName = (typeof RULE_IDS)[number];

export const RULE_TITLES: Readonly<Record<RuleName, string>> = {
  'scrutinee-guard': 'Guard of an if-let/while-let/match/for scrutinee lives through the whole construct',
  'guard-across-await': 'Lock guard held across an .await point',
  'double-lock': 'Lock acquired again while the same thread already holds it',
  'poison-unwrap': 'unwrap()/expect() on a poisonable lock result',
  'let-underscore-lock': '`let _ = lock()` drops the guard immediately',
  'blocking-under-lock': 'Blocking call while a lock guard is alive',
  'guard-tightening': 'Guard held long after its last use',
  'mutation-during-iteration': 'Collection mutated through a lock while it is being iterated',
  'try-lock-flow-control': 'try_lock failure silently changes control flow',
  'lock-order-inversion': 'Two locks are acquired in opposite orders (potential deadlock)',
  'lock-hierarchy': 'Acquisition violates the declared lock hierarchy',
};

export function isRuleName(value: unknown): value is RuleName {
  return typeof value === 'string' && (RULE_IDS as readonly string[]).includes(value);
}

/** Relative path of a rule's documentation page inside the extension/repository. */
export function ruleDocPath(rule: string): string {
  return `docs/rules/${rule}.md`;
}
