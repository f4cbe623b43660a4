// The lock graph, kept up to date across edits. A from-scratch build is an update from an empty
// state, so both paths run the same code, and the result of an update depends only on the input,
// never on the edits that led to it (test/unit/graph-incremental.test.ts checks this). A graph
// built once (the CLI) skips what only later updates need and resolves only the calls locks can
// reach (`demanded`); the same tests compare it with the editor's graph.
//
// Per function the state keeps: its calls' resolutions, its out-edges in the call graph, and
// its "entries": for each lock class it reaches, the (at most) two nearest acquisitions, by
// call distance (at most MAX_CHAIN calls), then by source position, each with the first call
// edge (in call order) that leads to it at that distance. That definition is a function of the
// call graph alone: entries are computed level by level (distance 0, 1, .., MAX_CHAIN), each
// function reading only what its callees gained at the level before, so recursion, mutual
// recursion and huge strongly connected components cost at most functions x lock classes x 2
// x out-degree, and memory is bounded by functions x lock classes x 2. The call chain of an entry is a pointer to the callee's entry, turned into
// `CallStep`s only for evidence that is reported.
//
// After an edit, only functions that can see a difference are recomputed: the changed file's
// functions whose summary, acquisitions or resolutions differ, callers whose calls resolve
// differently because the file's functions changed (only calls by the name of a function that
// appeared, went away or changed its type, module or rank are resolved again), and the functions that reach those within MAX_CHAIN calls (a reverse
// breadth-first walk). What each function contributes to edges and findings is recomputed for
// those and their direct callers; the edges are then reassembled in workspace order.

import { sameData } from '../cache';
import type { CallSite, FileAnalysis, FileDeclarations, FunctionSummary } from '../api';
import type { Acquisition, Finding } from '../model';
import { isAlive } from '../regions';
import { CallResolver, functionId, type FunctionNode, type ResolvedCall } from './calls';
import { separateCrates } from './crates';
import { applySeverities, cycleFindings, dedupe, findCycles, hierarchyFindings, reentryFinding } from './findings';
import type { CallStep, Evidence, LockEdge, LockGraph, LockGraphFile, LockGraphInput, LockNode } from './types';

const MAX_CHAIN = 10;
const MAX_REACH_PER_LOCK = 2;
const MAX_EVIDENCE = 8;
/** More changed files than this share of the workspace: start from an empty state. */
const RESET_SHARE = 0.5;

interface FileState {
  key: string;
  crate: string;
  analysis: FileAnalysis;
  declarations: FileDeclarations | undefined;
  imports: string;
  pos: number;
  fns: FnState[];
  /** The file's acquisitions, with guard-returning helpers replaced by the lock they return. */
  acqs: Acquisition[];
  /** Some of `acqs` are copies with the returned lock put in (they are new objects each update). */
  remapped?: boolean;
  returned: string;
}

interface OutEdge {
  caller: FnState;
  callee: FnState;
  call: CallSite;
  may: boolean;
  step?: CallStep;
}

interface Entry {
  acq: Acquisition;
  lock: number;
  dist: number;
  /** The first call (in call order) through which `acq` is this near; none for own acquisitions. */
  edge?: OutEdge;
  next?: Entry;
}

/** One piece of evidence a function offers an edge; built into `Evidence` only if the edge keeps it. */
interface EvRecord {
  outer: Acquisition;
  inner: Acquisition;
  ev?: Evidence;
  step?: () => CallStep;
  entry?: Entry;
}

type FunctionItem = LockGraph['functions'][number];
type HeldCallItem = LockGraph['heldCalls'][number];

interface Contribution {
  records: EvRecord[];
  findings: Finding[];
  held: HeldCallItem[];
}

const noEntries: Entry[] = [];
const noContribution: Contribution = { records: [], findings: [], held: [] };
const noStarts: number[] = new Array(MAX_CHAIN + 2).fill(0);

/** One function's state; a class so that every instance has the same shape (hot loops read it). */
class FnState implements FunctionNode {
  // Set by setNode, from the constructor and on every update.
  id!: string;
  crate!: string;
  summary!: FunctionSummary;
  name!: string;
  selfType?: string;
  traitName?: string;
  modulePath!: string;
  alive = true;
  /** Scratch index while entries are computed; -1 otherwise. */
  slot = -1;
  /** Per call: what it may reach. */
  resolved: Array<Array<ResolvedCall<FnState>>> = [];
  /** Non-deferred calls to other functions, in call order: what reach flows through. */
  out: OutEdge[] = [];
  /** Functions with any resolved call to this one. */
  callers = new Set<FnState>();
  entries: Entry[] = noEntries;
  /** entries[starts[d] .. starts[d + 1]) are at distance d. */
  starts: number[] = noStarts;
  groups: Array<{ lock: string; list: Entry[] }> | undefined = undefined;
  item: FunctionItem | undefined = undefined;
  /** Scratch mark while `functions` is assembled. */
  listed = false;
  contrib: Contribution = noContribution;
  /** What the function is (file, names), and how many before it in its file are the same: `key` is both. */
  what = '';
  occurrence = 0;

