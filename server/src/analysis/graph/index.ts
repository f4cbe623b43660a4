// The workspace lock-order graph: nodes are lock classes, an edge A -> B says "B was acquired
// while A was held", with every piece of evidence (outer acquisition, call chain, inner
// acquisition). From it: lock-order cycles, double locks through calls, and violations of a
// declared lock hierarchy. Plain data in, plain data out.

import type { CallSite, FileAnalysis, FileDeclarations, FunctionSummary } from '../api';
import type { Acquisition, Finding, GuardMode, RelatedLocation, RuleId, Severity } from '../model';
import { conflictOf, modeConflict } from '../rules/double-lock';
import { isAlive } from '../regions';
import { CallResolver, functionId, type FunctionNode } from './calls';

export { functionId } from './calls';

export interface LockGraphFile {
  crate: string;
  analysis: FileAnalysis;
  declarations: FileDeclarations;
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
  /** Functions that take locks (directly or through calls), with those locks. */
  functions: Array<{ id: string; name: string; file: string; range: Acquisition['range']; locks: Array<{ lock: string; mode: GuardMode; acquisition: string; via: string[] }> }>;
  /** For every call made under a guard: the functions it may reach (ids in `functions`). */
  heldCalls: Array<{ fn: string; call: number; callees: string[] }>;
}

interface Reach {
  acq: Acquisition;
  chain: CallStep[];
}

const MAX_CHAIN = 10;
const MAX_REACH_PER_LOCK = 2;

