// The language server's view of the engine's lock graph (server/src/analysis/graph): it
// gathers the crates' per-file results, asks the engine for the graph once, and converts it
// into what `locklens/lockGraph` and the code lenses send. No graph logic lives here.
//
// Builders made for the same owner (the server passes a workspace's crate list) share one
// `LockGraphEngine`, which keeps the previous graph's state: after an edit it recomputes only
// what the changed files can affect, with the same result as a fresh build.

import type { CallSite, FileAnalysis, FileDeclarations, FunctionSummary } from '../analysis/api';
import { functionId, LockGraphEngine, type LockGraph } from '../analysis/graph';
import type { Acquisition, Finding, GuardMode, Position } from '../analysis/model';
import type { LockGraphEdge, LockGraphNode, LockGraphResult, LockGraphSite } from '../../../common/protocol';
import { toRange } from './features';
import { compareText } from '../analysis/sorted';

export interface GraphFile {
  crate: string;
  analysis: FileAnalysis;
  declarations?: FileDeclarations;
}

export interface GraphConfig {
  /** Declared lock levels, lowest first. */
  order?: string[][];
  orderSource?: string;
  reentrant?: string[];
}

/** A lock a call reaches, with the functions called to get there. */
export interface TransitiveLock {
  lock: string;
  mode: GuardMode;
  acquisition: Acquisition;
  via: string[];
}

/** Sites kept per edge in the `locklens/lockGraph` answer: enough to act on, bounded for huge crates. */
const MAX_SITES_PER_EDGE = 50;

/** One engine per owner, dropped with it. */
const engines = new WeakMap<object, LockGraphEngine>();

/** The engine builders of `owner` share, if one was made (benchmarks read its last update's statistics). */
export function graphEngineOf(owner: object): LockGraphEngine | undefined {
  return engines.get(owner);
}

export class LockGraphBuilder {
  private graph: LockGraph | undefined;
  private acquisitions: Map<string, Acquisition> | undefined;

  /** `owner`: builders with the same owner update one engine instead of building from scratch. */
  constructor(
    private readonly files: readonly GraphFile[],
    private readonly config: GraphConfig = {},
    private readonly owner?: object,
  ) {}

  /** The engine's graph over all given files, computed once. */
  get(): LockGraph {
    if (this.graph) return this.graph;
    let engine = this.owner ? engines.get(this.owner) : undefined;
    if (!engine) {
      engine = new LockGraphEngine();
      if (this.owner) engines.set(this.owner, engine);
    }
    this.graph = engine.update({
      files: this.files.map((f) => ({ crate: f.crate, analysis: f.analysis, declarations: f.declarations })),
      order: this.config.order,
      orderSource: this.config.orderSource,
      reentrant: this.config.reentrant,
    });
    return this.graph;
  }

  private acquisitionById(): Map<string, Acquisition> {
    if (!this.acquisitions) {
      this.acquisitions = new Map();
      for (const f of this.files) for (const a of f.analysis.acquisitions) this.acquisitions.set(a.id, a);
    }
    return this.acquisitions;
  }

  /** Cross-function findings: lock-order inversions, double locks through calls, hierarchy. */
  findings(): Finding[] {
    return this.get().findings;
  }

  /** Locks reached by a call made while guards are held (empty for other calls). */
  locksOfCall(fn: FunctionSummary, call: CallSite): TransitiveLock[] {
    const g = this.get();
    const id = functionId(fn);
    const index = fn.calls.indexOf(call);
    const entry = g.heldCalls.find((h) => h.fn === id && h.call === index);
    if (!entry) return [];
    const out: TransitiveLock[] = [];
    for (const calleeId of entry.callees) {
      const callee = g.functions.find((f) => f.id === calleeId);
      if (!callee) continue;
      for (const l of callee.locks) {
        const acquisition = this.acquisitionById().get(l.acquisition);
        if (acquisition) out.push({ lock: l.lock, mode: l.mode, acquisition, via: [callee.name, ...l.via] });
      }
    }
    return out;
  }