  constructor(
    node: FunctionNode,
    readonly key: string,
    public file: FileState,
    public idx: number,
    /** Acquisitions of the summary, in its order. */
    public own: Acquisition[],
  ) {
    this.setNode(node);
  }

  /** Whether reach flows from `g` into this function (a non-deferred call). */
  calls(g: FnState): boolean {
    for (const e of this.out) if (e.callee === g) return true;
    return false;
  }

  setNode(node: FunctionNode): void {
    this.id = node.id;
    this.crate = node.crate;
    this.summary = node.summary;
    this.name = node.name;
    this.selfType = node.selfType;
    this.traitName = node.traitName;
    this.modulePath = node.modulePath;
  }
}

/** A function's resolved calls, and its out-edges: the calls that run as part of it. */
function setCalls(fn: FnState, resolved: Array<Array<ResolvedCall<FnState>>>): void {
  fn.resolved = resolved;
  fn.out = [];
  fn.summary.calls.forEach((call, ci) => {
    if (call.deferred) return;
    for (const r of resolved[ci]) {
      if (r.callee === fn) continue;
      fn.out.push({ caller: fn, callee: r.callee, call, may: r.may });
    }
  });
}

const importKeys = new WeakMap<FileDeclarations, string>();

function importsKey(d: FileDeclarations | undefined): string {
  if (!d) return '{}';
  let k = importKeys.get(d);
  if (k === undefined) {
    k = JSON.stringify(d.imports ?? {});
    importKeys.set(d, k);
  }
  return k;
}

export class LockGraphEngine {
  private files: FileState[] = [];
  private byKey = new Map<string, FileState>();
  private byFnKey = new Map<string, FnState>();
  private acqById = new Map<string, Acquisition>();
  private returned = new Map<string, string>();
  private lockIndex = new Map<string, number>();
  private resolver = this.newResolver();
  private configKey: string | undefined;
  private count = new Uint8Array(0);
  private first: Array<Acquisition | undefined> = [];
  private last: { input: LockGraphFile[]; graph: LockGraph } | undefined;
  /** What the last update recomputed (for benchmarks and tests). */
  lastStats = { reset: false, changedFiles: 0, kept: 0, resolved: 0, seeds: 0, reach: 0, contributions: 0 };

  /**
   * `once`: the graph is built once and not updated (a CLI run). Every update then starts over,
   * and only the calls that can matter are resolved (see `demanded`), so functions that take no
   * lock and are not called under one cost no call resolution at all. The result is the same.
   */
  constructor(private readonly options: { once?: boolean } = {}) {}

  private newResolver(): CallResolver<FnState> {
    return new CallResolver<FnState>((n) => n.file.pos * 1_048_576 + n.idx);
  }

  private reset(): void {
    this.files = [];
    this.byKey = new Map();
    this.byFnKey = new Map();
    this.acqById = new Map();
    this.returned = new Map();
    this.lockIndex = new Map();
    this.resolver = this.newResolver();
    this.last = undefined;
  }

  update(input: LockGraphInput): LockGraph {
    try {
      return this.apply(separateCrates(input));
    } catch (err) {
      // A half-applied update would poison the next ones: start over next time.
      this.configKey = undefined;
      this.reset();
      throw err;
    }
  }

