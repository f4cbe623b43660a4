// The lock graph's public shapes, shared by the engine (engine.ts) and the reports built
// from its edges (findings.ts).

import type { FileAnalysis, FileDeclarations } from '../api';
import type { Acquisition, Finding, GuardMode, RuleId, Severity } from '../model';

export interface LockGraphFile {
  crate: string;
  analysis: FileAnalysis;
  /** Only its `imports` matter to the graph (call resolution); missing means none. */
  declarations?: FileDeclarations;
}

export interface LockGraphInput {
  files: LockGraphFile[];
  /** Declared lock levels, lowest first. */
  order?: string[][];
  /** Where the order was declared, for messages. */
  orderSource?: string;
  reentrant?: string[];
  severities?: Partial<Record<RuleId, Severity | 'off'>>;
  /** Cap on reported cycles. */
  maxCycles?: number;
}

export interface CallStep {
  file: string;
  range: Acquisition['range'];
  caller: string;
  callee: string;
  calleeText: string;
  may: boolean;
}

export interface Evidence {
  outer: Acquisition;
  calls: CallStep[];
  inner: Acquisition;
}

export interface LockEdge {
  from: string;
  to: string;
  evidence: Evidence[];
  inCycle: boolean;
}

export interface LockNode {
  id: string;
  acquisitions: Acquisition[];
  modes: GuardMode[];
}

export interface LockCycle {
  locks: string[];
  edges: LockEdge[];
  /** False when every lock in the cycle is only shared-read on both sides (no blocking). */
  blocking: boolean;
}

export interface LockGraph {
  nodes: LockNode[];
  edges: LockEdge[];
  cycles: LockCycle[];
  findings: Finding[];
  /**
   * Functions called while a guard is held (the callees in `heldCalls`) that take locks,
   * directly or through calls, with those locks (the nearest acquisition of each and the calls
   * to it). Other functions are left out: listing every function's locks costs functions x
   * lock classes on large recursive crates, and only these are asked about.
   */
  functions: Array<{ id: string; name: string; file: string; range: Acquisition['range']; locks: Array<{ lock: string; mode: GuardMode; acquisition: string; via: string[] }> }>;
  /** For every call made under a guard: the functions it may reach (ids in `functions`). */
  heldCalls: Array<{ fn: string; call: number; callees: string[] }>;
}