  /** The graph as `locklens/lockGraph` sends it; `uriOf` maps engine file keys to URIs. */
  build(uriOf: (file: string) => string | undefined, crates: string[]): LockGraphResult {
    const g = this.get();
    const levels = new Map<string, number>();
    (this.config.order ?? []).forEach((names, i) => names.forEach((n) => levels.set(n, i)));
    const nodes: LockGraphNode[] = g.nodes
      .map((n) => ({
        id: n.id,
        flavor: n.acquisitions[0]?.lockType.flavor ?? 'unknown',
        kind: n.acquisitions[0]?.lockType.kind ?? 'mutex',
        acquisitions: n.acquisitions.length,
        modes: n.modes,
        ...(levels.has(n.id) ? { level: levels.get(n.id) } : {}),
      }))
      .sort((a, b) => compareText(a.id, b.id));
    const edges: LockGraphEdge[] = g.edges
      .map((e) => ({
        from: e.from,
        to: e.to,
        inCycle: e.inCycle,
        sites: e.evidence
          .slice(0, MAX_SITES_PER_EDGE)
          .map((ev): LockGraphSite | undefined => {
            const at = ev.calls[0] ?? { file: ev.inner.file, range: ev.inner.range };
            const uri = uriOf(at.file);
            return uri ? { uri, range: toRange(at.range), functionName: ev.outer.functionName, via: ev.calls.map((c) => c.callee) } : undefined;
          })
          .filter((s): s is LockGraphSite => s !== undefined),
      }))
      .sort((a, b) => compareText(a.from, b.from) || compareText(a.to, b.to));
    return { crates, nodes, edges, cycles: g.cycles.map((c) => c.locks) };
  }
}

function before(a: Position, b: Position): boolean {
  return a.line < b.line || (a.line === b.line && a.column < b.column);
}

function within(r: { start: Position; end: Position }, p: Position): boolean {
  return !before(p, r.start) && before(p, r.end);
}

/**
 * The code-lens title of a function: its locks in acquisition order, `→` meaning "taken
 * while the previous one is held", e.g. `locks: Catalog.load (read) → Catalog.load (write)`.
 */
export function lockSummaryTitle(fn: FunctionSummary, analysis: FileAnalysis, builder: LockGraphBuilder): string | undefined {
  const own = analysis.acquisitions
    .filter((a) => fn.acquisitions.includes(a.id))
    .sort((a, b) => (before(a.range.start, b.range.start) ? -1 : before(b.range.start, a.range.start) ? 1 : 0));
  interface Item {
    start: Position;
    text: string;
    heldBy: Acquisition[];
  }
  const items: Item[] = [];
  for (const a of own) {
    const heldBy = own.filter((o) => o !== a && before(o.range.start, a.range.start) && o.held.some((h) => within(h, a.range.start)));
    items.push({ start: a.range.start, text: `${a.lock} (${a.mode})`, heldBy });
  }
  for (const call of fn.calls) {
    if (call.heldGuards.length === 0) continue;
    const heldBy = own.filter((o) => call.heldGuards.includes(o.id));
    for (const t of builder.locksOfCall(fn, call)) {
      const chain = (t.via.length > 0 ? t.via : [call.name]).map((f) => `${f.split('::').pop()}()`).join(' › ');
      items.push({ start: call.range.start, text: `${t.lock} (${t.mode}) via ${chain}`, heldBy });
    }
  }
  if (items.length === 0) return undefined;
  items.sort((a, b) => (before(a.start, b.start) ? -1 : before(b.start, a.start) ? 1 : 0));
  const parts: string[] = [];
  items.forEach((item, i) => {
    if (i === 0) parts.push(item.text);
    else parts.push(`${item.heldBy.length > 0 ? ' → ' : ', '}${item.text}`);
  });
  return `locks: ${parts.join('')}`;
}