  private apply(input: LockGraphInput): LockGraph {
    const configKey = JSON.stringify([input.order, input.orderSource, input.reentrant, input.severities, input.maxCycles]);
    if (configKey !== this.configKey) {
      this.configKey = configKey;
      this.reset();
    }
    const inFiles = input.files;
    if (this.last && this.last.input.length === inFiles.length && inFiles.every((f, i) => sameFile(f, this.last!.input[i]))) return this.last.graph;

    // Keys: the file name, made unique if a file is listed twice.
    const seen = new Map<string, number>();
    const keys = inFiles.map((f) => {
      const n = seen.get(f.analysis.file) ?? 0;
      seen.set(f.analysis.file, n + 1);
      return n === 0 ? f.analysis.file : `${f.analysis.file}\u0000${n}`;
    });
    let changed = this.diff(inFiles, keys);
    // kept: functions of changed files whose state stayed as it was (same summary, same place).
    const stats = { reset: false, changedFiles: 0, kept: 0, resolved: 0, seeds: 0, reach: 0, contributions: 0 };
    if (this.options.once || !changed || this.files.length === 0 || changed.count > Math.max(1, inFiles.length * RESET_SHARE)) {
      this.reset();
      stats.reset = true;
      changed = this.diff(inFiles, keys)!;
    }
    stats.changedFiles = changed.count;

    // Guard-returning helpers rename acquisitions in every file: a change there starts over.
    const returnedOf = (f: LockGraphFile) => JSON.stringify(f.analysis.functions.filter((s) => s.returnsGuard).map((s) => [s.qualifiedName, s.returnsGuard!.lock]));
    if (!stats.reset) {
      const differs =
        changed.removed.some((s) => s.returned !== '[]') ||
        changed.added.some((i) => returnedOf(inFiles[i]) !== (this.byKey.get(keys[i])?.returned ?? '[]'));
      if (differs) {
        this.reset();
        stats.reset = true;
        changed = this.diff(inFiles, keys)!;
      }
    }
    if (stats.reset) {
      for (const f of inFiles) for (const s of f.analysis.functions) if (s.returnsGuard) this.returned.set(`${s.qualifiedName}()`, s.returnsGuard.lock);
    }

    // Files: drop the removed ones, lay out the new order.
    const oldFiles = new Map(this.byKey);
    const affectedNames = new Set<string>();
    const dead: FnState[] = [];
    let allCrates = false;
    for (const s of changed.removed) {
      for (const fn of s.fns) dead.push(fn);
      this.resolver.setImports(s.analysis.file, undefined);
      for (const a of s.acqs) if (this.acqById.get(a.id) === a) this.acqById.delete(a.id);
      oldFiles.delete(s.key);
    }
    this.byKey = new Map();
    this.files = inFiles.map((f, i) => {
      let s = oldFiles.get(keys[i]);
      if (!s) {
        s = { key: keys[i], crate: f.crate, analysis: f.analysis, declarations: f.declarations, imports: importsKey(f.declarations), pos: i, fns: [], acqs: [], returned: '[]' };
      }
      s.pos = i;
      s.declarations = f.declarations;
      this.byKey.set(keys[i], s);
      return s;
    });

    // Changed and added files: new summaries, reusing the state of the functions they still declare.
    const seeds = new Set<FnState>();
    const toResolve = new Set<FnState>();
    const fromFiles = new Set<FnState>();
    for (const i of changed.added) {
      const file = this.files[i];
      const f = inFiles[i];
      const oldFns = file.fns;
      const previous = new Map<string, FnState>();
      for (const fn of oldFns) previous.set(fn.key, fn);
      // The file's acquisitions before this update with these ids, for a function compared field by
      // field: a scan for the first few such functions (typing re-analyses one), then a full map
      // (a line inserted moves every function below it).
      const oldList = file.acqs;
      let scans = 0;
      let oldById: Map<string, Acquisition> | undefined;
      const oldAcqs = (ids: Set<string>) => {
        if (oldById) return oldById;
        if (++scans > 4) return (oldById = new Map(oldList.map((a) => [a.id, a])));
        const found = new Map<string, Acquisition>();
        for (const a of oldList) if (ids.has(a.id)) found.set(a.id, a);
        return found;
      };
      file.crate = f.crate;
      file.analysis = f.analysis;
      const importsChanged = file.imports !== importsKey(f.declarations);
      file.imports = importsKey(f.declarations);
      file.returned = returnedOf(f);
      const wasRemapped = file.remapped === true;
      file.remapped = false;
      file.acqs = f.analysis.acquisitions.map((a) => {
        const real = this.returned.get(a.lock);
        if (!real) return a;
        file.remapped = true;
        return { ...a, lock: real };
      });
      // Acquisitions are the engine's own objects before and after: an unchanged summary object
      // then means an unchanged function.
      const sameObjects = !wasRemapped && !file.remapped;
      // The same ids in the same order (edits inside function bodies): each entry is replaced
      // in place; otherwise the file's old entries go first.
      if (!sameIds(oldList, file.acqs)) for (const a of oldList) if (this.acqById.get(a.id) === a) this.acqById.delete(a.id);
      for (const a of file.acqs) if (this.acqById.get(a.id) !== a) this.acqById.set(a.id, a);
      this.resolver.setImports(f.analysis.file, f.declarations?.imports);
      if (this.options.once) {
        // Nothing from an earlier update to match the functions against (and no key to keep).
        file.fns = f.analysis.functions.map((summary, idx) => {
          const fn = new FnState(toNode(f.crate, summary, functionId(summary)), '', file, idx, this.ownOf(summary));
          allCrates = this.resolver.add(fn) || allCrates;
          return fn;
        });
        continue;
      }
      const fnSeen = new Map<string, number>();
      file.fns = f.analysis.functions.map((summary, idx) => {
        // The same summary object at the same index, with nothing around it changed: the state
        // stays as it is (most functions of an edited file, since the engine re-analyses only
        // the functions an edit touched).
        const kept = oldFns[idx];
        if (kept && kept.summary === summary && kept.alive && sameObjects && !importsChanged && kept.crate === f.crate && sameOwn(kept, summary, this.acqById)) {
          const n = fnSeen.get(kept.what) ?? 0;
          fnSeen.set(kept.what, n + 1);
          if (n === kept.occurrence && previous.get(kept.key) === kept) {
            previous.delete(kept.key);
            kept.file = file;
            stats.kept++;
            return kept;
          }
          fnSeen.set(kept.what, n);
        }
        const id = functionId(summary);
        const node = toNode(f.crate, summary, id);
        // Matched by what it is, not where: a function that only moved (a line inserted above
        // it) keeps its state, so calls to it need not be resolved again.
        const what = `${file.key}\u0000${summary.qualifiedName}\u0000${node.name}\u0000${node.selfType ?? ''}\u0000${node.traitName ?? ''}`;
        const n = fnSeen.get(what) ?? 0;
        fnSeen.set(what, n + 1);
        const key = `${what}\u0000${n}`;
        const own = this.ownOf(summary);
        let fn = previous.get(key);
        let untouched = false;
        if (fn && fn.alive) {
          previous.delete(key);
          // What call resolution reads of a callee, and its rank among candidates.
          const readd = fn.crate !== node.crate || fn.name !== node.name || fn.selfType !== node.selfType || fn.traitName !== node.traitName || fn.modulePath !== node.modulePath || fn.idx !== idx;
          if (readd) {
            affectedNames.add(fn.name);
            allCrates = this.resolver.remove(fn) || allCrates;
          }
          // The engine hands back the same summary object for a function it did not re-analyse:
          // its calls resolve as before unless a name they use changed (see the scan below).
          untouched = fn.summary === summary && !readd && !importsChanged && fn.crate === f.crate;
          if (fn.crate !== f.crate || !((sameObjects && fn.summary === summary) || sameFunction(fn.summary, oldAcqs, summary, this.acqById))) seeds.add(fn);
          fn.setNode(node);
          fn.file = file;
          fn.idx = idx;
          fn.own = own;
          if (readd) {
            affectedNames.add(fn.name);
            allCrates = this.resolver.add(fn) || allCrates;
          }
        } else {
          fn = new FnState(node, key, file, idx, own);
          fn.what = what;
          fn.occurrence = n;
          this.byFnKey.set(key, fn);
          affectedNames.add(fn.name);
          allCrates = this.resolver.add(fn) || allCrates;
          seeds.add(fn);
        }
        if (!untouched) {
          toResolve.add(fn);
          fromFiles.add(fn);
        }
        return fn;
      });
      for (const fn of previous.values()) dead.push(fn);
    }
    for (const fn of dead) {
      fn.alive = false;
      affectedNames.add(fn.name);
      allCrates = this.resolver.remove(fn) || allCrates;
      for (const o of fn.resolved) for (const r of o) r.callee.callers.delete(fn);
      if (this.byFnKey.get(fn.key) === fn) this.byFnKey.delete(fn.key);
    }

    // Calls whose targets may have changed: every call of a changed file, calls to the names
    // it declares (or declared), or every call if the set of crate names changed.
    const demanded = this.options.once ? this.demanded() : undefined;
    if (demanded) {
      toResolve.clear();
      stats.resolved = demanded.length;
    } else if (allCrates) for (const fn of this.byFnKey.values()) toResolve.add(fn);
    else {
      // A scan of every call's name: cheaper than keeping an index of them up to date.
      if (affectedNames.size > 0) {
        for (const file of this.files) {
          for (const fn of file.fns) {
            if (toResolve.has(fn)) continue;
            for (const call of fn.summary.calls) {
              if (affectedNames.has(call.name)) {
                toResolve.add(fn);
                break;
              }
            }
          }
        }
      }
    }
    for (const fn of toResolve) {
      if (!fn.alive) continue;
      stats.resolved++;
      const resolved = fn.summary.calls.map((call) => this.resolver.resolve(fn, call));
      if (!sameResolutions(fn.resolved, resolved)) {
        seeds.add(fn);
        for (const o of fn.resolved) for (const r of o) r.callee.callers.delete(fn);
        for (const o of resolved) for (const r of o) r.callee.callers.add(fn);
      } else if (!fromFiles.has(fn)) {
        continue;
      }
      // Re-point edges at the current call objects (an unchanged summary still comes as a new object).
      setCalls(fn, resolved);
    }
    stats.seeds = seeds.size;

    // Reach: the seeds and every function that reaches one within MAX_CHAIN calls.
    const reach: FnState[] = demanded ?? (stats.reset ? this.files.flatMap((f) => f.fns) : [...seeds]);
    const depth = new Map<FnState, number>();
    if (!stats.reset) for (const s of seeds) depth.set(s, 0);
    for (let i = 0; i < reach.length && !stats.reset; i++) {
      const g = reach[i];
      const d = depth.get(g)!;
      if (d >= MAX_CHAIN) continue;
      for (const c of g.callers) {
        if (!c.alive || depth.has(c) || !c.calls(g)) continue;
        depth.set(c, d + 1);
        reach.push(c);
      }
    }
    this.computeEntries(reach);
    stats.reach = reach.length;

    // Contributions: those functions and their direct callers (they read the callees' entries).
    const contrib = new Set<FnState>(reach);
    if (!stats.reset) for (const g of reach) for (const c of g.callers) if (c.alive) contrib.add(c);
    for (const fn of contrib) fn.contrib = this.contribution(fn, input);
    stats.contributions = contrib.size;
    this.lastStats = stats;

    const graph = this.assemble(input);
    this.last = { input: [...inFiles], graph };
    // Lock classes seen while typing (`S.a`, `S.ab`, ..) stay in the index: once it is mostly
    // stale, the next update starts over so that memory stays bounded in long sessions.
    if (this.lockIndex.size > 4 * graph.nodes.length + 256) this.configKey = undefined;
    return graph;
  }

