// The Lock Panel's model: plain data derived from the trace model (pure: no vscode, no I/O).
//
// Everything here comes from the debuggee and is hostile: names and paths are kept as data and
// only ever escaped by the renderer (render.ts) or set as text by the webview.

import { buildReport, type ReportSite, type ReportThread, type RunReport, type TraceModel } from '../../../server/src/analysis/trace';

export interface PanelSite {
  /** Index into PanelModel.sites (what the webview sends back to open it). */
  i: number;
  file: string;
  line: number;
  col: number;
  /** Absolute path when the site was found on disk. */
  path?: string;
  /** `file:line`. */
  label: string;
}

export interface PanelThread {
  id: number;
  pid: number;
  name: string | null;
  /** `name #id`, or `#id`. */
  label: string;
}

export interface PanelHolder {
  thread: PanelThread;
  mode: string;
  site: number;
  forMs: number;
}

export interface PanelWaiter extends PanelHolder {
  state: string;
  timed: boolean;
}

export interface PanelLock {
  /** `pid/classId`. */
  key: string;
  pid: number;
  label: string;
  kind: string;
  name: string | null;
  created: number;
  holders: PanelHolder[];
  waiters: PanelWaiter[];
  last: { thread: PanelThread; mode: string; site: number } | null;
  /** Acquisitions, plus the waits still going on. */
  acquisitions: number;
  /** Acquisitions that had to wait (finished or still waiting). */
  contended: number;
  /** contended / acquisitions, in percent (0 when never acquired). */
  contentionPct: number;
  waitP99Ms: number;
  holdP99Ms: number;
  /** Measured waits and sampled holds behind the p99s (0: no data yet). */
  waitSamples: number;
  holdSamples: number;
  waitMsTotal: number;
  stalls: number;
  deadlocks: number;
  /** Part of a reported deadlock. */
  inCycle: boolean;
}

export interface PanelCycleNode {
  thread: PanelThread;
  waitsFor: string;
  waitsForKey: string;
  waitSite: number;
  waitSinceMs: number;
  holds: Array<{ lock: string; lockKey: string; site: number; mode: string }>;
  heldBy: number[];
}

export interface PanelCycle {
  pid: number;
  tMs: number;
  action: string;
  timed: boolean;
  nodes: PanelCycleNode[];
}

export interface PanelInversion {
  a: string;
  b: string;
  ab: { thread: PanelThread; fromSite: number; toSite: number };
  ba: { thread: PanelThread; fromSite: number; toSite: number };
}

/** A lock-order cycle of three or more classes (two-class ones are inversions). */
export interface PanelOrderCycle {
  steps: Array<{ from: string; to: string; thread: PanelThread; fromSite: number; toSite: number }>;
}

export interface GraphNode {
  id: string;
  kind: 'thread' | 'lock';
  label: string;
  inCycle: boolean;
}

export interface GraphEdge {
  from: string;
  to: string;
  /** `waits` (thread → lock) or `holds` (lock → thread: held by). */
  kind: 'waits' | 'holds';
  inCycle: boolean;
}

export interface PanelModel {
  title: string;
  /** `live` while the session runs, `ended`, or `replay` for an opened trace. */
  state: 'live' | 'ended' | 'replay';
  processes: Array<{ pid: number; program: string }>;
  locks: PanelLock[];
  cycles: PanelCycle[];
  inversions: PanelInversion[];
  orderCycles: PanelOrderCycle[];
  graph: { nodes: GraphNode[]; edges: GraphEdge[] };
  sites: PanelSite[];
  stats: { received: number; accepted: number; rejected: number; dropped: number };
}

export type SiteResolver = (file: string) => string | undefined;

