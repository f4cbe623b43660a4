// Pure (type-only imports): usable outside the language server, e.g. by the CLI.
//
// The lock-order graph served by `locklens/lockGraph` and summarised in code lenses,
// built from the engine's per-file results: an edge A -> B means "B is acquired while A
// is held", either directly in one function or through a chain of calls made while A is
// held (resolved from the function summaries). Cycles are potential deadlocks.

import type { FileAnalysis, FunctionSummary, CallSite } from '../analysis/api';
import type { Acquisition, Finding, GuardMode, Position, Range, RelatedLocation } from '../analysis/model';
import type { LockGraphEdge, LockGraphNode, LockGraphResult, LockGraphSite } from '../../../common/protocol';

/** Engine range (line, column) to protocol range (line, character). */
function toRange(r: Range): { start: { line: number; character: number }; end: { line: number; character: number } } {
  return { start: { line: r.start.line, character: r.start.column }, end: { line: r.end.line, character: r.end.column } };
}

function before(a: Position, b: Position): boolean {
  return a.line < b.line || (a.line === b.line && a.column < b.column);
}

function within(r: Range, p: Position): boolean {
  return !before(p, r.start) && !before(r.end, p);
}

/** Lock classes acquired by a function, directly or through its calls, with the call chain. */
export interface TransitiveLock {
  lock: string;
  mode: GuardMode;
  acquisition: Acquisition;
  /** Functions called to get there (empty when acquired directly). */
  via: string[];
}

const MAX_DEPTH = 8;
/** Sites kept per edge (and so findings per ordering): enough to act on, bounded for huge crates. */
const MAX_SITES_PER_EDGE = 50;

export class LockGraphBuilder {
  private readonly acquisitions = new Map<string, Acquisition>();
  private readonly functions: FunctionSummary[] = [];
  private readonly byName = new Map<string, FunctionSummary[]>();
  private readonly byQualified = new Map<string, FunctionSummary>();
  /** Functions by the last two segments of their qualified name (`Type::method`). */
  private readonly byTail = new Map<string, FunctionSummary[]>();
  private readonly resolved = new WeakMap<CallSite, FunctionSummary[]>();
  private transitive: Map<FunctionSummary, TransitiveLock[]> | undefined;
  private edgeCache: InternalEdge[] | undefined;

  constructor(
    analyses: readonly FileAnalysis[],
    private readonly levels: ReadonlyMap<string, number> = new Map(),
    private readonly reentrant: ReadonlySet<string> = new Set(),
  ) {
    for (const analysis of analyses) {
      for (const a of analysis.acquisitions) this.acquisitions.set(a.id, a);
      for (const f of analysis.functions) {
        this.functions.push(f);
        this.byQualified.set(f.qualifiedName, f);
        const tail = tailOf(f.qualifiedName);
        const sameTail = this.byTail.get(tail) ?? [];
        sameTail.push(f);
        this.byTail.set(tail, sameTail);
        const name = f.name ?? f.qualifiedName.split('::').filter((s) => !s.startsWith('{')).pop() ?? f.qualifiedName;
        const list = this.byName.get(name) ?? [];
        list.push(f);
        this.byName.set(name, list);
      }
    }
  }

  /** The function(s) a call may reach. Ambiguous unqualified method calls resolve to nothing. */
  resolve(caller: FunctionSummary, call: CallSite): FunctionSummary[] {
    const cached = this.resolved.get(call);
    if (cached) return cached;
    const result = this.resolveUncached(caller, call);
    this.resolved.set(call, result);
    return result;
  }

  private resolveUncached(caller: FunctionSummary, call: CallSite): FunctionSummary[] {
    const selfType =
      caller.selfType ?? (caller.qualifiedName.includes('::') ? caller.qualifiedName.split('::').filter((s) => !s.startsWith('{')).slice(0, -1).join('::') : undefined);
    const candidates: string[] = [];
    if (call.pathQualifier) {
      const qualifier = call.pathQualifier === 'Self' && selfType ? selfType : call.pathQualifier;
      candidates.push(`${qualifier}::${call.name}`);
    }
    if (call.receiverType) candidates.push(`${call.receiverType}::${call.name}`);
    if ((call.receiverText === 'self' || call.receiverText === 'Self') && selfType) candidates.push(`${selfType}::${call.name}`);
    for (const c of candidates) {
      const exact = this.byQualified.get(c);
      if (exact) return [exact];
      const suffix = (this.byTail.get(tailOf(c)) ?? []).filter((f) => f.qualifiedName.endsWith(`::${c}`) || c.endsWith(`::${f.qualifiedName}`));
      if (suffix.length === 1) return suffix;
    }
    const sameName = this.byName.get(call.name) ?? [];
    if (!call.receiverText && !call.pathQualifier) {
      const free = sameName.filter((f) => !f.qualifiedName.includes('::') || f.qualifiedName === call.calleeText);
      if (free.length === 1) return free;
    }
    return sameName.length === 1 && candidates.length === 0 && !call.receiverText ? sameName : [];
  }