  /**
   * For a graph built once: the functions whose calls are resolved, with their calls resolved.
   * Only a function that takes locks adds edges or findings of its own: a function that takes
   * none holds no guard at its calls, so what it reaches is read only by the functions that call
   * it. Those are the functions that take locks and everything they call, transitively, each
   * call resolved exactly as an update from scratch resolves it. The one exception: a function
   * that runs a callback parameter under its guards gets edges from its callers' closures, so
   * then every function's calls are resolved. The calls of the others are never read, which
   * lets the engine compute them lazily (`FunctionSummary.calls`).
   */
  private demanded(): FnState[] {
    const all = this.files.flatMap((f) => f.fns);
    const takesLocks = all.filter((fn) => fn.summary.acquisitions.length > 0 || (fn.summary.deferredAcquisitions?.length ?? 0) > 0);
    const runsCallbacks = takesLocks.some((fn) => fn.summary.calls.some((c) => c.paramIndex !== undefined && c.heldGuards.length > 0));
    const order = runsCallbacks ? all : takesLocks;
    const listed = new Set(order);
    for (let i = 0; i < order.length; i++) {
      const fn = order[i];
      const resolved = fn.summary.calls.map((call) => this.resolver.resolve(fn, call));
      setCalls(fn, resolved);
      for (const o of resolved) {
        for (const r of o) {
          if (listed.has(r.callee)) continue;
          listed.add(r.callee);
          order.push(r.callee);
        }
      }
    }
    return order;
  }

