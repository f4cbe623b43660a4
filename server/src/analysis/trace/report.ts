// The run report: plain JSON built from a TraceModel (the shape documented in docs/protocol.md,
// "locklens run report (JSON)"), its text rendering, and the one-line live summaries.

import { distribution, type TraceEvent, type TraceModel, type TraceStats } from './model';
import type { ClassRef, Held, Holder, LastAcquire, LockRef, Site, ThreadRef } from './wire';

export const REPORT_VERSION = 1;

export interface ReportSite {
  file: string;
  line: number;
  col: number;
  /** Absolute path of `file` when `locklens run` found it (rustc's paths are relative to the package). */
  path?: string;
}
export interface ReportThread {
  id: number;
  name: string | null;
  osTid: number | null;
  pid: number;
}
export interface ReportLock {
  /** Lock instance id (per process); null when only the class is known. */
  id: number | null;
  classId: number;
  kind: string;
  name: string | null;
  created: ReportSite;
  /** `"ODB"`, or `std.mutex@src/a.rs:3` for unnamed classes. */
  label: string;
}
export interface ReportHolder {
  thread: ReportThread;
  mode: string;
  site: ReportSite;
  sinceMs: number;
}
export interface ReportDeadlock {
  pid: number;
  tMs: number;
  /** What the hook did: `report` (threads stay blocked) or `abort`. */
  action: string;
  /** The cycle can end by itself (a timed wait is part of it). */
  timed: boolean;
  cycle: Array<{
    thread: ReportThread;
    holds: Array<{ lock: ReportLock; mode: string; site: ReportSite; sinceMs: number }>;
    waitsFor: { lock: ReportLock; mode: string; site: ReportSite; sinceMs: number; timed: boolean };
    heldBy: number[];
    backtrace: string | null;
  }>;
}
export interface ReportEdge {
  thread: ReportThread;
  tMs: number;
  from: { lock: ReportLock; mode: string; site: ReportSite };
  to: { lock: ReportLock; mode: string; site: ReportSite };
}
export interface ReportInversion {
  pid: number;
  locks: [ReportLock, ReportLock];
  /** First time A was held while B was acquired, and the reverse. */
  ab: ReportEdge;
  ba: ReportEdge;
}
export interface ReportStall {
  pid: number;
  tMs: number;
  thread: ReportThread;
  lock: ReportLock;
  mode: string;
  site: ReportSite;
  waitedMs: number;
  holders: ReportHolder[];
  last: { thread: ReportThread; mode: string; site: ReportSite } | null;
}
export interface ReportDistribution {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}
export interface ReportLockClass {
  pid: number;
  lock: ReportLock;
  acquisitions: number;
  contended: number;
  tryFailed: number;
  waitMsTotal: number;
  waitMsMax: number;
  /** `wait` events (contended acquisitions announced as they happened). */
  waitEvents: number;
  stalls: number;
  deadlocks: number;
  sites: Array<{ site: ReportSite; mode: string; acquisitions: number; contended: number; tryFailed: number; wait: ReportDistribution; hold: ReportDistribution }>;
  /** Holders and waiters as last observed, per lock instance of the class that had any. */
  instances: Array<{
    id: number;
    holders: Array<ReportHolder & { forMs: number }>;
    holdersAsOfMs: number | null;
    /** `holders` is the complete list as of `holdersAsOfMs` (the hook's snapshots list every held lock). */
    holdersCurrent: boolean;
    waiters: Array<{ thread: ReportThread; mode: string; site: ReportSite; sinceMs: number; forMs: number; state: string; timed: boolean }>;
    last: { thread: ReportThread; mode: string; site: ReportSite } | null;
  }>;
}
export interface RunReport {
  version: 1;
  program: { argv: string[]; exitCode: number | null; signal: string | null; durationMs: number };
  /** `exited` (normally or not), `deadlock` (reported, then ended by locklens), `timeout`, `spawn-error`. */
  outcome: 'exited' | 'deadlock' | 'timeout' | 'spawn-error';
  /** Exit status of `locklens run`. */
  exitCode: number;
  processes: Array<{ pid: number; program: string; startUnixMs: number; onDeadlock: string; stallMs: number; hookDropped: number; snapshots: number }>;
  deadlocks: ReportDeadlock[];
  orderInversions: ReportInversion[];
  orderCycles: Array<{ pid: number; tMs: number; edges: ReportEdge[] }>;
  /** Every lock-order edge seen (first sighting of each class pair), in arrival order. */
  edges: ReportEdge[];
  stalls: ReportStall[];
  locks: ReportLockClass[];
  stream: TraceStats & { connections: { accepted: number; refused: number; closed: Record<string, number> } };
}