export function buildLockGraph(input: LockGraphInput): LockGraph {
  const acqs = new Map<string, Acquisition>();
  const fns: FunctionNode[] = [];
  for (const f of input.files) {
    for (const a of f.analysis.acquisitions) acqs.set(a.id, a);
    for (const s of f.analysis.functions) fns.push(toNode(f.crate, s));
  }
  // A call to a crate function that returns a guard was named after the function
  // (`Channel::lock_items()`) by the per-file analysis; the function's own summary says which
  // lock it returns, so use that class across the workspace.
  const returned = new Map<string, string>();
  for (const fn of fns) if (fn.summary.returnsGuard) returned.set(`${fn.summary.qualifiedName}()`, fn.summary.returnsGuard.lock);
  if (returned.size > 0) {
    for (const [id, a] of acqs) {
      const real = returned.get(a.lock);
      if (real) acqs.set(id, { ...a, lock: real });
    }
  }
  const resolver = new CallResolver(
    fns,
    input.files.map((f) => ({ crate: f.crate, declarations: f.declarations })),
  );

  // What each function acquires, directly or through its callees (first few chains per lock).
  // Computed over the call graph's strongly connected components in reverse topological order,
  // iterating to a fixpoint inside each component, so recursion is exact and linear overall.
  const reachOf = computeReach(fns, acqs, resolver);
  const reach = (fn: FunctionNode): Map<string, Reach[]> => reachOf.get(fn.id) ?? new Map();

  const edges = new Map<string, Map<string, LockEdge>>();
  const edgeList: LockEdge[] = [];
  const findings: Finding[] = [];
  /** The edge outer -> inner; undefined when it already has all the evidence it keeps. */
  const edgeFor = (outer: string, inner: string): LockEdge | undefined => {
    let row = edges.get(outer);
    if (!row) edges.set(outer, (row = new Map()));
    let e = row.get(inner);
    if (!e) {
      e = { from: outer, to: inner, evidence: [], inCycle: false };
      row.set(inner, e);
      edgeList.push(e);
    }
    return e.evidence.length < 8 ? e : undefined;
  };
  const addEdge = (ev: Evidence) => {
    const e = edgeFor(ev.outer.lock, ev.inner.lock);
    if (e && !e.evidence.some((x) => x.outer.id === ev.outer.id && x.inner.id === ev.inner.id)) e.evidence.push(ev);
  };

  for (const fn of fns) {
    const own = fn.summary.acquisitions.map((id) => acqs.get(id)).filter((a): a is Acquisition => !!a);
    // Direct nesting inside one function.
    for (const inner of own) {
      if (inner.isTry) continue;
      for (const outer of own) {
        if (outer === inner || outer.lock === inner.lock) continue;
        if (!isAlive(outer, inner.range.start)) continue;
        addEdge({ outer, calls: [], inner });
      }
    }
    // Closures handed to a callee that runs them under its own guards (`with_state(|s| ..)`).
    for (const call of fn.summary.calls) {
      if (!call.closureArgs || call.deferred) continue;
      for (const { callee, may } of resolver.resolve(fn, call)) {
        const step: CallStep = { file: fn.summary.file, range: call.range, caller: fn.summary.qualifiedName, callee: callee.summary.qualifiedName, calleeText: call.calleeText, may };
        for (const arg of call.closureArgs) {
          const runs = callee.summary.calls.filter((cc) => cc.paramIndex === arg.index && cc.heldGuards.length > 0);
          for (const run of runs) {
            const held = run.heldGuards.map((id) => acqs.get(id)).filter((a): a is Acquisition => !!a);
            const inners: Reach[] = arg.acquisitions.map((id) => acqs.get(id)).filter((a): a is Acquisition => !!a).map((acq) => ({ acq, chain: [] }));
            for (const k of arg.calls) {
              const inner = fn.summary.calls[k];
              if (!inner) continue;
              for (const r of resolver.resolve(fn, inner)) {
                const innerStep: CallStep = { file: fn.summary.file, range: inner.range, caller: fn.summary.qualifiedName, callee: r.callee.summary.qualifiedName, calleeText: inner.calleeText, may: r.may };
                for (const list of reach(r.callee).values()) for (const x of list) inners.push({ acq: x.acq, chain: [innerStep, ...x.chain] });
              }
            }
            for (const outer of held) {
              for (const inner of inners) {
                if (inner.acq.isTry) continue;
                const ev: Evidence = { outer, calls: [step, ...inner.chain], inner: inner.acq };
                if (outer.lock === inner.acq.lock) {
                  const f = reentryFinding(ev, 'self', input);
                  if (f) findings.push(f);
                } else addEdge(ev);
              }
            }
          }
        }
      }
    }
    // Nesting through calls made while guards are alive.
    const deferredHere = new Set(fn.summary.deferredAcquisitions ?? []);
    for (const call of fn.summary.calls) {
      if (call.heldGuards.length === 0) continue;
      // A call that runs later (in a spawned closure) is under the guards of that closure only.
      const held = call.heldGuards
        .filter((id) => !call.deferred || deferredHere.has(id))
        .map((id) => acqs.get(id))
        .filter((a): a is Acquisition => !!a);
      for (const { callee, may } of resolver.resolve(fn, call)) {
        const step: CallStep = { file: fn.summary.file, range: call.range, caller: fn.summary.qualifiedName, callee: callee.summary.qualifiedName, calleeText: call.calleeText, may };
        for (const [lock, list] of reach(callee)) {
          for (const outer of held) {
            if (outer.lock === lock) {
              // One re-entry finding per held guard and call: the shortest chain tells the story.
              const r = list.find((x) => !x.acq.isTry);
              const f = r ? reentryFinding({ outer, calls: [step, ...r.chain], inner: r.acq }, call.receiverText, input) : undefined;
              if (f) findings.push(f);
              continue;
            }
            // A try-lock inside does not wait, so it orders nothing; build the evidence only
            // while the edge still wants some.
            if (!list.some((x) => !x.acq.isTry)) continue;
            for (const r of list) {
              if (r.acq.isTry || !edgeFor(outer.lock, lock)) continue;
              addEdge({ outer, calls: [step, ...r.chain], inner: r.acq });
            }
          }
        }
      }
    }
  }

  const cycles = findCycles(edgeList, input.maxCycles ?? 50);
  for (const c of cycles) for (const e of c.edges) e.inCycle = true;
  findings.push(...cycleFindings(cycles, input));
  findings.push(...hierarchyFindings(edgeList, input));

  const nodes = new Map<string, LockNode>();
  for (const a of acqs.values()) {
    let n = nodes.get(a.lock);
    if (!n) {
      n = { id: a.lock, acquisitions: [], modes: [] };
      nodes.set(a.lock, n);
    }
    n.acquisitions.push(a);
    if (!n.modes.includes(a.mode)) n.modes.push(a.mode);
  }
  // Only functions that take a lock, directly or through calls: the others add nothing.
  const functions = fns
    .filter((fn) => reach(fn).size > 0)
    .map((fn) => ({
      id: fn.id,
      name: fn.summary.qualifiedName,
      file: fn.summary.file,
      range: fn.summary.nameRange,
      locks: [...reach(fn)].flatMap(([lock, list]) => list.slice(0, 1).map((r) => ({ lock, mode: r.acq.mode, acquisition: r.acq.id, via: r.chain.map((s) => s.callee) }))),
    }));
  const heldCalls = fns.flatMap((fn) =>
    fn.summary.calls.flatMap((call, index) => (call.heldGuards.length > 0 ? [{ fn: fn.id, call: index, callees: resolver.resolve(fn, call).map((r) => r.callee.id) }] : [])),
  );
  return { nodes: [...nodes.values()], edges: edgeList, cycles, findings: applySeverities(dedupe(findings), input.severities), functions, heldCalls };
}