  /** Which files changed since the last update (by object identity); undefined when the order of kept files changed. */
  private diff(inFiles: LockGraphFile[], keys: string[]): { count: number; added: number[]; removed: FileState[] } | undefined {
    const added: number[] = [];
    const present = new Set<string>();
    let lastPos = -1;
    let ordered = true;
    inFiles.forEach((f, i) => {
      present.add(keys[i]);
      const s = this.byKey.get(keys[i]);
      if (!s) {
        added.push(i);
        return;
      }
      if (s.pos < lastPos) ordered = false;
      lastPos = s.pos;
      if (s.analysis !== f.analysis || s.crate !== f.crate || s.imports !== importsKey(f.declarations)) added.push(i);
    });
    if (!ordered) return undefined;
    const removed = this.files.filter((s) => !present.has(s.key));
    return { count: added.length + removed.length, added, removed };
  }

  /** A function's own acquisitions, in its summary's order. */
  private ownOf(summary: FunctionSummary): Acquisition[] {
    return summary.acquisitions.map((a) => this.acqById.get(a)).filter((a): a is Acquisition => !!a);
  }

  private lockOf(lock: string): number {
    let i = this.lockIndex.get(lock);
    if (i === undefined) {
      i = this.lockIndex.size;
      this.lockIndex.set(lock, i);
    }
    return i;
  }

