// The intra-function rules, one per file. Cross-function rules (lock order) live in graph/.

import type { Rule } from './context';
import { blockingUnderLock } from './blocking-under-lock';
import { doubleLock } from './double-lock';
import { guardAcrossAwait } from './guard-across-await';
import { guardTightening } from './guard-tightening';
import { letUnderscoreLock } from './let-underscore-lock';
import { mutationDuringIteration } from './mutation-during-iteration';
import { poisonUnwrap } from './poison-unwrap';
import { scrutineeGuard } from './scrutinee-guard';
import { tryLockFlowControl } from './try-lock-flow-control';

export const FUNCTION_RULES: readonly Rule[] = [
  scrutineeGuard,
  guardAcrossAwait,
  doubleLock,
  poisonUnwrap,
  letUnderscoreLock,
  blockingUnderLock,
  guardTightening,
  mutationDuringIteration,
  tryLockFlowControl,
];

export type { Rule, RuleContext } from './context';
