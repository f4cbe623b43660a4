// Plain data shared by every part of the engine and by its callers (CLI, language server).
// Nothing here knows about editors, files on disk or processes.

export type Edition = '2015' | '2018' | '2021' | '2024';
export const EDITIONS: readonly Edition[] = ['2015', '2018', '2021', '2024'];

/** 0-based line, 0-based column in UTF-16 code units (what tree-sitter and LSP both use). */
export interface Position {
  line: number;
  column: number;
}

/** Half-open: `end` is the position just after the last character. */
export interface Range {
  start: Position;
  end: Position;
}

/** The library a lock type comes from. `unknown` when only the method shape tells us it is a lock. */
export type LockFlavor = 'std' | 'parking_lot' | 'tokio' | 'futures' | 'spin' | 'dashmap' | 'async_std' | 'unknown';

export type LockKind = 'mutex' | 'rwlock' | 'reentrant-mutex' | 'fair-mutex' | 'dashmap' | 'condvar';

/** How a guard holds its lock. DashMap shard guards use read/write. */
export type GuardMode = 'mutex' | 'read' | 'write' | 'upgradable' | 'reentrant';

/** How sure the engine is that an expression acquires a lock. */
export type Certainty = 'certain' | 'likely';

export interface LockType {
  flavor: LockFlavor;
  kind: LockKind;
  /** Guards of async locks (tokio, futures) may be held across `.await`. */
  async: boolean;
  /** Lock poisoning exists only for std locks. */
  poisons: boolean;
}

export interface SourceFile {
  /** Path relative to the crate/workspace root given by the caller, with `/` separators. */
  path: string;
  text: string;
}

export type ReleaseKind =
  | 'scope-end' // the closing `}` of the block that owns the binding
  | 'statement-end' // the end of the statement that owns the temporary
  | 'condition-end' // the last character of an `if`/`while` condition
  | 'arm-end' // end of a match arm body / guard
  | 'tail-end' // end of a block whose tail expression created the temporary (edition 2024)
  | 'explicit-drop' // `drop(g)` / `std::mem::drop(g)`
  | 'moved' // moved into a call, struct, closure, return value
  | 'immediate' // `let _ = m.lock()`
  | 'early-exit'; // `return`, `?`, `break`, `continue` leave the region on that path

export interface Release {
  /** The position where rustc drops the guard (the start of the MIR drop span). */
  position: Position;
  kind: ReleaseKind;
  /** Human explanation of why the guard is dropped there. */
  reason: string;
}

export type ScrutineeConstruct = 'if-let' | 'while-let' | 'match' | 'for' | 'let-else';

export interface Acquisition {
  /** `file:line:column` of the acquisition expression start (1-based), unique across a workspace. */
  id: string;
  file: string;
  /** Lock class, e.g. `Catalog.load`, `crate::STATE`, `worker::queue`. */
  lock: string;
  lockType: LockType;
  mode: GuardMode;
  /** The method that acquired the lock: `lock`, `read`, `try_write_for`, `get_mut`, ... */
  method: string;
  isTry: boolean;
  certainty: Certainty;
  /** The whole expression that yields the guard, starting at the receiver (`self.load.read().unwrap()`). */
  range: Range;
  /** The lock method call itself (`self.load.read()`), for poison-unwrap and friends. */
  callRange: Range;
  /** Source text of the receiver (`self.load`). */
  receiverText: string;
  /**
   * The receiver with a lock-returning accessor call replaced by the path its body returns
   * (`self.state()` → `self.inner.state`), when there is one: which object is locked.
   */
  instanceText?: string;
  /** Qualified name of the enclosing function (`Catalog::get`, `worker`, `Catalog::get::{closure#1}`). */
  functionName: string;
  /** How the guard value is held. */
  holder: GuardHolder;
  /** Every point where the guard is dropped, in source order. */
  releases: Release[];
  /** The source regions where the guard is alive (usually one; more when control flow splits). */
  held: Range[];
  /** Set when the guard is a temporary of an if-let / while-let / match / for head. */
  scrutinee?: ScrutineeInfo;
  /** Where the lock itself is declared (struct field or static), when known. */
  declaration?: { file: string; range: Range };
  /** Set when the acquisition is `.lock()` followed directly by `.unwrap()`/`.expect(..)`. */
  unwrap?: { method: 'unwrap' | 'expect'; range: Range };
}

export type GuardHolder =
  | { kind: 'binding'; name: string; range: Range; mutable: boolean; inAggregate?: boolean }
  | { kind: 'underscore'; range: Range } // `let _ = ...`
  | { kind: 'temporary' }
  | { kind: 'extended'; name?: string } // temporary lifetime-extended to the enclosing block
  | { kind: 'returned' } // the guard escapes the function (returned or moved out)
  | { kind: 'discarded' }; // e.g. `try_lock().is_ok()` where the guard is dropped in the expression

export interface ScrutineeInfo {
  construct: ScrutineeConstruct;
  /** The whole construct (`if let ... { } else { }`). */
  range: Range;
  /** The `else` arm for if-let, when it runs with the guard still held. */
  elseRange?: Range;
  /** True when edition 2024 would drop the guard earlier than the edition in use. */
  edition2024Differs: boolean;
}

export type Severity = 'error' | 'warning' | 'information' | 'hint';

export type RuleId =
  | 'scrutinee-guard'
  | 'guard-across-await'
  | 'double-lock'
  | 'poison-unwrap'
  | 'let-underscore-lock'
  | 'blocking-under-lock'
  | 'guard-tightening'
  | 'mutation-during-iteration'
  | 'try-lock-flow-control'
  | 'lock-order-inversion'
  | 'lock-hierarchy'
  | 'parse-error';

export interface RelatedLocation {
  file: string;
  range: Range;
  message: string;
}

export interface TextEdit {
  file: string;
  range: Range;
  newText: string;
}

export interface Fix {
  title: string;
  isPreferred: boolean;
  edits: TextEdit[];
}

export interface Finding {
  rule: RuleId;
  severity: Severity;
  file: string;
  range: Range;
  message: string;
  related: RelatedLocation[];
  fixes: Fix[];
  /** Acquisition ids this finding is about, so editors can link to regions. */
  acquisitions: string[];
  /** Tags an editor may render (e.g. unnecessary code). */
  tags?: Array<'unnecessary' | 'deprecated'>;
}