  /** Every lock a function acquires, directly or through the functions it calls (with the call chain). */
  transitiveLocks(fn: FunctionSummary): TransitiveLock[] {
    if (!this.transitive) this.transitive = this.computeTransitive();
    return this.transitive.get(fn) ?? [];
  }

  /**
   * Transitive lock sets for all functions at once: strongly connected components of the
   * call graph (Tarjan, iterative), processed callees-first; inside a component the sets are
   * iterated to a fixpoint. Linear in calls × distinct locks, whatever the recursion.
   */
  private computeTransitive(): Map<FunctionSummary, TransitiveLock[]> {
    const fns = this.functions;
    const index = new Map<FunctionSummary, number>(fns.map((f, i) => [f, i]));
    const callees: number[][] = fns.map((f) =>
      f.calls.filter((c) => !c.deferred).flatMap((c) => this.resolve(f, c).map((g) => index.get(g)!)).filter((i) => i !== undefined),
    );
    const result = new Map<FunctionSummary, TransitiveLock[]>();
    const seen = new Map<FunctionSummary, Set<string>>();
    const own = (f: FunctionSummary) => {
      const list: TransitiveLock[] = [];
      const keys = new Set<string>();
      for (const id of f.acquisitions) {
        const a = this.acquisitions.get(id);
        if (!a || a.holder.kind === 'returned') continue;
        const key = `${a.lock}|${a.mode}`;
        if (keys.has(key)) continue;
        keys.add(key);
        list.push({ lock: a.lock, mode: a.mode, acquisition: a, via: [] });
      }
      result.set(f, list);
      seen.set(f, keys);
    };
    const absorb = (f: FunctionSummary, g: FunctionSummary): boolean => {
      let changed = false;
      const keys = seen.get(f)!;
      const list = result.get(f)!;
      for (const t of result.get(g) ?? []) {
        const key = `${t.lock}|${t.mode}`;
        if (keys.has(key) || t.via.length >= MAX_DEPTH) continue;
        keys.add(key);
        list.push({ ...t, via: [g.qualifiedName, ...t.via] });
        changed = true;
      }
      return changed;
    };
    // Iterative Tarjan.
    const order = new Array<number>(fns.length).fill(-1);
    const low = new Array<number>(fns.length).fill(0);
    const onStack = new Array<boolean>(fns.length).fill(false);
    const stack: number[] = [];
    let counter = 0;
    for (let root = 0; root < fns.length; root++) {
      if (order[root] !== -1) continue;
      const work: Array<[number, number]> = [[root, 0]];
      while (work.length > 0) {
        const frame = work[work.length - 1];
        const [v, next] = frame;
        if (next === 0 && order[v] === -1) {
          order[v] = low[v] = counter++;
          stack.push(v);
          onStack[v] = true;
        }
        if (next < callees[v].length) {
          frame[1]++;
          const w = callees[v][next];
          if (order[w] === -1) work.push([w, 0]);
          else if (onStack[w]) low[v] = Math.min(low[v], order[w]);
          continue;
        }
        work.pop();
        if (work.length > 0) {
          const parent = work[work.length - 1][0];
          low[parent] = Math.min(low[parent], low[v]);
        }
        if (low[v] === order[v]) {
          const component: number[] = [];
          let w: number;
          do {
            w = stack.pop()!;
            onStack[w] = false;
            component.push(w);
          } while (w !== v);
          // Callees outside the component are final already (emitted earlier).
          for (const m of component) own(fns[m]);
          let changed = true;
          while (changed) {
            changed = false;
            for (const m of component) {
              for (const c of callees[m]) if (absorb(fns[m], fns[c])) changed = true;
            }
          }
        }
      }
    }
    return result;
  }