const ms = (ns: number) => Math.round(ns) / 1e6;
const site = (s: Site): ReportSite => ({ file: s.file, line: s.line, col: s.col });

export function siteLabel(s: ReportSite | Site): string {
  return `${s.file}:${s.line}:${s.col}`;
}

class Builder {
  constructor(private m: TraceModel) {}
  pid(process: string): number {
    return this.m.processes.get(process)?.pid ?? Number(process.split('@')[0]);
  }
  thread(process: string, t: ThreadRef | number): ReportThread {
    const id = typeof t === 'number' ? t : t.id;
    const known = this.m.thread(process, id);
    const name = typeof t === 'number' ? (known?.name ?? null) : (t.name ?? known?.name ?? null);
    const osTid = typeof t === 'number' ? (known?.osTid ?? null) : (t.os_tid ?? known?.osTid ?? null);
    return { id, name, osTid, pid: this.pid(process) };
  }
  classLock(c: ClassRef, id: number | null): ReportLock {
    return { id, classId: c.id, kind: c.kind, name: c.name, created: site(c.created), label: c.name !== null ? c.name : `${c.kind}@${c.created.file}:${c.created.line}` };
  }
  lock(l: LockRef): ReportLock {
    return this.classLock(l.class, l.id);
  }
  holder(process: string, h: Holder): ReportHolder {
    return { thread: this.thread(process, h.thread), mode: h.mode, site: site(h.site), sinceMs: h.since_ms };
  }
  last(process: string, l: LastAcquire | null) {
    return l === null ? null : { thread: this.thread(process, l.thread), mode: l.mode, site: site(l.site) };
  }
  edge(process: string, e: { thread: ThreadRef; t_ms?: number; tMs?: number; from: { lock: LockRef; mode: string; site: Site }; to: { lock: LockRef; mode: string; site: Site } }): ReportEdge {
    return {
      thread: this.thread(process, e.thread),
      tMs: e.tMs ?? e.t_ms ?? 0,
      from: { lock: this.lock(e.from.lock), mode: e.from.mode, site: site(e.from.site) },
      to: { lock: this.lock(e.to.lock), mode: e.to.mode, site: site(e.to.site) },
    };
  }
}

export interface ReportInput {
  argv: string[];
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  outcome: RunReport['outcome'];
  runExitCode: number;
  connections?: { accepted: number; refused: number; closed: Record<string, number> };
  /** Lock classes listed (most contended first). */
  topLocks?: number;
}