function computeReach(fns: FunctionNode[], acqs: Map<string, Acquisition>, resolver: CallResolver): Map<string, Map<string, Reach[]>> {
  // Resolved, non-deferred call edges of every function.
  // Call edges; the step (for messages) is made only when a lock actually flows through it.
  interface CallEdge {
    callee: FunctionNode;
    caller: FunctionNode;
    call: CallSite;
    may: boolean;
    step?: CallStep;
  }
  const stepOf = (e: CallEdge): CallStep =>
    (e.step ??= { file: e.caller.summary.file, range: e.call.range, caller: e.caller.summary.qualifiedName, callee: e.callee.summary.qualifiedName, calleeText: e.call.calleeText, may: e.may });
  const out = new Map<string, CallEdge[]>();
  for (const fn of fns) {
    if (fn.summary.calls.length === 0) continue;
    const list: CallEdge[] = [];
    for (const call of fn.summary.calls) {
      if (call.deferred) continue;
      for (const { callee, may } of resolver.resolve(fn, call)) {
        if (callee.id !== fn.id) list.push({ callee, caller: fn, call, may });
      }
    }
    if (list.length > 0) out.set(fn.id, list);
  }
  const reach = new Map<string, Map<string, Reach[]>>();
  for (const fn of fns) {
    const m = new Map<string, Reach[]>();
    for (const id of fn.summary.acquisitions) {
      const a = acqs.get(id);
      if (a) addReach(m, a.lock, { acq: a, chain: [] });
    }
    reach.set(fn.id, m);
  }
  const merge = (into: Map<string, Reach[]>, from: Map<string, Reach[]>, edge: CallEdge): boolean => {
    if (from.size === 0) return false;
    const step = stepOf(edge);
    let changed = false;
    for (const [lock, list] of from) {
      for (const r of list) {
        if (r.chain.length >= MAX_CHAIN) continue;
        const before = into.get(lock)?.length ?? 0;
        addReach(into, lock, { acq: r.acq, chain: [step, ...r.chain] });
        if ((into.get(lock)?.length ?? 0) !== before) changed = true;
      }
    }
    return changed;
  };
  // Tarjan emits components callees-first: each one only needs finished successors.
  const sccs = tarjan(fns.map((f) => f.id), (id) => (out.get(id) ?? []).map((e) => e.callee.id));
  for (const comp of sccs) {
    const inComp = new Set(comp);
    for (const id of comp) {
      const mine = reach.get(id)!;
      for (const edge of out.get(id) ?? []) if (!inComp.has(edge.callee.id)) merge(mine, reach.get(edge.callee.id)!, edge);
    }
    if (comp.length === 1 && !(out.get(comp[0]) ?? []).some((e) => e.callee.id === comp[0])) continue;
    for (let changed = true, rounds = 0; changed && rounds < 64; rounds++) {
      changed = false;
      for (const id of comp) {
        const mine = reach.get(id)!;
        for (const edge of out.get(id) ?? []) if (inComp.has(edge.callee.id) && merge(mine, reach.get(edge.callee.id)!, edge)) changed = true;
      }
    }
  }
  return reach;
}