  /** Locks taken by a call made at `call`, i.e. by the function(s) it resolves to. */
  locksOfCall(caller: FunctionSummary, call: CallSite): TransitiveLock[] {
    const out: TransitiveLock[] = [];
    if (call.deferred) return out;
    for (const callee of this.resolve(caller, call)) {
      for (const t of this.transitiveLocks(callee)) out.push({ ...t, via: [callee.qualifiedName, ...t.via] });
    }
    return out;
  }

  /** Every "B acquired while A is held" edge, with the sites that establish it. */
  edges(): InternalEdge[] {
    if (this.edgeCache) return this.edgeCache;
    const edges = new Map<string, InternalEdge>();
    const siteKeys = new Map<string, Set<string>>();
    const addEdge = (from: string, to: string, file: string, range: Range, makeSite: () => InternalSite) => {
      if (from === to) return; // re-locking the same class is the double-lock rule, not an ordering
      const key = `${from}\u0000${to}`;
      let edge = edges.get(key);
      if (!edge) {
        edge = { from, to, sites: [], siteCount: 0 };
        edges.set(key, edge);
        siteKeys.set(key, new Set());
      }
      const keys = siteKeys.get(key)!;
      const siteKey = `${file}:${range.start.line}:${range.start.column}`;
      if (keys.has(siteKey)) return;
      keys.add(siteKey);
      edge.siteCount++;
      if (edge.sites.length < MAX_SITES_PER_EDGE) edge.sites.push(makeSite());
    };
    // Direct nesting inside one function.
    const byFunction = new Map<string, Acquisition[]>();
    for (const a of this.acquisitions.values()) {
      const key = `${a.file}\u0000${a.functionName}`;
      const list = byFunction.get(key) ?? [];
      list.push(a);
      byFunction.set(key, list);
    }
    for (const list of byFunction.values()) {
      for (const outer of list) {
        for (const inner of list) {
          if (inner === outer || !before(outer.range.start, inner.range.start)) continue;
          if (!outer.held.some((h) => within(h, inner.range.start))) continue;
          addEdge(outer.lock, inner.lock, inner.file, inner.range, () => ({
            file: inner.file,
            range: inner.range,
            functionName: outer.functionName,
            via: [],
            held: outer,
            acquired: inner,
          }));
        }
      }
    }
    // Calls made while guards are held.
    for (const fn of this.functions) {
      for (const call of fn.calls) {
        if (call.heldGuards.length === 0 || call.deferred) continue;
        const held = call.heldGuards.map((id) => this.acquisitions.get(id)).filter((a): a is Acquisition => a !== undefined);
        for (const callee of this.resolve(fn, call)) {
          for (const t of this.transitiveLocks(callee)) {
            for (const h of held) {
              addEdge(h.lock, t.lock, fn.file, call.range, () => ({
                file: fn.file,
                range: call.range,
                functionName: fn.qualifiedName,
                via: [callee.qualifiedName, ...t.via],
                held: h,
                acquired: t.acquisition,
              }));
            }
          }
        }
      }
    }
    this.edgeCache = [...edges.values()].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
    return this.edgeCache;
  }

  cycles(): string[][] {
    return findCycles([...new Set([...this.acquisitions.values()].map((a) => a.lock))], this.edges());
  }