export function threadLabel(t: { id: number; name: string | null }): string {
  return t.name !== null && t.name !== '' ? `${t.name} #${t.id}` : `#${t.id}`;
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

/** Builds the panel model from a trace model. `resolve` maps a rustc path to an absolute file. */
export function buildPanelModel(m: TraceModel, opts: { title: string; state: PanelModel['state']; resolve?: SiteResolver; maxLocks?: number }): PanelModel {
  const report = buildReport(m, { argv: [], exitCode: null, signal: null, durationMs: 0, outcome: 'exited', runExitCode: 0 });
  return panelModelFromReport(report, opts);
}

export function panelModelFromReport(report: RunReport, opts: { title: string; state: PanelModel['state']; resolve?: SiteResolver; maxLocks?: number }): PanelModel {
  const sites: PanelSite[] = [];
  const siteIndex = new Map<string, number>();
  const site = (s: ReportSite): number => {
    const key = `${s.file}\u0000${s.line}\u0000${s.col}`;
    const known = siteIndex.get(key);
    if (known !== undefined) return known;
    const i = sites.length;
    const path = s.path ?? opts.resolve?.(s.file);
    sites.push({ i, file: s.file, line: s.line, col: s.col, ...(path ? { path } : {}), label: `${s.file}:${s.line}` });
    siteIndex.set(key, i);
    return i;
  };
  const thread = (t: ReportThread): PanelThread => ({ id: t.id, pid: t.pid, name: t.name, label: threadLabel(t) });
  const lockKey = (pid: number, classId: number) => `${pid}/${classId}`;

  const cycleLocks = new Set<string>();
  const cycles: PanelCycle[] = report.deadlocks.map((d) => ({
    pid: d.pid,
    tMs: d.tMs,
    action: d.action,
    timed: d.timed,
    nodes: d.cycle.map((n) => {
      const wk = lockKey(d.pid, n.waitsFor.lock.classId);
      cycleLocks.add(wk);
      return {
        thread: thread(n.thread),
        waitsFor: n.waitsFor.lock.label,
        waitsForKey: wk,
        waitSite: site(n.waitsFor.site),
        waitSinceMs: n.waitsFor.sinceMs,
        holds: n.holds.map((h) => ({ lock: h.lock.label, lockKey: lockKey(d.pid, h.lock.classId), site: site(h.site), mode: h.mode })),
        heldBy: n.heldBy,
      };
    }),
  }));

  const all = report.locks.map((c): PanelLock => {
    const key = lockKey(c.pid, c.lock.classId);
    const holders: PanelHolder[] = [];
    const waiters: PanelWaiter[] = [];
    let last: PanelLock['last'] = null;
    for (const inst of c.instances) {
      // The hook's snapshots list every held lock (`holdersCurrent`): those holders are shown
      // whether or not anyone waits, with how long they have held it so far. Without that (tokio
      // locks, older hooks) holders are known only from waits: while someone still waits, they
      // still hold; once nobody waits, the waiter got the lock, so they released it: then they
      // are history, shown as the last holder.
      const current = inst.holdersCurrent || inst.waiters.length > 0;
      if (current) for (const h of inst.holders) holders.push({ thread: thread(h.thread), mode: h.mode, site: site(h.site), forMs: h.forMs });
      for (const w of inst.waiters) waiters.push({ thread: thread(w.thread), mode: w.mode, site: site(w.site), forMs: w.forMs, state: w.state, timed: w.timed });
      if (inst.last && !last) last = { thread: thread(inst.last.thread), mode: inst.last.mode, site: site(inst.last.site) };
    }
    const maxOf = (f: (s: (typeof c.sites)[number]) => number) => c.sites.reduce((a, s) => Math.max(a, f(s)), 0);
    const sumOf = (f: (s: (typeof c.sites)[number]) => number) => c.sites.reduce((a, s) => a + f(s), 0);
    // Snapshot counters count a contended acquisition when it ends; waits still going on (a
    // deadlock) are known from the `wait` events and the waiters list.
    const contended = Math.max(c.contended + waiters.length, c.waitEvents);
    const acquisitions = Math.max(c.acquisitions + waiters.length, contended);
    return {
      key,
      pid: c.pid,
      label: c.lock.label,
      kind: c.lock.kind,
      name: c.lock.name,
      created: site(c.lock.created),
      holders,
      waiters,
      last,
      acquisitions,
      contended,
      contentionPct: acquisitions > 0 ? round((100 * contended) / acquisitions) : 0,
      waitP99Ms: round(maxOf((s) => s.wait.p99Ms)),
      holdP99Ms: round(maxOf((s) => s.hold.p99Ms)),
      waitSamples: sumOf((s) => s.wait.samples),
      holdSamples: sumOf((s) => s.hold.samples),
      waitMsTotal: c.waitMsTotal,
      stalls: c.stalls,
      deadlocks: c.deadlocks,
      inCycle: cycleLocks.has(key),
    };
  });
  const locks = opts.maxLocks !== undefined ? all.slice(0, opts.maxLocks) : all;

  const inversions: PanelInversion[] = report.orderInversions.map((inv) => ({
    a: inv.locks[0].label,
    b: inv.locks[1].label,
    ab: { thread: thread(inv.ab.thread), fromSite: site(inv.ab.from.site), toSite: site(inv.ab.to.site) },
    ba: { thread: thread(inv.ba.thread), fromSite: site(inv.ba.from.site), toSite: site(inv.ba.to.site) },
  }));

  const orderCycles: PanelOrderCycle[] = report.orderCycles
    .filter((c) => new Set(c.edges.map((e) => e.from.lock.classId)).size > 2)
    .map((c) => ({ steps: c.edges.map((e) => ({ from: e.from.lock.label, to: e.to.lock.label, thread: thread(e.thread), fromSite: site(e.from.site), toSite: site(e.to.site) })) }));

  return {
    title: opts.title,
    state: opts.state,
    processes: report.processes.map((p) => ({ pid: p.pid, program: p.program })),
    locks,
    cycles,
    inversions,
    orderCycles,
    graph: waitForGraph(locks, cycles),
    sites,
    stats: {
      received: report.stream.received,
      accepted: report.stream.accepted,
      rejected: report.stream.rejectedTotal,
      dropped: Object.values(report.stream.dropped).reduce((a, b) => a + b, 0) + report.processes.reduce((a, p) => a + p.hookDropped, 0),
    },
  };
}

/**
 * The wait-for graph: threads and locks; `thread → lock` when the thread waits for the lock,
 * `lock → thread` when the thread holds it. Edges and nodes of a reported deadlock are marked.
 */
export function waitForGraph(locks: PanelLock[], cycles: PanelCycle[]): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, GraphEdge>();
  const tId = (t: PanelThread) => `t:${t.pid}/${t.id}`;
  const lId = (key: string) => `l:${key}`;
  const node = (id: string, kind: GraphNode['kind'], label: string, inCycle: boolean) => {
    const n = nodes.get(id);
    if (n) n.inCycle ||= inCycle;
    else nodes.set(id, { id, kind, label, inCycle });
  };
  const edge = (from: string, to: string, kind: GraphEdge['kind'], inCycle: boolean) => {
    const k = `${from}\u0000${to}\u0000${kind}`;
    const e = edges.get(k);
    if (e) e.inCycle ||= inCycle;
    else edges.set(k, { from, to, kind, inCycle });
  };
  for (const c of cycles) {
    for (const n of c.nodes) {
      node(tId(n.thread), 'thread', n.thread.label, true);
      node(lId(n.waitsForKey), 'lock', n.waitsFor, true);
      edge(tId(n.thread), lId(n.waitsForKey), 'waits', true);
    }
    // holder edges of the cycle: the lock each node waits for is held by the next node's thread
    for (let i = 0; i < c.nodes.length; i++) {
      const n = c.nodes[i];
      const next = c.nodes[(i + 1) % c.nodes.length];
      edge(lId(n.waitsForKey), tId(next.thread), 'holds', true);
    }
  }
  for (const l of locks) {
    if (l.holders.length === 0 && l.waiters.length === 0) continue;
    node(lId(l.key), 'lock', l.label, l.inCycle);
    for (const h of l.holders) {
      node(tId(h.thread), 'thread', h.thread.label, false);
      edge(lId(l.key), tId(h.thread), 'holds', false);
    }
    for (const w of l.waiters) {
      node(tId(w.thread), 'thread', w.thread.label, false);
      edge(tId(w.thread), lId(l.key), 'waits', w.state === 'deadlocked' && l.inCycle);
    }
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}

export type SortKey = 'label' | 'holder' | 'waiters' | 'last' | 'contention' | 'waitP99' | 'holdP99';

/** Sorted copy of the locks: locks in a deadlock always first, then by `key`. */
export function sortLocks(locks: PanelLock[], key: SortKey, descending: boolean): PanelLock[] {
  const val = (l: PanelLock): number | string => {
    switch (key) {
      case 'label':
        return l.label.toLowerCase();
      case 'holder':
        return l.holders.reduce((a, h) => Math.max(a, h.forMs), l.holders.length ? 0 : -1);
      case 'waiters':
        return l.waiters.length * 1e9 + l.waiters.reduce((a, w) => Math.max(a, w.forMs), 0);
      case 'last':
        return l.last ? l.last.thread.label.toLowerCase() : '';
      case 'contention':
        return l.contentionPct;
      case 'waitP99':
        return l.waitSamples ? l.waitP99Ms : -1;
      case 'holdP99':
        return l.holdSamples ? l.holdP99Ms : -1;
    }
  };
  const dir = descending ? -1 : 1;
  return locks
    .map((l, i) => ({ l, i, v: val(l) }))
    .sort((x, y) => {
      if (x.l.inCycle !== y.l.inCycle) return x.l.inCycle ? -1 : 1;
      const c = x.v < y.v ? -1 : x.v > y.v ? 1 : 0;
      return c !== 0 ? c * dir : x.i - y.i;
    })
    .map((x) => x.l);
}

/** `1.2s`, `15ms`, `0.3ms`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms >= 10_000) return `${Math.round(ms / 1000)}s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms >= 10) return `${Math.round(ms)}ms`;
  if (ms >= 1) return `${ms.toFixed(1)}ms`;
  if (ms === 0) return '0ms';
  return `${ms < 0.01 ? ms.toFixed(3) : ms.toFixed(2)}ms`;
}

export interface SiteDecoration {
  path: string;
  line: number;
  text: string;
  /** Part of a deadlock (drawn in the error colour). */
  alert: boolean;
}