export function buildReport(m: TraceModel, input: ReportInput): RunReport {
  const b = new Builder(m);
  const deadlocks: ReportDeadlock[] = m.deadlocks.map(({ process, msg }) => ({
    pid: b.pid(process),
    tMs: msg.t_ms,
    action: msg.action,
    timed: msg.cycle.some((n) => n.timed),
    cycle: msg.cycle.map((n) => ({
      thread: b.thread(process, n.thread),
      holds: n.holds.map((h: Held) => ({ lock: b.lock(h.lock), mode: h.mode, site: site(h.site), sinceMs: h.since_ms })),
      waitsFor: { lock: b.lock(n.waits_for), mode: n.mode, site: site(n.site), sinceMs: n.wait_since_ms, timed: n.timed },
      heldBy: n.held_by,
      backtrace: n.backtrace,
    })),
  }));
  const orderInversions: ReportInversion[] = m.inversions.map((inv) => {
    const ab = b.edge(inv.process, inv.ab);
    const ba = b.edge(inv.process, inv.ba);
    return { pid: b.pid(inv.process), locks: [ab.from.lock, ab.to.lock], ab, ba };
  });
  const orderCycles = m.orderCycles.map(({ process, msg }) => ({ pid: b.pid(process), tMs: msg.t_ms, edges: msg.edges.map((e) => b.edge(process, e)) }));
  const stalls: ReportStall[] = m.stalls.map(({ process, msg }) => ({
    pid: b.pid(process),
    tMs: msg.t_ms,
    thread: b.thread(process, msg.thread),
    lock: b.lock(msg.lock),
    mode: msg.mode,
    site: site(msg.site),
    waitedMs: msg.waited_ms,
    holders: msg.holders.map((h) => b.holder(process, h)),
    last: b.last(process, msg.last),
  }));
  const locks: ReportLockClass[] = [];
  const sitesBy = new Map<string, ReturnType<TraceModel['sitesOfClass']>>();
  for (const st of m.sites.values()) (sitesBy.get(st.classKey) ?? sitesBy.set(st.classKey, []).get(st.classKey)!).push(st);
  const locksBy = new Map<string, ReturnType<TraceModel['locksOfClass']>>();
  for (const l of m.locks.values()) if (l.holders.length > 0 || l.waiters.length > 0 || l.last !== null) (locksBy.get(l.classKey) ?? locksBy.set(l.classKey, []).get(l.classKey)!).push(l);
  for (const c of m.classes.values()) {
    const sites = sitesBy.get(c.key) ?? [];
    const now = m.processes.get(c.process)?.lastMs ?? 0;
    const instances = (locksBy.get(c.key) ?? []).slice(0, 100).map((l) => ({
      id: l.id,
      holders: l.holders.map((h) => ({ ...b.holder(c.process, h), forMs: Math.max(0, now - h.since_ms) })),
      holdersAsOfMs: l.holdersAsOfMs,
      holdersCurrent: l.holdersCurrent,
      waiters: l.waiters.map((w) => ({ thread: b.thread(c.process, w.thread), mode: w.mode, site: site(w.site), sinceMs: w.sinceMs, forMs: Math.max(0, now - w.sinceMs), state: w.state, timed: w.timed })),
      last: b.last(c.process, l.last),
    }));
    const sum = (f: (s: (typeof sites)[number]) => number) => sites.reduce((a, s) => a + f(s), 0);
    const dist = (d: ReturnType<typeof distribution>): ReportDistribution => ({ samples: d.samples, p50Ms: ms(d.p50Ns), p99Ms: ms(d.p99Ns), maxMs: ms(d.maxNs), meanMs: ms(d.meanNs) });
    locks.push({
      pid: b.pid(c.process),
      lock: b.classLock({ id: c.id, kind: c.kind, name: c.name, created: c.created }, null),
      acquisitions: sum((s) => s.acquisitions),
      contended: sum((s) => s.contended),
      tryFailed: sum((s) => s.tryFailed),
      waitMsTotal: ms(sum((s) => s.waitNsTotal)),
      waitMsMax: ms(sites.reduce((a, s) => Math.max(a, s.waitNsMax), 0)),
      waitEvents: c.waits,
      stalls: c.stalls,
      deadlocks: c.deadlocks,
      sites: sites
        .sort((x, y) => y.waitNsTotal - x.waitNsTotal || y.contended - x.contended || y.acquisitions - x.acquisitions)
        .map((s) => ({
          site: site(s.site),
          mode: s.mode,
          acquisitions: s.acquisitions,
          contended: s.contended,
          tryFailed: s.tryFailed,
          wait: dist(distribution(s.waitHist, s.contended, s.waitNsTotal, s.waitNsMax)),
          hold: dist(distribution(s.holdHist, s.holdSamples, s.holdNsTotal, s.holdNsMax)),
        })),
      instances,
    });
  }
  locks.sort((x, y) => y.deadlocks - x.deadlocks || y.stalls - x.stalls || y.waitMsTotal - x.waitMsTotal || y.contended - x.contended || y.waitEvents - x.waitEvents || y.acquisitions - x.acquisitions);
  return {
    version: REPORT_VERSION,
    program: { argv: input.argv, exitCode: input.exitCode, signal: input.signal, durationMs: input.durationMs },
    outcome: input.outcome,
    exitCode: input.runExitCode,
    processes: [...m.processes.values()].map((p) => ({ pid: p.pid, program: p.program, startUnixMs: p.startUnixMs, onDeadlock: p.config.on_deadlock, stallMs: p.config.stall_ms, hookDropped: p.hookDropped, snapshots: p.snapshots })),
    deadlocks,
    orderInversions,
    orderCycles,
    edges: [...m.edges.values()].map((e) => b.edge(e.process, e)),
    stalls,
    locks: input.topLocks === undefined ? locks : locks.slice(0, input.topLocks),
    stream: { ...m.stats, connections: input.connections ?? { accepted: 0, refused: 0, closed: {} } },
  };
}

