// What the lock graph reports from its edges: re-entry through calls (double-lock), lock-order
// cycles and their findings, and violations of a declared hierarchy. Pure functions of the
// evidence, shared by every build of the graph.

import { sameRange } from '../declarations';
import type { Finding, RelatedLocation, Severity } from '../model';
import { conflictOf, modeConflict } from '../rules/double-lock';
import type { Evidence, LockCycle, LockEdge, LockGraphInput } from './types';
import { compareText } from '../sorted';

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

/** `list` without its first element that `is` picks. */
function withoutFirst<T>(list: T[], is: (x: T) => boolean): T[] {
  const at = list.findIndex(is);
  return at < 0 ? list : [...list.slice(0, at), ...list.slice(at + 1)];
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
export function reentryFinding(ev: Evidence, receiverText: string | undefined, input: LockGraphInput): Finding | undefined {
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
  cycles.sort((a, b) => a.edges.length - b.edges.length || compareText(a.locks.join(), b.locks.join()));
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

export function tarjan(nodes: string[], succ: (v: string) => string[]): string[][] {
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

export function cycleFindings(cycles: LockCycle[], _input: LockGraphInput): Finding[] {
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
      // The first call of the chain can sit in another function (a closure handed to the
      // lock holder), so the location comes from the call itself.
      const file = ev.calls.length > 0 ? ev.calls[0].file : ev.inner.file;
      const range = ev.calls.length > 0 ? ev.calls[0].range : ev.inner.range;
      out.push({
        rule: 'lock-order-inversion',
        severity: c.blocking ? 'error' : 'warning',
        file,
        range,
        message,
        // Every step of both orders, except the diagnostic's own place.
        related: withoutFirst(related, (r) => r.file === file && sameRange(r.range, range)),
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

export function hierarchyFindings(edges: LockEdge[], input: LockGraphInput): Finding[] {
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

export function dedupe(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const k = `${f.rule}|${f.file}|${f.range.start.line}:${f.range.start.column}|${f.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function applySeverities(findings: Finding[], sev: LockGraphInput['severities']): Finding[] {
  if (!sev) return findings;
  return findings.filter((f) => sev[f.rule] !== 'off').map((f) => (sev[f.rule] ? { ...f, severity: sev[f.rule] as Severity } : f));
}