/**
 * Text after each acquisition site with something to say: `held 12ms p99 · waits 3ms p99`, and
 * for deadlocked waits who holds the lock. Only sites found on disk.
 */
export function siteDecorations(report: RunReport, resolve: SiteResolver): SiteDecoration[] {
  const out = new Map<string, SiteDecoration & { parts: string[] }>();
  const at = (s: ReportSite) => {
    const path = s.path ?? resolve(s.file);
    if (!path) return undefined;
    const k = `${path}\u0000${s.line}`;
    let d = out.get(k);
    if (!d) out.set(k, (d = { path, line: s.line, text: '', alert: false, parts: [] }));
    return d;
  };
  for (const d of report.deadlocks) {
    for (const n of d.cycle) {
      const x = at(n.waitsFor.site);
      if (!x) continue;
      const holder = d.cycle.find((o) => n.heldBy.includes(o.thread.id));
      x.alert = true;
      x.parts.unshift(`deadlock: ${threadLabel(n.thread)} waits for ${n.waitsFor.lock.label}${holder ? ` held by ${threadLabel(holder.thread)}` : ''}`);
    }
  }
  for (const c of report.locks) {
    for (const s of c.sites) {
      const x = at(s.site);
      if (!x) continue;
      const bits: string[] = [];
      if (s.hold.samples > 0) bits.push(`held ${formatMs(s.hold.p99Ms)} p99`);
      if (s.contended > 0) bits.push(`waits ${formatMs(s.wait.p99Ms)} p99 (${s.contended}/${s.acquisitions})`);
      if (bits.length === 0 && s.acquisitions > 0) bits.push(`${s.acquisitions}× uncontended`);
      if (bits.length) x.parts.push(bits.join(' · '));
    }
  }
  return [...out.values()]
    .filter((d) => d.parts.length > 0)
    .map((d) => ({ path: d.path, line: d.line, text: d.parts.join(' · '), alert: d.alert }));
}