function toNode(crate: string, s: FunctionSummary): FunctionNode {
  return {
    id: functionId(s),
    crate,
    summary: s,
    name: s.name ?? s.qualifiedName.slice(s.qualifiedName.lastIndexOf(':') + 1),
    // Summaries from older producers carry only `Type::method`: take the type from there.
    selfType: s.selfType ?? (/^[A-Z]\w*::[a-z_]\w*$/.test(s.qualifiedName) ? s.qualifiedName.split('::')[0] : undefined),
    traitName: s.traitName,
    modulePath: s.modulePath ?? '',
  };
}

function addReach(m: Map<string, Reach[]>, lock: string, r: Reach): void {
  const list = m.get(lock);
  if (!list) m.set(lock, [r]);
  else if (list.length < MAX_REACH_PER_LOCK && !list.some((x) => x.acq.id === r.acq.id)) list.push(r);
}

function loc(file: string, line: number): string {
  return `${file}:${line + 1}`;
}

function chainWords(ev: Evidence): string {
  if (ev.calls.length === 0) return `in ${ev.outer.functionName} (${loc(ev.inner.file, ev.inner.range.start.line)})`;
  const first = ev.calls[0];
  const rest = ev.calls.slice(1).map((s) => `${s.callee}`);
  const via = rest.length > 0 ? `, then ${rest.join(' → ')}` : '';
  return `${first.caller} calls ${first.callee}${first.may ? ' (may: trait impl)' : ''} at ${loc(first.file, first.range.start.line)}${via}`;
}

function relatedFor(ev: Evidence, label: string): RelatedLocation[] {
  const out: RelatedLocation[] = [
    { file: ev.outer.file, range: ev.outer.range, message: `${label}\`${ev.outer.lock}\` (${ev.outer.mode}) acquired in ${ev.outer.functionName}` },
  ];
  for (const s of ev.calls) out.push({ file: s.file, range: s.range, message: `${label}${s.caller} calls ${s.callee}${s.may ? ' (one of its trait impls)' : ''} while holding it` });
  out.push({ file: ev.inner.file, range: ev.inner.range, message: `${label}\`${ev.inner.lock}\` (${ev.inner.mode}) acquired in ${ev.inner.functionName}` });
  return out;
}

/** A lock re-acquired through calls while its guard is alive. */
function reentryFinding(ev: Evidence, receiverText: string | undefined, input: LockGraphInput): Finding | undefined {
  const { outer, inner } = ev;
  const conflict = conflictOf(outer, inner, input.reentrant);
  if (conflict === 'none') return undefined;
  // Only when it is the same object: fields reached through `self` all the way, or a static.
  const viaSelf = ev.calls.every((s, i) => (i === 0 ? receiverText === 'self' || receiverText === undefined : true));
  const selfField = outer.receiverText.startsWith('self.') && inner.receiverText.startsWith('self.') && outer.receiverText === inner.receiverText;
  const staticLock = !outer.lock.includes('.') && /^[A-Z_][A-Z0-9_]*$/.test(outer.receiverText.replace(/^.*::/, ''));
  if (!((viaSelf && selfField) || staticLock)) return undefined;
  const call = ev.calls[0];
  const severity: Severity = conflict === 'read-read' ? 'warning' : 'error';
  const chain = ev.calls.map((s) => s.callee).join(' → ');
  const why =
    conflict === 'read-read'
      ? 'a second read lock blocks behind any writer that queued in between, so this can deadlock on writer-preferring RwLocks'
      : 'the lock is not reentrant, so this thread waits for itself forever';
  return {
    rule: 'double-lock',
    severity,
    file: call.file,
    range: call.range,
    message: `\`${outer.lock}\` (${outer.mode}) is held here (acquired at line ${outer.range.start.line + 1}) while \`${call.calleeText}(..)\` acquires it again (${inner.mode}) in ${inner.functionName} at ${loc(inner.file, inner.range.start.line)}${ev.calls.length > 1 ? ` via ${chain}` : ''}: ${why}.`,
    related: relatedFor(ev, ''),
    fixes: [],
    acquisitions: [outer.id, inner.id],
  };
}

