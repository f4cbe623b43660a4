// The workspace lock-order graph: nodes are lock classes, an edge A -> B says "B was acquired
// while A was held", with every piece of evidence (outer acquisition, call chain, inner
// acquisition). From it: lock-order cycles, double locks through calls, and violations of a
// declared lock hierarchy. Plain data in, plain data out.
//
// `buildLockGraph` builds it once (resolving only the calls locks can reach); a `LockGraphEngine` kept between edits updates it and
// recomputes only what an edit can change (see engine.ts), with the same result.

import { LockGraphEngine } from './engine';
import type { LockGraph, LockGraphInput } from './types';

export { functionId } from './calls';
export { LockGraphEngine } from './engine';
export { findCycles } from './findings';
export type { CallStep, Evidence, LockCycle, LockEdge, LockGraph, LockGraphFile, LockGraphInput, LockNode } from './types';

export function buildLockGraph(input: LockGraphInput): LockGraph {
  return new LockGraphEngine({ once: true }).update(input);
}