  build(uriOf: (file: string) => string | undefined, crates: string[]): LockGraphResult {
    const nodes = new Map<string, LockGraphNode>();
    for (const a of this.acquisitions.values()) {
      const node = nodes.get(a.lock) ?? {
        id: a.lock,
        flavor: a.lockType.flavor,
        kind: a.lockType.kind,
        acquisitions: 0,
        modes: [],
        ...(this.levels.has(a.lock) ? { level: this.levels.get(a.lock) } : {}),
      };
      node.acquisitions++;
      if (!node.modes.includes(a.mode)) node.modes.push(a.mode);
      nodes.set(a.lock, node);
    }
    const cycles = this.cycles();
    const inCycle = cycleEdgeKeys(cycles);
    const edges: LockGraphEdge[] = this.edges().map((e) => ({
      from: e.from,
      to: e.to,
      inCycle: inCycle.has(`${e.from}\u0000${e.to}`),
      sites: e.sites
        .map((s): LockGraphSite | undefined => {
          const uri = uriOf(s.file);
          return uri ? { uri, range: toRange(s.range), functionName: s.functionName, via: s.via } : undefined;
        })
        .filter((s): s is LockGraphSite => s !== undefined),
    }));
    return { crates, nodes: [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id)), edges, cycles };
  }

  /**
   * Findings that need the whole crate: `lock-order-inversion` at every site of an edge on a
   * cycle (related: the sites of the opposite order), and `lock-hierarchy` where a lock of a
   * lower declared level is taken while one of a higher level is held, and `double-lock`
   * where a call made while a guard is held re-acquires the same lock class.
   */
  findings(): Finding[] {
    const out: Finding[] = [];
    const edges = this.edges();
    const byKey = new Map(edges.map((e) => [`${e.from}\u0000${e.to}`, e]));
    const reported = new Set<string>();
    for (const cycle of this.cycles()) {
      const cycleEdges = cycle.map((from, i) => byKey.get(`${from}\u0000${cycle[(i + 1) % cycle.length]}`)!).filter(Boolean);
      const order = [...cycle, cycle[0]].map((c) => `\`${c}\``).join(' → ');
      for (const edge of cycleEdges) {
        for (const site of edge.sites) {
          const key = `${site.file}:${site.range.start.line}:${site.range.start.column}:${edge.from}:${edge.to}`;
          if (reported.has(key)) continue;
          reported.add(key);
          const related: RelatedLocation[] = [];
          for (const other of cycleEdges) {
            if (other === edge) continue;
            for (const o of other.sites.slice(0, 5)) {
              related.push({ file: o.file, range: o.range, message: `\`${other.to}\` is acquired while \`${other.from}\` is held (in ${describeSite(o)})` });
            }
          }
          related.push({ file: site.held.file, range: site.held.range, message: `\`${edge.from}\` is acquired here` });
          out.push({
            rule: 'lock-order-inversion',
            severity: 'error',
            file: site.file,
            range: site.range,
            message:
              `Lock-order inversion: \`${edge.to}\` is acquired while \`${edge.from}\` is held (in ${describeSite(site)}), ` +
              `but elsewhere the locks are taken in the opposite order (${order}); two threads can deadlock.`,
            related,
            fixes: [],
            acquisitions: [site.held.id, site.acquired.id],
          });
        }
      }
    }
    // Re-acquiring a held lock through a call chain (the engine reports the direct form).
    for (const fn of this.functions) {
      for (const call of fn.calls) {
        if (call.heldGuards.length === 0) continue;
        const locks = this.locksOfCall(fn, call);
        for (const id of call.heldGuards) {
          const held = this.acquisitions.get(id);
          if (!held || held.mode === 'reentrant' || held.lockType.kind === 'reentrant-mutex' || this.reentrant.has(held.lock)) continue;
          const again = locks.find((t) => t.lock === held.lock);
          if (!again) continue;
          const chain = again.via.map((v) => `\`${v}\``).join(' → ');
          const readRead = held.mode === 'read' && again.mode === 'read';
          out.push({
            rule: 'double-lock',
            severity: readRead ? 'warning' : 'error',
            file: fn.file,
            range: call.range,
            message: readRead
              ? `\`${held.lock}\` is read-locked again through ${chain} while this thread holds its read guard from line ${held.range.start.line + 1}; ` +
                'a writer queued in between makes both wait forever.'
              : `\`${held.lock}\` is locked again (${again.mode}) through ${chain} while this thread holds its ${held.mode} guard from line ` +
                `${held.range.start.line + 1}: this call deadlocks.`,
            related: [
              { file: held.file, range: held.range, message: `\`${held.lock}\` (${held.mode}) acquired here and still held at the call` },
              { file: again.acquisition.file, range: again.acquisition.range, message: `\`${held.lock}\` (${again.mode}) acquired again here` },
            ],
            fixes: [],
            acquisitions: [held.id, again.acquisition.id],
          });
        }
      }
    }
    for (const edge of edges) {
      const from = this.levels.get(edge.from);
      const to = this.levels.get(edge.to);
      if (from === undefined || to === undefined || to >= from) continue;
      for (const site of edge.sites) {
        out.push({
          rule: 'lock-hierarchy',
          severity: 'error',
          file: site.file,
          range: site.range,
          message:
            `Lock hierarchy violation: \`${edge.to}\` (level ${to}) is acquired while \`${edge.from}\` (level ${from}) is held ` +
            `(in ${describeSite(site)}); the declared order takes \`${edge.to}\` first.`,
          related: [{ file: site.held.file, range: site.held.range, message: `\`${edge.from}\` (level ${from}) is acquired here` }],
          fixes: [],
          acquisitions: [site.held.id, site.acquired.id],
        });
      }
    }
    return out;
  }
}