/** Elementary cycles among the edges, shortest first (Tarjan SCCs, then a bounded search in each). */
export function findCycles(edges: LockEdge[], max: number): LockCycle[] {
  const adj = new Map<string, LockEdge[]>();
  for (const e of edges) {
    const l = adj.get(e.from);
    if (l) l.push(e);
    else adj.set(e.from, [e]);
  }
  const sccs = tarjan([...new Set(edges.flatMap((e) => [e.from, e.to]))], (v) => (adj.get(v) ?? []).map((e) => e.to));
  const cycles: LockCycle[] = [];
  const seen = new Set<string>();
  // Dense graphs have astronomically many simple paths: bound the search by steps as well as
  // by the number of cycles found (shortest cycles come first anyway: see the sort below).
  let budget = 200_000;
  for (const scc of sccs) {
    if (scc.length < 2) continue;
    const inScc = new Set(scc);
    // Bounded DFS from each node, keeping cycles whose smallest node is the start (each once).
    const ordered = [...scc].sort();
    for (const start of ordered) {
      const path: LockEdge[] = [];
      const onPath = new Set<string>([start]);
      const dfs = (v: string) => {
        if (cycles.length >= max * 4 || path.length >= 6 || budget <= 0) return;
        for (const e of adj.get(v) ?? []) {
          if (--budget <= 0) return;
          if (!inScc.has(e.to) || e.to < start) continue;
          if (e.to === start) {
            const locks = path.map((p) => p.from).concat(v);
            const key = locks.join('\u0000');
            if (!seen.has(key)) {
              seen.add(key);
              const cycEdges = [...path, e];
              cycles.push({ locks, edges: cycEdges, blocking: isBlocking(cycEdges) });
            }
            continue;
          }
          if (onPath.has(e.to)) continue;
          onPath.add(e.to);
          path.push(e);
          dfs(e.to);
          path.pop();
          onPath.delete(e.to);
        }
      };
      dfs(start);
    }
  }
  cycles.sort((a, b) => a.edges.length - b.edges.length || a.locks.join().localeCompare(b.locks.join()));
  return cycles.slice(0, max);
}

/** Each lock in the cycle must be wanted in a mode that conflicts with how the other thread holds it. */
function isBlocking(edges: LockEdge[]): boolean {
  for (let i = 0; i < edges.length; i++) {
    const wantedBy = edges[i];
    const heldBy = edges[(i + 1) % edges.length];
    const ok = wantedBy.evidence.some((w) => heldBy.evidence.some((h) => modeConflict(h.outer.mode, w.inner.mode, false) === 'deadlock'));
    if (!ok) return false;
  }
  return true;
}

function tarjan(nodes: string[], succ: (v: string) => string[]): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  // Iterative to survive huge graphs without blowing the JS stack.
  for (const root of nodes) {
    if (idx.has(root)) continue;
    const work: Array<{ v: string; i: number; succs: string[] }> = [];
    const push = (v: string) => {
      idx.set(v, index);
      low.set(v, index);
      index++;
      stack.push(v);
      onStack.add(v);
      work.push({ v, i: 0, succs: succ(v) });
    };
    push(root);
    while (work.length > 0) {
      const top = work[work.length - 1];
      if (top.i < top.succs.length) {
        const w = top.succs[top.i++];
        if (!idx.has(w)) push(w);
        else if (onStack.has(w)) low.set(top.v, Math.min(low.get(top.v)!, idx.get(w)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].v;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.v)!));
      }
      if (low.get(top.v) === idx.get(top.v)) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          comp.push(w);
        } while (w !== top.v);
        out.push(comp);
      }
    }
  }
  return out;
}