// ---------------------------------------------------------------------------
// Text

function threadText(t: ReportThread | ThreadRef): string {
  return t.name !== null && t.name !== undefined ? `thread #${t.id} "${clean(t.name)}"` : `thread #${t.id}`;
}

function lockText(l: ReportLock): string {
  return l.name !== null ? `"${clean(l.name)}" (${l.kind})` : `${l.kind} created at ${l.created.file}:${l.created.line}`;
}

/** Control characters from the debuggee never reach the terminal raw. */
function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The program's own frames of a Rust backtrace: without the hook's frames (`locklens::`) and the
 * thread start-up below `__rust_begin_short_backtrace`; at most 24 lines.
 */
export function userFrames(bt: string): string[] {
  const lines = bt.split('\n');
  const frames: string[][] = [];
  for (const l of lines) {
    if (/^\s*\d+: /.test(l) || frames.length === 0) frames.push([l]);
    else frames[frames.length - 1].push(l);
  }
  const out: string[] = [];
  for (const f of frames) {
    const name = f[0].replace(/^\s*\d+:\s*/, '');
    if (/__rust_begin_short_backtrace|^std::rt::lang_start/.test(name)) break;
    if (/^(locklens::|<locklens::)/.test(name)) continue;
    out.push(...f.map((x) => x.trimEnd()));
  }
  return (out.length > 0 ? out : lines).slice(0, 24);
}

/** How the text report names a site (set per call of reportText). */
let siteName: (s: ReportSite) => string = (s) => s.file;

function cleanSite(s: ReportSite): string {
  return clean(`${siteName(s)}:${s.line}:${s.col}`);
}

function fmtMs(v: number): string {
  if (v >= 1000) return `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)} s`;
  if (v >= 1) return `${v.toFixed(v >= 100 ? 0 : 1)} ms`;
  if (v >= 0.001) return `${(v * 1000).toFixed(v >= 0.1 ? 0 : 1)} µs`;
  return `${Math.round(v * 1e6)} ns`;
}

export interface TextOptions {
  /** The file name to print for a site (e.g. its resolved `path` relative to the working directory); default `site.file`. */
  siteFile?: (s: ReportSite) => string;
}

export function reportText(r: RunReport, opts: TextOptions = {}): string {
  siteName = opts.siteFile ?? ((s) => s.file);
  try {
    return renderText(r);
  } finally {
    siteName = (s) => s.file;
  }
}