  /** Entries of `fns`, level by level; every other function's entries are final. */
  private computeEntries(fns: FnState[]): void {
    const n = fns.length;
    if (n === 0) return;
    fns.forEach((f, i) => (f.slot = i));
    for (const f of fns) for (const a of f.own) this.lockOf(a.lock);
    const L = this.lockIndex.size;
    // Per function and lock class: how many entries so far, and the first one's acquisition
    // (scratch kept between updates; `first` is only read where `count` says it was written).
    if (this.count.length < n * L) {
      this.count = new Uint8Array(Math.max(n * L, this.count.length * 2));
      this.first = new Array(this.count.length);
    }
    const count = this.count;
    const first = this.first;
    count.fill(0, 0, n * L);
    const entries: Entry[][] = new Array(n);
    // Where each level starts in each function's entries: starts[i * W + d].
    const W = MAX_CHAIN + 2;
    const starts = new Int32Array(n * W);
    const take = (i: number, e: Entry): boolean => {
      const k = i * L + e.lock;
      const c = count[k];
      if (c >= MAX_REACH_PER_LOCK || (c > 0 && first[k]!.id === e.acq.id)) return false;
      if (c === 0) first[k] = e.acq;
      count[k] = c + 1;
      (entries[i] ??= []).push(e);
      return true;
    };
    for (let i = 0; i < n; i++) {
      const own = fns[i].own;
      if (own.length === 0) continue;
      for (const acq of own.length > 1 ? [...own].sort(byPosition) : own) take(i, { acq, lock: this.lockOf(acq.lock), dist: 0 });
    }
    // A function holding two entries for every lock class (one where the class has a single
    // acquisition) can gain nothing more: skipped at the next levels (dense recursive crates).
    const perClass = new Map<string, number>();
    for (const file of this.files) for (const a of file.acqs) perClass.set(a.lock, Math.min(MAX_REACH_PER_LOCK, (perClass.get(a.lock) ?? 0) + 1));
    let full = 0;
    for (const c of perClass.values()) full += c;
    // Per lock class, the best and second-best candidate of the level being computed (nearest
    // by source position; for one acquisition the first call in call order), without allocating.
    const b1: Array<Entry | undefined> = new Array(L);
    const b1Edge: Array<OutEdge | undefined> = new Array(L);
    const b2: Array<Entry | undefined> = new Array(L);
    const b2Edge: Array<OutEdge | undefined> = new Array(L);
    const touched: number[] = [];
    let lastLevel = MAX_CHAIN;
    for (let d = 1; d <= MAX_CHAIN; d++) {
      for (let i = 0; i < n; i++) starts[i * W + d] = entries[i]?.length ?? 0;
      // Level d reads the entries callees gained at level d - 1: once a level adds none and no
      // callee outside `fns` has deeper ones, every later level is empty too.
      let added = false;
      let deeperOutside = false;
      for (let i = 0; i < n; i++) {
        const f = fns[i];
        if (entries[i] && entries[i].length >= full) continue;
        const out = f.out;
        for (let o = 0; o < out.length; o++) {
          const edge = out[o];
          const g = edge.callee;
          const j = g.slot;
          let list: Entry[], from: number, to: number;
          if (j >= 0) {
            list = entries[j];
            if (!list) continue;
            from = starts[j * W + d - 1];
            to = starts[j * W + d];
          } else {
            list = g.entries;
            from = g.starts[d - 1];
            to = g.starts[d];
            if (g.starts[MAX_CHAIN + 1] > to) deeperOutside = true;
          }
          for (let x = from; x < to; x++) {
            const e = list[x];
            const li = e.lock;
            const k = i * L + li;
            if (count[k] >= MAX_REACH_PER_LOCK || (count[k] === 1 && first[k]!.id === e.acq.id)) continue;
            const c1 = b1[li];
            if (c1 === undefined) {
              b1[li] = e;
              b1Edge[li] = edge;
              touched.push(li);
            } else if (c1.acq.id === e.acq.id) {
              continue;
            } else if (byPosition(e.acq, c1.acq) < 0) {
              b2[li] = c1;
              b2Edge[li] = b1Edge[li];
              b1[li] = e;
              b1Edge[li] = edge;
            } else {
              const c2 = b2[li];
              if (c2 === undefined || (c2.acq.id !== e.acq.id && byPosition(e.acq, c2.acq) < 0)) {
                b2[li] = e;
                b2Edge[li] = edge;
              }
            }
          }
        }
        for (const li of touched) {
          const e1 = b1[li]!;
          if (take(i, { acq: e1.acq, lock: li, dist: d, edge: b1Edge[li], next: e1 })) added = true;
          const e2 = b2[li];
          if (e2 && take(i, { acq: e2.acq, lock: li, dist: d, edge: b2Edge[li], next: e2 })) added = true;
          b1[li] = b2[li] = undefined;
          b1Edge[li] = b2Edge[li] = undefined;
        }
        touched.length = 0;
      }
      if (!added && !deeperOutside) {
        lastLevel = d;
        break;
      }
    }
    for (let i = 0; i < n; i++) {
      const f = fns[i];
      const list = entries[i];
      if (list) {
        for (let d = lastLevel + 1; d <= MAX_CHAIN + 1; d++) starts[i * W + d] = list.length;
        f.entries = list;
        f.starts = Array.from(starts.subarray(i * W, i * W + W));
      } else {
        f.entries = noEntries;
        f.starts = noStarts;
      }
      f.groups = undefined;
      f.item = undefined;
      f.slot = -1;
    }
  }

  /** A function's line in `functions`: its locks, the nearest acquisition of each. */
  private itemOf(fn: FnState): FunctionItem {
    const s = fn.summary;
    fn.item ??= {
      id: fn.id,
      name: s.qualifiedName,
      file: s.file,
      range: s.nameRange,
      locks: this.groupsOf(fn).map(({ lock, list }) => ({ lock, mode: list[0].acq.mode, acquisition: list[0].acq.id, via: viaOf(list[0]) })),
    };
    return fn.item;
  }

  /** A function's entries by lock class, nearest first. */
  private groupsOf(fn: FnState): Array<{ lock: string; list: Entry[] }> {
    if (fn.groups) return fn.groups;
    const by = new Map<string, Entry[]>();
    for (const e of fn.entries) {
      const l = by.get(e.acq.lock);
      if (l) l.push(e);
      else by.set(e.acq.lock, [e]);
    }
    // Nearest lock first (own acquisitions, then through one call, ..), then in source order.
    fn.groups = [...by].sort((a, b) => a[1][0].dist - b[1][0].dist || byPosition(a[1][0].acq, b[1][0].acq)).map(([lock, list]) => ({ lock, list }));
    return fn.groups;
  }

