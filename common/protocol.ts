// LockLens extensions to the Language Server Protocol, defined once and used by both the
// client (vscode-languageclient) and the server (vscode-languageserver). Documented in
// docs/protocol.md, section "Language server protocol extensions".
//
// This module is compiled with `types: []`: import only from vscode-languageserver-protocol
// (whose typings are the environment-neutral common API).

import { NotificationType, Position, Range, RequestType, TextDocumentIdentifier } from 'vscode-languageserver-protocol';

export type GuardModeName = 'mutex' | 'read' | 'write' | 'upgradable' | 'reentrant';

export interface GuardRelease {
  /** Where the guard is dropped (the start of rustc's drop span). */
  position: Position;
  /** `scope-end`, `statement-end`, `explicit-drop`, `moved`, `early-exit`, ... */
  kind: string;
  /** Why the guard is dropped there, in words. */
  reason: string;
}

export interface GuardRegion {
  /** Acquisition id (`file:line:column`, 1-based), stable while the text above it does not change. */
  id: string;
  /** Lock class, e.g. `Catalog.load`. */
  lock: string;
  mode: GuardModeName;
  /** Library of the lock type: `std`, `parking_lot`, `tokio`, ... */
  flavor: string;
  /** `mutex`, `rwlock`, `reentrant-mutex`, ... */
  kind: string;
  /** True for async locks (tokio, futures). */
  async: boolean;
  /** The acquiring method (`lock`, `read`, `try_write`, ...). */
  method: string;
  /** `certain`, or `likely` when only the method shape says it is a lock. */
  certainty: 'certain' | 'likely';
  /** Enclosing function. */
  functionName: string;
  /** The expression that yields the guard. */
  acquisition: Range;
  /** Where the guard is alive (more than one range when control flow splits). */
  held: Range[];
  releases: GuardRelease[];
  /** How the guard is held: `binding` (with `name`), `temporary`, `underscore`, ... */
  holder: { kind: string; name?: string };
}

export interface GuardRegionsParams {
  textDocument: TextDocumentIdentifier;
}

export interface GuardRegionsResult {
  uri: string;
  /** Version of the document the regions were computed for (null for closed files). */
  version: number | null;
  /** Edition the file was analysed with. */
  edition: string;
  regions: GuardRegion[];
}

/** `locklens/guardRegions`: the guard regions of one document. */
export namespace GuardRegionsRequest {
  export const method = 'locklens/guardRegions' as const;
  export const type = new RequestType<GuardRegionsParams, GuardRegionsResult | null, void>(method);
}

export interface LockGraphNode {
  /** Lock class; unique within the graph. */
  id: string;
  flavor: string;
  kind: string;
  /** Number of acquisition sites. */
  acquisitions: number;
  /** Modes the lock is taken in (`read`, `write`, `mutex`, ...). */
  modes: GuardModeName[];
  /** Declared hierarchy level (index into the crate's `order`), when declared. */
  level?: number;
}

export interface LockGraphSite {
  uri: string;
  /** The acquisition of the second lock (or the call that leads to it). */
  range: Range;
  /** Function in which the first lock is held. */
  functionName: string;
  /** Call chain from the holding function to the acquisition, empty when direct. */
  via: string[];
}

export interface LockGraphEdge {
  /** Lock held ... */
  from: string;
  /** ... while this lock is acquired. */
  to: string;
  sites: LockGraphSite[];
  /** The edge is part of at least one cycle (a potential deadlock). */
  inCycle: boolean;
}

export interface LockGraphParams {
  /** Restrict the graph to the crate containing this document; all crates when omitted. */
  textDocument?: TextDocumentIdentifier;
}

export interface LockGraphResult {
  /** Names of the crates the graph covers. */
  crates: string[];
  nodes: LockGraphNode[];
  edges: LockGraphEdge[];
  /** Each cycle as the list of lock classes along it (first class not repeated at the end). */
  cycles: string[][];
}

/** `locklens/lockGraph`: which locks are taken while which others are held. */
export namespace LockGraphRequest {
  export const method = 'locklens/lockGraph' as const;
  export const type = new RequestType<LockGraphParams, LockGraphResult, void>(method);
}

export type ServerState = 'starting' | 'indexing' | 'ready' | 'disabled' | 'error';

export interface StatusParams {
  state: ServerState;
  /** Files indexed so far and in total (during `indexing`; equal when ready). */
  filesDone: number;
  filesTotal: number;
  /** Findings currently published, over all files. */
  findings: number;
  /** Human-readable detail (e.g. an error or the workspace discovery messages). */
  message?: string;
}

/** `locklens/status` (server → client): indexing progress and finding count for the status bar. */
export namespace StatusNotification {
  export const method = 'locklens/status' as const;
  export const type = new NotificationType<StatusParams>(method);
}

/** Options a client may pass in `initializationOptions`. */
export interface InitializationOptions {
  /** Base URI for rule documentation links (default: the bundled docs/rules as file URIs). */
  docsBaseUri?: string;
}

/** A runtime lock class as the hook reports it (see docs/protocol.md, "Runtime hook wire format"). */
export interface RuntimeLockClass {
  /** From `Mutex::named("..")`, else null. */
  name: string | null;
  /** `std.mutex`, `parking_lot.rwlock`, ... */
  kind: string;
  /** Where the lock was created (`new`/`named`). */
  created: RuntimeSite;
}

export interface RuntimeSite {
  /** As rustc reported it (usually relative to the package). */
  file: string;
  /** 1-based. */
  line: number;
  col: number;
  /** The file in the workspace, when the client found it. */
  uri?: string;
}

/** A lock-order edge observed at runtime: `from` was held while `to` was acquired. */
export interface RuntimeEdge {
  from: RuntimeLockClass;
  to: RuntimeLockClass;
  /** Where `from` was acquired. */
  fromSite: RuntimeSite;
  /** Where `to` was acquired (while `from` was held). */
  toSite: RuntimeSite;
  /** The thread that first took them in this order: `name #id`. */
  thread: string;
}

export interface RuntimeEdgesParams {
  /** One traced run (debug session, task or replayed trace); a new list replaces the session's previous one. */
  session: string;
  /** Label for messages, e.g. the program name. */
  label: string;
  edges: RuntimeEdge[];
}

/**
 * `locklens/runtimeEdges` (client → server): the lock-order edges a traced program showed. The
 * server reports runtime-confirmed inversions as `lock-order-inversion` diagnostics. An empty
 * `edges` list withdraws the session's evidence.
 */
export namespace RuntimeEdgesNotification {
  export const method = 'locklens/runtimeEdges' as const;
  export const type = new NotificationType<RuntimeEdgesParams>(method);
}