function renderText(r: RunReport): string {
  const out: string[] = [];
  // every line is cleaned as a whole: nothing the debuggee sent reaches the terminal raw
  const line = (s = '') => out.push(clean(s));
  line('');
  line(`locklens run report: ${r.outcome === 'deadlock' ? 'DEADLOCK' : r.outcome === 'timeout' ? 'TIMEOUT' : r.outcome === 'spawn-error' ? 'could not start the program' : `program exited (${r.program.signal ?? r.program.exitCode})`}`);
  if (r.processes.length === 0 && r.outcome !== 'spawn-error') line('  no LockLens hook connected: does the program use the `locklens` crate\'s locks (locklens::sync)?');
  for (const d of r.deadlocks) {
    line('');
    line(`DEADLOCK in pid ${d.pid} at ${d.tMs} ms: ${d.cycle.length === 1 ? 'a thread waits for a lock it holds itself' : `wait-for cycle of ${d.cycle.length} threads`}${d.timed ? ' (a timed wait is part of it: it ends by timeout)' : ''}`);
    for (const n of d.cycle) {
      line(`  ${threadText(n.thread)}${n.thread.osTid !== null ? ` [tid ${n.thread.osTid}]` : ''}`);
      for (const h of n.holds) line(`      holds    ${lockText(h.lock)} ${h.mode}, acquired at ${cleanSite(h.site)}`);
      line(`      waits on ${lockText(n.waitsFor.lock)} ${n.waitsFor.mode} at ${cleanSite(n.waitsFor.site)}${n.waitsFor.timed ? ' (timed)' : ''}, held by ${n.heldBy.map((t) => `#${t}`).join(', ') || '?'}`);
      if (n.backtrace) for (const b of userFrames(n.backtrace)) line(`        ${clean(b)}`);
    }
  }
  if (r.orderInversions.length > 0) {
    line('');
    line(`Lock-order inversions (${r.orderInversions.length}): both orders were taken at runtime, a potential deadlock`);
    for (const inv of r.orderInversions) {
      const e = (x: ReportEdge) => `${threadText(x.thread)} held ${lockText(x.from.lock)} (${cleanSite(x.from.site)}) while taking ${lockText(x.to.lock)} (${cleanSite(x.to.site)})`;
      line(`  ${inv.locks[0].label} <-> ${inv.locks[1].label}`);
      line(`    ${e(inv.ab)}`);
      line(`    ${e(inv.ba)}`);
    }
  }
  const pairKey = (a: ReportLock, b: ReportLock, pid: number) => `${pid}:${Math.min(a.classId, b.classId)}:${Math.max(a.classId, b.classId)}`;
  const pairs = new Set(r.orderInversions.map((i) => pairKey(i.locks[0], i.locks[1], i.pid)));
  for (const c of r.orderCycles) {
    // two-class cycles are the inversions listed above
    if (c.edges.length === 2 && pairs.has(pairKey(c.edges[0].from.lock, c.edges[0].to.lock, c.pid))) continue;
    line('');
    line(`Lock-order cycle of ${c.edges.length} (pid ${c.pid}):`);
    for (const e of c.edges) line(`  ${e.from.lock.label} (${cleanSite(e.from.site)}) -> ${e.to.lock.label} (${cleanSite(e.to.site)}) by ${threadText(e.thread)}`);
  }
  if (r.stalls.length > 0) {
    line('');
    line(`Stalls (${r.stalls.length}): waits longer than the stall threshold`);
    for (const s of r.stalls.slice(0, 20)) {
      const who = s.holders.length > 0 ? `held by ${s.holders.map((h) => `${threadText(h.thread)} (${h.mode} at ${cleanSite(h.site)}, for ~${fmtMs(Math.max(0, s.tMs - h.sinceMs))})`).join(', ')}` : s.last ? `no holder at scan time; last acquired by ${threadText(s.last.thread)} at ${cleanSite(s.last.site)}` : 'holder unknown';
      line(`  ${threadText(s.thread)} waited ${fmtMs(s.waitedMs)} for ${lockText(s.lock)} ${s.mode} at ${cleanSite(s.site)}; ${who}`);
    }
    if (r.stalls.length > 20) line(`  … ${r.stalls.length - 20} more`);
  }
  const contended = r.locks.filter((l) => l.contended > 0 || l.waitEvents > 0 || l.stalls > 0);
  line('');
  if (contended.length === 0) line(r.locks.length > 0 ? `No contention on ${r.locks.length} lock class${r.locks.length === 1 ? '' : 'es'}.` : 'No lock activity reported.');
  else {
    line('Top contended locks:');
    for (const l of contended.slice(0, 10)) {
      const still = l.instances.reduce((a, i) => a + i.waiters.length, 0);
      const parts = [`${l.acquisitions} acquisition${l.acquisitions === 1 ? '' : 's'}`];
      if (l.contended > 0) parts.push(`${l.contended} waited (${fmtMs(l.waitMsTotal)} in all, max ${fmtMs(l.waitMsMax)})`);
      if (l.stalls) parts.push(`${l.stalls} stall${l.stalls === 1 ? '' : 's'}`);
      if (l.deadlocks) parts.push('DEADLOCKED');
      else if (still) parts.push(`${still} still waiting at the end`);
      line(`  ${lockText(l.lock)}: ${parts.join(', ')}`);
      for (const s of l.sites.filter((x) => x.contended > 0).slice(0, 5)) {
        line(`    ${cleanSite(s.site)} ${s.mode}: ${s.contended}/${s.acquisitions} waited, wait p50 ${fmtMs(s.wait.p50Ms)} p99 ${fmtMs(s.wait.p99Ms)} max ${fmtMs(s.wait.maxMs)}${s.hold.samples ? `; hold p50 ${fmtMs(s.hold.p50Ms)} p99 ${fmtMs(s.hold.p99Ms)} max ${fmtMs(s.hold.maxMs)}` : ''}`);
      }
    }
  }
  const st = r.stream;
  const problems = [
    st.rejectedTotal ? `${st.rejectedTotal} rejected message(s): ${Object.entries(st.rejected).map(([k, v]) => `${k} ${v}`).join(', ')}` : '',
    Object.keys(st.dropped).length ? `model caps hit: ${Object.entries(st.dropped).map(([k, v]) => `${k} ${v}`).join(', ')}` : '',
    r.processes.some((p) => p.hookDropped > 0) ? `the hook dropped ${r.processes.reduce((a, p) => a + p.hookDropped, 0)} message(s)` : '',
    st.connections.refused ? `${st.connections.refused} connection(s) refused` : '',
  ].filter(Boolean);
  if (problems.length) line(`note: ${problems.join('; ')}`);
  return out.join('\n') + '\n';
}

/** A compact line for the live summary, or undefined when the event is not worth a line. */
export function liveLine(m: TraceModel, e: TraceEvent): string | undefined {
  const l = rawLiveLine(m, e);
  return l === undefined ? undefined : clean(l);
}

function rawLiveLine(m: TraceModel, e: TraceEvent): string | undefined {
  const label = (l: LockRef) => (l.class.name !== null ? `"${clean(l.class.name)}"` : `${l.class.kind}@${clean(l.class.created.file)}:${l.class.created.line}`);
  const s = (x: Site) => clean(siteLabel(x));
  switch (e.kind) {
    case 'contention': {
      if (!e.firstForClass) return undefined;
      const w = e.msg;
      const who = w.holders.length ? w.holders.map((h) => `${threadText(h.thread)} (${h.mode} at ${s(h.site)})`).join(', ') : w.last ? `last ${threadText(w.last.thread)} at ${s(w.last.site)}` : '?';
      return `locklens: contention on ${label(w.lock)}: ${threadText(w.thread)} waits (${w.mode}) at ${s(w.site)}, held by ${who}`;
    }
    case 'inversion': {
      const { ab, ba } = e.inversion;
      return `locklens: lock-order inversion ${label(ab.from.lock)} -> ${label(ab.to.lock)} (${s(ab.to.site)}) and ${label(ba.from.lock)} -> ${label(ba.to.lock)} (${s(ba.to.site)})`;
    }
    case 'stall': {
      const x = e.msg;
      const who = x.holders.length ? x.holders.map((h) => `${threadText(h.thread)} (${h.mode} at ${s(h.site)}, for ~${fmtMs(Math.max(0, x.t_ms - h.since_ms))})`).join(', ') : x.last ? `nobody now; last ${threadText(x.last.thread)} at ${s(x.last.site)}` : '?';
      return `locklens: STALL ${threadText(x.thread)} waiting ${x.waited_ms} ms for ${label(x.lock)} (${x.mode}) at ${s(x.site)}, held by ${who}`;
    }
    case 'deadlock':
      return `locklens: DEADLOCK ${e.msg.cycle.map((n) => `${threadText(n.thread)} waits for ${label(n.waits_for)} at ${s(n.site)}`).join('; ')}`;
    case 'order-cycle':
      if (e.msg.edges.length === 2 && m.inversions.some((i) => i.process === e.process && new Set([i.ab.fromClass, i.ab.toClass, m.classKey(e.process, e.msg.edges[0].from.lock.class.id), m.classKey(e.process, e.msg.edges[0].to.lock.class.id)]).size === 2)) return undefined;
      return `locklens: lock-order cycle ${e.msg.edges.map((x) => `${label(x.from.lock)} -> ${label(x.to.lock)}`).join(', ')}`;
    default:
      return undefined;
  }
}