  private contribution(fn: FnState, input: LockGraphInput): Contribution {
    // Most functions neither nest their own locks, nor call under a guard, nor pass closures.
    if (fn.own.length < 2 && !fn.summary.calls.some((c) => c.heldGuards.length > 0 || (c.closureArgs && !c.deferred))) return noContribution;
    const records: EvRecord[] = [];
    const findings: Finding[] = [];
    const held: HeldCallItem[] = [];
    const s = fn.summary;
    const acq = (id: string) => this.acqById.get(id);
    const isAcq = (a: Acquisition | undefined): a is Acquisition => !!a;
    // Direct nesting inside one function.
    for (const inner of fn.own) {
      if (inner.isTry) continue;
      for (const outer of fn.own) {
        if (outer === inner || outer.lock === inner.lock) continue;
        if (!isAlive(outer, inner.range.start)) continue;
        records.push({ outer, inner, ev: { outer, calls: [], inner } });
      }
    }
    // Closures handed to a callee that runs them under its own guards (`with_state(|s| ..)`).
    s.calls.forEach((call, ci) => {
      if (!call.closureArgs || call.deferred) return;
      for (const { callee, may } of fn.resolved[ci]) {
        const step = makeStep(fn, call, callee, may);
        for (const arg of call.closureArgs) {
          const runs = callee.summary.calls.filter((cc) => cc.paramIndex === arg.index && cc.heldGuards.length > 0);
          for (const run of runs) {
            const outers = run.heldGuards.map(acq).filter(isAcq);
            const inners: Array<{ acq: Acquisition; chain: CallStep[] }> = arg.acquisitions
              .map(acq)
              .filter(isAcq)
              .map((a) => ({ acq: a, chain: [] }));
            for (const k of arg.calls) {
              const inner = s.calls[k];
              if (!inner) continue;
              for (const r of fn.resolved[k] ?? []) {
                const innerStep = makeStep(fn, inner, r.callee, r.may);
                for (const g of this.groupsOf(r.callee)) for (const x of g.list) inners.push({ acq: x.acq, chain: [innerStep, ...chainOf(x)] });
              }
            }
            for (const outer of outers) {
              for (const inner of inners) {
                if (inner.acq.isTry) continue;
                const ev: Evidence = { outer, calls: [step, ...inner.chain], inner: inner.acq };
                if (outer.lock === inner.acq.lock) {
                  const f = reentryFinding(ev, 'self', input);
                  if (f) findings.push(f);
                } else records.push({ outer, inner: inner.acq, ev });
              }
            }
          }
        }
      }
    });
    // Nesting through calls made while guards are alive.
    const deferredHere = new Set(s.deferredAcquisitions ?? []);
    s.calls.forEach((call, ci) => {
      if (call.heldGuards.length === 0) return;
      held.push({ fn: fn.id, call: ci, callees: fn.resolved[ci].map((r) => r.callee.id) });
      // A call that runs later (in a spawned closure) is under the guards of that closure only.
      const outers = call.heldGuards.filter((id) => !call.deferred || deferredHere.has(id)).map(acq).filter(isAcq);
      if (outers.length === 0) return;
      for (const { callee, may } of fn.resolved[ci]) {
        const groups = this.groupsOf(callee);
        if (groups.length === 0) continue;
        let made: CallStep | undefined;
        const step = () => (made ??= makeStep(fn, call, callee, may));
        for (const { lock, list } of groups) {
          for (const outer of outers) {
            if (outer.lock === lock) {
              // One re-entry finding per held guard and call: the nearest acquisition tells the story.
              const r = list.find((x) => !x.acq.isTry);
              const f = r ? reentryFinding({ outer, calls: [step(), ...chainOf(r)], inner: r.acq }, call.receiverText, input) : undefined;
              if (f) findings.push(f);
              continue;
            }
            // A try-lock inside does not wait, so it orders nothing.
            for (const r of list) if (!r.acq.isTry) records.push({ outer, inner: r.acq, step, entry: r });
          }
        }
      }
    });
    return { records, findings, held };
  }

  private assemble(input: LockGraphInput): LockGraph {
    const rows = new Map<string, Map<string, LockEdge>>();
    const edgeList: LockEdge[] = [];
    const findings: Finding[] = [];
    const functions: FunctionItem[] = [];
    const heldCalls: HeldCallItem[] = [];
    const nodes = new Map<string, LockNode>();
    for (const file of this.files) {
      for (const a of file.acqs) {
        let node = nodes.get(a.lock);
        if (!node) nodes.set(a.lock, (node = { id: a.lock, acquisitions: [], modes: [] }));
        node.acquisitions.push(a);
        if (!node.modes.includes(a.mode)) node.modes.push(a.mode);
      }
      for (const fn of file.fns) {
        const c = fn.contrib;
        for (const r of c.records) {
          let row = rows.get(r.outer.lock);
          if (!row) rows.set(r.outer.lock, (row = new Map()));
          let e = row.get(r.inner.lock);
          if (!e) {
            e = { from: r.outer.lock, to: r.inner.lock, evidence: [], inCycle: false };
            row.set(r.inner.lock, e);
            edgeList.push(e);
          }
          if (e.evidence.length >= MAX_EVIDENCE || e.evidence.some((x) => x.outer.id === r.outer.id && x.inner.id === r.inner.id)) continue;
          // Built once, when an edge first keeps it; kept with the record for the next updates.
          r.ev ??= { outer: r.outer, calls: [r.step!(), ...chainOf(r.entry!)], inner: r.inner };
          e.evidence.push(r.ev);
        }
        for (const f of c.findings) findings.push(f);
        for (const h of c.held) heldCalls.push(h);
        for (const h of c.held) for (const r of fn.resolved[h.call]) r.callee.listed = true;
      }
    }
    for (const file of this.files) {
      for (const fn of file.fns) {
        if (!fn.listed) continue;
        fn.listed = false;
        if (fn.entries.length > 0) functions.push(this.itemOf(fn));
      }
    }
    const cycles = findCycles(edgeList, input.maxCycles ?? 50);
    for (const c of cycles) for (const e of c.edges) e.inCycle = true;
    findings.push(...cycleFindings(cycles, input));
    findings.push(...hierarchyFindings(edgeList, input));
    return { nodes: [...nodes.values()], edges: edgeList, cycles, findings: applySeverities(dedupe(findings), input.severities), functions, heldCalls };
  }
}