function cycleFindings(cycles: LockCycle[], _input: LockGraphInput): Finding[] {
  const out: Finding[] = [];
  for (const c of cycles) {
    const n = c.edges.length;
    for (let i = 0; i < n; i++) {
      const e = c.edges[i];
      const ev = bestEvidence(e);
      const others = c.edges.filter((_, j) => j !== i).map((o) => {
        const oe = bestEvidence(o);
        return `\`${o.from}\` → \`${o.to}\` ${oe.calls.length > 0 ? `in ${oe.outer.functionName} (${chainWords(oe)})` : `in ${oe.outer.functionName} (${loc(oe.inner.file, oe.inner.range.start.line)})`}`;
      });
      const here = ev.calls.length > 0 ? `(${chainWords(ev)})` : `(${ev.outer.functionName} takes \`${e.to}\` at ${loc(ev.inner.file, ev.inner.range.start.line)})`;
      const order = c.locks.concat(c.locks[0]).map((l) => `\`${l}\``).join(' → ');
      const message =
        `Lock-order inversion: \`${e.from}\` → \`${e.to}\` here ${here} but ${others.join(' and ')}. ` +
        `Two threads taking these paths at once deadlock (cycle ${order}). Take the locks in one global order, or release \`${e.from}\` before the call.` +
        (c.blocking ? '' : ' (All sides only read-lock, so this blocks only when a writer queues in between.)');
      const related: RelatedLocation[] = [];
      for (let j = 0; j < n; j++) {
        const oe = bestEvidence(c.edges[(i + j) % n]);
        related.push(...relatedFor(oe, j === 0 ? '' : `other order: `));
      }
      out.push({
        rule: 'lock-order-inversion',
        severity: c.blocking ? 'error' : 'warning',
        // The first call of the chain can sit in another function (a closure handed to the
        // lock holder), so the location comes from the call itself.
        file: ev.calls.length > 0 ? ev.calls[0].file : ev.inner.file,
        range: ev.calls.length > 0 ? ev.calls[0].range : ev.inner.range,
        message,
        related: related.slice(1),
        fixes: [],
        acquisitions: [ev.outer.id, ev.inner.id],
      });
    }
  }
  return out;
}

function bestEvidence(e: LockEdge): Evidence {
  return [...e.evidence].sort((a, b) => a.calls.length - b.calls.length)[0];
}

function hierarchyFindings(edges: LockEdge[], input: LockGraphInput): Finding[] {
  const order = input.order ?? [];
  if (order.length === 0) return [];
  const level = new Map<string, number>();
  order.forEach((names, i) => names.forEach((n) => level.set(n, i)));
  const levelOf = (lock: string): number | undefined => {
    if (level.has(lock)) return level.get(lock);
    // `Midas.odb` also matches a level entry `Midas.odb.*` style prefix written as `Midas.odb`.
    for (const [name, l] of level) if (lock.startsWith(`${name}.`)) return l;
    return undefined;
  };
  const out: Finding[] = [];
  for (const e of edges) {
    const a = levelOf(e.from);
    const b = levelOf(e.to);
    if (a === undefined || b === undefined || b > a) continue;
    for (const ev of e.evidence.slice(0, 3)) {
      const at = ev.calls.length > 0 ? { file: ev.calls[0].file, range: ev.calls[0].range } : { file: ev.inner.file, range: ev.inner.range };
      out.push({
        rule: 'lock-hierarchy',
        severity: 'error',
        file: at.file,
        range: at.range,
        message: `\`${e.to}\` (level ${b + 1}) is acquired while \`${e.from}\` (level ${a + 1}) is held ${ev.calls.length > 0 ? `(${chainWords(ev)})` : `in ${ev.outer.functionName}`}: the declared lock order${input.orderSource ? ` in ${input.orderSource}` : ''} says \`${e.to}\` must be taken ${b === a ? 'never together with' : 'before'} \`${e.from}\`.`,
        related: relatedFor(ev, ''),
        fixes: [],
        acquisitions: [ev.outer.id, ev.inner.id],
      });
    }
  }
  return out;
}

function dedupe(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const k = `${f.rule}|${f.file}|${f.range.start.line}:${f.range.start.column}|${f.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function applySeverities(findings: Finding[], sev: LockGraphInput['severities']): Finding[] {
  if (!sev) return findings;
  return findings.filter((f) => sev[f.rule] !== 'off').map((f) => (sev[f.rule] ? { ...f, severity: sev[f.rule] as Severity } : f));
}
