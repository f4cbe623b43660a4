// The engine's public surface. Callers (CLI, language server, tests) use only what is
// exported here; everything takes and returns plain data, except `ParsedFile`, which owns
// a tree-sitter tree and must be disposed by whoever holds it.

import type { Acquisition, Edition, Finding, Range, RuleId, Severity, SourceFile } from './model';

export interface EngineOptions {
  edition: Edition;
  /** Per-rule severity override; `off` disables the rule. */
  severities?: Partial<Record<RuleId, Severity | 'off'>>;
  /** Lock classes that may be re-acquired by the thread holding them. */
  reentrantClasses?: string[];
  /** Extra function names (last path segment or full path) that block the thread. */
  blockingFunctions?: string[];
  /** Names of project-specific lock wrapper types, treated like `Mutex`. */
  lockWrappers?: string[];
  /** Crate dependencies (from Cargo.toml), used to pick fixes (`tracing`/`log`). */
  dependencies?: string[];
}

/** Declarations one file contributes to its crate: structs and their lock fields, statics, functions. */
export interface FileDeclarations {
  file: string;
  structs: StructDecl[];
  statics: StaticDecl[];
  functions: FunctionDecl[];
  /** `use` imports: local name -> full path (`Mutex` -> `parking_lot::Mutex`). */
  imports: Record<string, string>;
  /** Module path of this file within its crate (`crate::db`). */
  modulePath: string;
}

export interface StructDecl {
  name: string;
  file: string;
  range: Range;
  fields: FieldDecl[];
}

export interface FieldDecl {
  name: string;
  typeText: string;
  range: Range;
}

export interface StaticDecl {
  name: string;
  typeText: string;
  /** Initializer text, used when the type is inferred (`lazy_static!`, `LazyLock::new(|| Mutex::new(..))`). */
  initText: string;
  file: string;
  range: Range;
  modulePath: string;
}

export interface FunctionDecl {
  /** `Catalog::get`, `db_set_value`, `Trait::method` for default methods. */
  qualifiedName: string;
  name: string;
  /** Self type of the impl block, when a method. */
  selfType?: string;
  /** Trait implemented by the impl block, when any. */
  traitName?: string;
  params: Array<{ name: string; typeText: string }>;
  returnType?: string;
  isAsync: boolean;
  file: string;
  range: Range;
  nameRange: Range;
  /** The body block, `{` to `}`. */
  bodyRange?: Range;
  modulePath: string;
  /**
   * For a function declared to return a lock (`&Mutex<T>`, `&'static RwLock<T>`, `Arc<Mutex<T>>`)
   * whose body is only a path to it (`&self.inner.state`, `&REGISTRY`, `self.state.clone()`), or
   * to return a guard whose body only locks one (`self.state.lock().unwrap()`): that path, so a
   * call names the lock itself. Undefined otherwise.
   */
  lockPath: string | undefined;
}

/** Everything the engine knows about one crate's declarations, merged from all its files. */
export interface CrateIndex {
  edition: Edition;
  files: FileDeclarations[];
}

/** What one function does with locks; the lock graph is built from these. */
export interface FunctionSummary {
  qualifiedName: string;
  file: string;
  range: Range;
  nameRange: Range;
  /** Function name (last segment); defaults to the last segment of `qualifiedName`. */
  name?: string;
  selfType?: string;
  traitName?: string;
  modulePath?: string;
  isAsync?: boolean;
  /** Acquisition ids made directly in this function (including closures that run in place). */
  acquisitions: string[];
  /** Acquisitions in closures that run later (spawned threads/tasks): not taken by this call. */
  deferredAcquisitions?: string[];
  /** Calls made by the function, with the guards alive at the call. */
  calls: CallSite[];
  /**
   * Set when the calls, found only when first read (a one-shot check), could not be found: an
   * internal error, whose message this is. `calls` is then empty.
   */
  callsError?: string;
  /** The function returns a guard of this lock class (it is an acquisition at its call sites). */
  returnsGuard?: { lock: string; mode: Acquisition['mode'] };
}

export interface CallSite {
  /** Callee text as written (`self.init_for`, `cm_msg`, `db::get_value`). */
  calleeText: string;
  /** Method or function name (last segment). */
  name: string;
  /** Receiver expression for method calls (`self`, `self.inner`, `param`). */
  receiverText?: string;
  /** Known type of the receiver, when the engine could tell. */
  receiverType?: string;
  /** Path qualifier for `Type::func()` / `module::func()` calls. */
  pathQualifier?: string;
  range: Range;
  /** Acquisition ids whose guards are alive at this call. */
  heldGuards: string[];
  /** The call is inside a closure (e.g. `with_lock(|x| ...)`). */
  inClosure?: boolean;
  /** The call is inside a closure that runs later (spawned), not as part of this function. */
  deferred?: boolean;
  /** The callee is this function's own parameter (a callback): its index among non-`self` params. */
  paramIndex?: number;
  /** Closure arguments: their position, the acquisitions inside them and the calls inside them (indices into `calls`). */
  closureArgs?: Array<{ index: number; acquisitions: string[]; calls: number[] }>;
}

export interface FileAnalysis {
  file: string;
  acquisitions: Acquisition[];
  findings: Finding[];
  functions: FunctionSummary[];
  /** Count of tree-sitter ERROR/MISSING nodes; > 0 means the file was analysed partially. */
  syntaxErrors: number;
  /** First syntax error location, for a one-line message. */
  firstSyntaxError?: Range;
}

export type { SourceFile };