/** Everything of a function the graph reads, as text: equal text, equal contributions. */
/** The acquisitions a summary refers to: its own, the guards held at its calls, those in closure arguments. */
function referencedAcquisitions(summary: FileAnalysis['functions'][number]): Set<string> {
  const ids = new Set<string>([...summary.acquisitions, ...(summary.deferredAcquisitions ?? [])]);
  for (const c of summary.calls) {
    for (const g of c.heldGuards) ids.add(g);
    for (const a of c.closureArgs ?? []) for (const x of a.acquisitions) ids.add(x);
  }
  return ids;
}

/**
 * Whether a function's summary and the acquisitions it refers to are unchanged. The engine hands
 * back the very same objects for a function it did not re-analyse, so identity settles most
 * cases; otherwise the data is compared, stopping at the first difference.
 */
function sameFunction(
  before: FileAnalysis['functions'][number],
  beforeAcqs: (ids: Set<string>) => Map<string, Acquisition>,
  after: FileAnalysis['functions'][number],
  afterAcqs: Map<string, Acquisition>,
): boolean {
  if (before !== after && !sameData(before, after)) return false;
  const ids = referencedAcquisitions(after);
  const old = beforeAcqs(ids);
  for (const id of ids) {
    const a = old.get(id);
    const b = afterAcqs.get(id);
    if (a !== b && !sameData(a, b)) return false;
  }
  return true;
}

function sameIds(a: readonly Acquisition[], b: readonly Acquisition[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && a[i].id !== b[i].id) return false;
  return true;
}

/** Whether `fn.own` is still what its summary's acquisitions resolve to. */
function sameOwn(fn: FnState, summary: FunctionSummary, acqById: Map<string, Acquisition>): boolean {
  const ids = summary.acquisitions;
  if (fn.own.length !== ids.length) return false;
  for (let i = 0; i < ids.length; i++) if (fn.own[i] !== acqById.get(ids[i])) return false;
  return true;
}

function sameFile(a: LockGraphFile, b: LockGraphFile): boolean {
  return a.analysis === b.analysis && a.crate === b.crate && (a.declarations === b.declarations || importsKey(a.declarations) === importsKey(b.declarations));
}

function sameResolutions(a: FnState['resolved'], b: FnState['resolved']): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].length !== b[i].length) return false;
    for (let j = 0; j < a[i].length; j++) if (a[i][j].callee !== b[i][j].callee || a[i][j].may !== b[i][j].may) return false;
  }
  return true;
}

function byPosition(a: Acquisition, b: Acquisition): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.range.start.line - b.range.start.line || a.range.start.column - b.range.start.column || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function makeStep(caller: FnState, call: CallSite, callee: FnState, may: boolean): CallStep {
  return { file: caller.summary.file, range: call.range, caller: caller.summary.qualifiedName, callee: callee.summary.qualifiedName, calleeText: call.calleeText, may };
}

function chainOf(entry: Entry): CallStep[] {
  const out: CallStep[] = [];
  for (let e: Entry | undefined = entry; e && e.edge; e = e.next) {
    const edge: OutEdge = e.edge;
    out.push((edge.step ??= makeStep(edge.caller, edge.call, edge.callee, edge.may)));
  }
  return out;
}

/** The functions an entry's chain calls, by name. */
function viaOf(entry: Entry): string[] {
  const out: string[] = [];
  for (let e: Entry | undefined = entry; e && e.edge; e = e.next) out.push(e.edge.callee.summary.qualifiedName);
  return out;
}

function toNode(crate: string, s: FileAnalysis['functions'][number], id: string): FunctionNode {
  return {
    id,
    crate,
    summary: s,
    name: s.name ?? s.qualifiedName.slice(s.qualifiedName.lastIndexOf(':') + 1),
    // Summaries from older producers carry only `Type::method`: take the type from there.
    selfType: s.selfType ?? (/^[A-Z]\w*::[a-z_]\w*$/.test(s.qualifiedName) ? s.qualifiedName.split('::')[0] : undefined),
    traitName: s.traitName,
    modulePath: s.modulePath ?? '',
  };
}