export interface InternalSite {
  /** Engine file key of the acquisition or call that takes the second lock. */
  file: string;
  range: Range;
  functionName: string;
  via: string[];
  held: Acquisition;
  acquired: Acquisition;
}

export interface InternalEdge {
  from: string;
  to: string;
  /** The first MAX_SITES_PER_EDGE sites in discovery order. */
  sites: InternalSite[];
  /** All distinct sites, including those not kept. */
  siteCount: number;
}

/** The last two path segments (`Type::method`), ignoring closure markers. */
function tailOf(qualified: string): string {
  return qualified.split('::').filter((s) => !s.startsWith('{')).slice(-2).join('::');
}

function describeSite(site: InternalSite): string {
  return site.via.length > 0 ? `\`${site.functionName}\` via ${site.via.map((v) => `\`${v}\``).join(' → ')}` : `\`${site.functionName}\``;
}

function cycleEdgeKeys(cycles: string[][]): Set<string> {
  const keys = new Set<string>();
  for (const cycle of cycles) {
    for (let i = 0; i < cycle.length; i++) keys.add(`${cycle[i]}\u0000${cycle[(i + 1) % cycle.length]}`);
  }
  return keys;
}

/** Elementary cycles (bounded: length <= 8, at most 100), each rotated to start at its smallest class. */
export function findCycles(nodes: readonly string[], edges: ReadonlyArray<{ from: string; to: string }>): string[][] {
  const adjacency = new Map<string, string[]>();
  for (const n of nodes) adjacency.set(n, []);
  for (const e of edges) {
    if (!adjacency.has(e.from)) adjacency.set(e.from, []);
    if (!adjacency.has(e.to)) adjacency.set(e.to, []);
    adjacency.get(e.from)!.push(e.to);
  }
  const sorted = [...adjacency.keys()].sort();
  const found = new Map<string, string[]>();
  for (const start of sorted) {
    // Only cycles whose smallest node is `start`: each cycle is found exactly once.
    const stack: string[] = [start];
    const onStack = new Set<string>([start]);
    const walk = (node: string): void => {
      if (found.size >= 100 || stack.length > 8) return;
      for (const next of adjacency.get(node) ?? []) {
        if (next === start) {
          const key = stack.join('\u0000');
          if (!found.has(key)) found.set(key, [...stack]);
        } else if (!onStack.has(next) && next > start) {
          stack.push(next);
          onStack.add(next);
          walk(next);
          onStack.delete(next);
          stack.pop();
        }
      }
    };
    walk(start);
  }
  return [...found.values()];
}

/** Declared hierarchy levels from `[package.metadata.locklens] order = [[..], [..]]`. */
export function hierarchyLevels(config: unknown): Map<string, number> {
  const levels = new Map<string, number>();
  const order = typeof config === 'object' && config !== null ? (config as Record<string, unknown>).order : undefined;
  if (!Array.isArray(order)) return levels;
  order.forEach((level, index) => {
    const classes = Array.isArray(level) ? level : [level];
    for (const c of classes) if (typeof c === 'string') levels.set(c, index);
  });
  return levels;
}

/**
 * The code-lens title of a function: its locks in acquisition order, `→` meaning "taken
 * while the previous one is held", e.g. `locks: Catalog.load (read) → Catalog.load (write)`.
 */
export function lockSummaryTitle(fn: FunctionSummary, analysis: FileAnalysis, builder: LockGraphBuilder): string | undefined {
  const own = analysis.acquisitions
    .filter((a) => fn.acquisitions.includes(a.id))
    .sort((a, b) => (before(a.range.start, b.range.start) ? -1 : before(b.range.start, a.range.start) ? 1 : 0));
  interface Item { start: Position; text: string; heldBy: Acquisition[] }
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
