// The live trace model: folds the runtime hook's message stream (from a socket or a recorded
// trace) into plain data: who holds and who waits for each lock, the last acquirer, per-site
// counters and wait/hold distributions, lock-order edges and inversions, stalls and deadlocks.
//
// Plain data in, plain data out: no I/O, no Node or editor types. Input is hostile: every message
// is validated (`ingestValue`/`ingestLine`) and rejected with a counted reason when malformed;
// every collection is capped and what does not fit is counted in `stats.dropped`.
//
// The hook sends no acquire/release events (that would cost more than the lock), so holders are
// known from the moments they are observed: each `wait`, `stall` and `deadlock` carries the
// holders of the lock at that time, and every `snapshot` (from hooks that send its `holders`)
// lists all the locks held at its time, so uncontended holders show up too and a lock it does not
// list is free; `holdersAsOfMs` says when, and `holdersCurrent` that the list is complete.
//
// A wait ends when the waiting thread is seen doing something else (a later wait, or a lock-order
// edge, which is sent when the thread acquires), or when no `stall` came for it by the time it
// would have (stall_ms plus scan intervals): then it lasted less than stall_ms.

import { DurationHistogram } from './hist';
import {
  DEFAULT_WIRE_LIMITS,
  parseWireLine,
  validateMessage,
  type ClassRef,
  type CycleNode,
  type DeadlockMsg,
  type EdgeEnd,
  type EdgeMsg,
  type HelloMsg,
  type Holder,
  type LastAcquire,
  type LockRef,
  type OrderCycleMsg,
  type Site,
  type SnapshotMsg,
  type StallMsg,
  type ThreadRef,
  type Validation,
  type WaitMsg,
  type WireLimits,
  type WireMessage,
} from './wire';

export interface TraceLimits extends WireLimits {
  maxProcesses: number;
  maxThreads: number;
  maxClasses: number;
  maxLocks: number;
  /** (class, site, mode) counter rows. */
  maxSites: number;
  maxEdges: number;
  maxStalls: number;
  maxDeadlocks: number;
  maxOrderCycles: number;
  /** Holders / waiters remembered per lock. */
  maxPerLock: number;
  /** Recent accepted messages kept for a timeline. */
  maxRecent: number;
  /** Distinct rejection reasons kept (others are counted under `other`). */
  maxReasons: number;
}

export const DEFAULT_TRACE_LIMITS: TraceLimits = {
  ...DEFAULT_WIRE_LIMITS,
  maxProcesses: 64,
  maxThreads: 10_000,
  maxClasses: 10_000,
  maxLocks: 50_000,
  maxSites: 50_000,
  maxEdges: 20_000,
  maxStalls: 1_000,
  maxDeadlocks: 100,
  maxOrderCycles: 200,
  maxPerLock: 64,
  maxRecent: 2_000,
  maxReasons: 64,
};

export interface ProcessInfo {
  /** Model-wide key (`pid@start_unix_ms`), prefix of every lock/class key of this process. */
  key: string;
  pid: number;
  program: string;
  startUnixMs: number;
  config: HelloMsg['config'];
  connections: number;
  /** Latest `t_ms` seen. */
  lastMs: number;
  threadsAlive: number;
  /** Messages the hook itself lost (snapshot.dropped). */
  hookDropped: number;
  snapshots: number;
}

export interface ThreadInfo {
  process: string;
  id: number;
  name: string | null;
  osTid: number | null;
}

export interface ClassInfo {
  process: string;
  key: string;
  id: number;
  kind: string;
  name: string | null;
  created: Site;
  waits: number;
  stalls: number;
  deadlocks: number;
}

export type WaiterState = 'waiting' | 'stalled' | 'deadlocked';

export interface Waiter {
  thread: ThreadRef;
  mode: string;
  site: Site;
  sinceMs: number;
  timed: boolean;
  state: WaiterState;
  /** Waited so far, when a stall or deadlock said so. */
  waitedMs?: number;
  /** Latest message that showed this wait still going. */
  confirmedMs: number;
}

export interface LockState {
  process: string;
  key: string;
  id: number;
  classKey: string;
  /** Holders as last observed (at `holdersAsOfMs`). */
  holders: Holder[];
  holdersAsOfMs: number | null;
  /**
   * The holders list is complete as of `holdersAsOfMs`: the process's snapshots list every held
   * lock (hooks that send `snapshot.holders`; never for tokio locks, whose holders are tasks).
   * Otherwise holders are only known from waits, stalls and deadlocks.
   */
  holdersCurrent: boolean;
  last: LastAcquire | null;
  lastAsOfMs: number | null;
  waiters: Waiter[];
  waits: number;
  stalls: number;
}

export interface Distribution {
  samples: number;
  p50Ns: number;
  p99Ns: number;
  maxNs: number;
  meanNs: number;
}

export interface SiteStats {
  process: string;
  classKey: string;
  site: Site;
  mode: string;
  acquisitions: number;
  contended: number;
  tryFailed: number;
  waitNsTotal: number;
  waitNsMax: number;
  holdSamples: number;
  holdNsTotal: number;
  holdNsMax: number;
  /** Wait and hold distributions, estimated from per-snapshot deltas (bucket resolution ~9%). */
  waitHist: DurationHistogram;
  holdHist: DurationHistogram;
}

export interface EdgeRecord {
  process: string;
  fromClass: string;
  toClass: string;
  tMs: number;
  thread: ThreadRef;
  from: EdgeEnd;
  to: EdgeEnd;
}

export interface OrderInversion {
  process: string;
  /** A→B as first seen, and B→A as first seen. */
  ab: EdgeRecord;
  ba: EdgeRecord;
}

export interface StallRecord {
  process: string;
  msg: StallMsg;
}

export interface DeadlockRecord {
  process: string;
  msg: DeadlockMsg;
}

export interface OrderCycleRecord {
  process: string;
  msg: OrderCycleMsg;
}

export interface TraceStats {
  /** Lines/values offered to the model. */
  received: number;
  accepted: number;
  /** Malformed or unsupported messages, by reason. */
  rejected: Record<string, number>;
  rejectedTotal: number;
  /** Well-formed messages of a type this version does not know (ignored, as the protocol says). */
  ignored: Record<string, number>;
  ignoredTotal: number;
  /** Unknown fields or enum values seen (kept out of the model). */
  unknownFields: Record<string, number>;
  /** Strings/arrays cut to the limits. */
  truncated: number;
  /** Things the model had no room for, by cap. */
  dropped: Record<string, number>;
  /** A few recent rejection details, for diagnostics. */
  lastRejections: string[];
}

export type TraceEvent =
  | { kind: 'hello'; process: ProcessInfo }
  | { kind: 'contention'; process: string; msg: WaitMsg; firstForClass: boolean }
  | { kind: 'edge'; process: string; edge: EdgeRecord }
  | { kind: 'inversion'; process: string; inversion: OrderInversion }
  | { kind: 'order-cycle'; process: string; msg: OrderCycleMsg }
  | { kind: 'stall'; process: string; msg: StallMsg }
  | { kind: 'deadlock'; process: string; msg: DeadlockMsg }
  | { kind: 'snapshot'; process: string; msg: SnapshotMsg };

function siteKey(s: Site): string {
  return `${s.file}:${s.line}:${s.col}`;
}

export class TraceModel {
  readonly limits: TraceLimits;
  readonly processes = new Map<string, ProcessInfo>();
  readonly threads = new Map<string, ThreadInfo>();
  readonly classes = new Map<string, ClassInfo>();
  readonly locks = new Map<string, LockState>();
  readonly sites = new Map<string, SiteStats>();
  readonly edges = new Map<string, EdgeRecord>();
  readonly inversions: OrderInversion[] = [];
  readonly orderCycles: OrderCycleRecord[] = [];
  readonly stalls: StallRecord[] = [];
  readonly deadlocks: DeadlockRecord[] = [];
  readonly recent: Array<{ process: string; msg: WireMessage }> = [];
  readonly stats: TraceStats = { received: 0, accepted: 0, rejected: {}, rejectedTotal: 0, ignored: {}, ignoredTotal: 0, unknownFields: {}, truncated: 0, dropped: {}, lastRejections: [] };
  /** Connection (source) → process key, set by its hello. */
  private sources = new Map<string | number, string>();
  private deadlockKeys = new Set<string>();
  /** Thread (`process/tID`) → locks it is listed as waiting for. */
  private waitingOn = new Map<string, Set<LockState>>();
  private listeners: Array<(e: TraceEvent) => void> = [];

  constructor(limits: Partial<TraceLimits> = {}) {
    this.limits = { ...DEFAULT_TRACE_LIMITS, ...limits };
  }

  /** Calls `fn` for every notable event as it is ingested (live summaries, UI refresh). */
  onEvent(fn: (e: TraceEvent) => void): () => void {
    this.listeners.push(fn);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== fn);
    };
  }

  /** One line of the stream (without `\n`) from connection `source`. Never throws. */
  ingestLine(line: string, source: string | number = 0): Validation {
    this.stats.received++;
    const v = parseWireLine(line, this.limits);
    this.apply(v, source);
    return v;
  }

  /** One parsed JSON value from connection `source`. Never throws. */
  ingestValue(value: unknown, source: string | number = 0): Validation {
    this.stats.received++;
    const v = validateMessage(value, this.limits);
    this.apply(v, source);
    return v;
  }

  /** Counts a message that never reached the validator (the transport rejected it). */
  reject(reason: string, detail = reason): void {
    this.stats.received++;
    this.countRejection(reason, detail);
  }

  /** The process a connection speaks for (after its hello). */
  processOf(source: string | number): ProcessInfo | undefined {
    const k = this.sources.get(source);
    return k === undefined ? undefined : this.processes.get(k);
  }

  private countRejection(reason: string, detail: string): void {
    this.stats.rejectedTotal++;
    this.bump(this.stats.rejected, reason);
    if (this.stats.lastRejections.length >= 10) this.stats.lastRejections.shift();
    this.stats.lastRejections.push(detail.slice(0, 200));
  }

  private bump(rec: Record<string, number>, key: string): void {
    const own = (k: string) => Object.prototype.hasOwnProperty.call(rec, k);
    if (!own(key) && Object.keys(rec).length >= this.limits.maxReasons) key = 'other';
    // keys can come from the program (`type`): `__proto__` or `constructor` must stay plain keys
    Object.defineProperty(rec, key, { value: (own(key) ? rec[key] : 0) + 1, writable: true, enumerable: true, configurable: true });
  }

  private drop(what: string): void {
    this.bump(this.stats.dropped, what);
  }

  private emit(e: TraceEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // a failing listener must not break ingestion
      }
    }
  }

  /** A message already parsed and validated (by the listener). Never throws. */
  ingestValidated(v: Validation, source: string | number = 0): void {
    this.stats.received++;
    this.apply(v, source);
  }

  private apply(v: Validation, source: string | number): void {
    try {
      if (!v.ok) {
        if (v.status === 'unknown-type') {
          this.stats.ignoredTotal++;
          this.bump(this.stats.ignored, v.type ?? '?');
        } else {
          this.countRejection(v.reason, v.detail);
        }
        return;
      }
      for (const u of v.unknown) this.bump(this.stats.unknownFields, `${v.msg.type}.${u.replace(/\[\d+\]/g, '[]')}`);
      this.stats.truncated += v.truncated.length;
      const msg = v.msg;
      if (msg.type === 'hello') {
        this.hello(msg, source);
        this.stats.accepted++;
        return;
      }
      const pk = this.sources.get(source);
      const proc = pk === undefined ? undefined : this.processes.get(pk);
      if (!proc) {
        this.countRejection('before hello', `${msg.type} before hello on connection ${String(source)}`);
        return;
      }
      this.stats.accepted++;
      if ('t_ms' in msg && msg.t_ms > proc.lastMs) proc.lastMs = msg.t_ms;
      if (this.recent.length >= this.limits.maxRecent) this.recent.shift();
      this.recent.push({ process: proc.key, msg });
      switch (msg.type) {
        case 'wait':
          return this.wait(proc, msg);
        case 'edge':
          return this.edge(proc, msg);
        case 'order_cycle':
          return this.orderCycle(proc, msg);
        case 'stall':
          return this.stall(proc, msg);
        case 'deadlock':
          return this.deadlock(proc, msg);
        case 'snapshot':
          return this.snapshot(proc, msg);
      }
    } catch (e) {
      // Defensive: the model must survive anything a valid-looking message implies.
      this.countRejection('internal', `model error: ${String(e).slice(0, 160)}`);
    }
  }

  private hello(msg: HelloMsg, source: string | number): void {
    const key = `${msg.pid}@${msg.start_unix_ms}`;
    let p = this.processes.get(key);
    if (!p) {
      if (this.processes.size >= this.limits.maxProcesses) {
        this.drop('processes');
        return;
      }
      p = { key, pid: msg.pid, program: msg.program, startUnixMs: msg.start_unix_ms, config: msg.config, connections: 0, lastMs: 0, threadsAlive: 0, hookDropped: 0, snapshots: 0 };
      this.processes.set(key, p);
    }
    p.connections++;
    if (this.sources.size >= this.limits.maxProcesses * 4) {
      const first = this.sources.keys().next();
      if (!first.done) this.sources.delete(first.value);
    }
    this.sources.set(source, key);
    this.emit({ kind: 'hello', process: p });
  }

  private noteThread(p: ProcessInfo, t: ThreadRef): void {
    const key = `${p.key}/t${t.id}`;
    const known = this.threads.get(key);
    if (known) {
      if (t.name !== null) known.name = t.name;
      if (t.os_tid !== null) known.osTid = t.os_tid;
      return;
    }
    if (this.threads.size >= this.limits.maxThreads) return this.drop('threads');
    this.threads.set(key, { process: p.key, id: t.id, name: t.name, osTid: t.os_tid });
  }

  classKey(process: string, id: number): string {
    return `${process}/c${id}`;
  }

  lockKey(process: string, id: number): string {
    return `${process}/l${id}`;
  }

  private klass(p: ProcessInfo, c: ClassRef): ClassInfo | undefined {
    const key = this.classKey(p.key, c.id);
    const known = this.classes.get(key);
    if (known) return known;
    if (this.classes.size >= this.limits.maxClasses) {
      this.drop('classes');
      return undefined;
    }
    const info: ClassInfo = { process: p.key, key, id: c.id, kind: c.kind, name: c.name, created: c.created, waits: 0, stalls: 0, deadlocks: 0 };
    this.classes.set(key, info);
    return info;
  }

  private lock(p: ProcessInfo, l: LockRef): LockState | undefined {
    const cls = this.klass(p, l.class);
    const key = this.lockKey(p.key, l.id);
    const known = this.locks.get(key);
    if (known) return known;
    if (!cls) return undefined;
    if (this.locks.size >= this.limits.maxLocks) {
      this.drop('locks');
      return undefined;
    }
    const s: LockState = { process: p.key, key, id: l.id, classKey: cls.key, holders: [], holdersAsOfMs: null, holdersCurrent: false, last: null, lastAsOfMs: null, waiters: [], waits: 0, stalls: 0 };
    this.locks.set(key, s);
    return s;
  }

  private setHolders(l: LockState, holders: Holder[], asOf: number): void {
    if (l.holdersAsOfMs !== null && asOf < l.holdersAsOfMs) return; // older news (urgent messages overtake others)
    l.holders = holders.slice(0, this.limits.maxPerLock);
    if (holders.length > l.holders.length) this.drop('holders');
    l.holdersAsOfMs = asOf;
  }

  private setLast(l: LockState, last: LastAcquire | null, asOf: number): void {
    if (last === null) return;
    if (l.lastAsOfMs !== null && asOf < l.lastAsOfMs) return;
    l.last = last;
    l.lastAsOfMs = asOf;
  }

  /** Thread `tid` was seen acting at `t` (not blocked): any wait of it that began earlier is over. */
  private endWaitsOf(p: ProcessInfo, tid: number, t: number, except?: LockState): void {
    const tk = `${p.key}/t${tid}`;
    const set = this.waitingOn.get(tk);
    if (!set) return;
    for (const l of [...set]) {
      if (l === except) continue;
      const w = l.waiters.find((x) => x.thread.id === tid);
      if (!w || (w.sinceMs <= t && w.confirmedMs <= t)) this.removeWaiter(l, tid);
    }
  }

  private removeWaiter(l: LockState, tid: number): void {
    l.waiters = l.waiters.filter((w) => w.thread.id !== tid);
    const tk = `${l.process}/t${tid}`;
    const set = this.waitingOn.get(tk);
    if (set) {
      set.delete(l);
      if (set.size === 0) this.waitingOn.delete(tk);
    }
  }

  private addWaiter(l: LockState, w: Waiter): void {
    const i = l.waiters.findIndex((x) => x.thread.id === w.thread.id);
    if (i >= 0) {
      const old = l.waiters[i];
      // Urgent stall/deadlock lines can overtake the wait line of the same wait.
      if (w.state === 'waiting' && old.state !== 'waiting' && w.sinceMs <= old.confirmedMs) return;
      if (old.state === 'deadlocked' && w.state === 'stalled' && w.sinceMs <= old.confirmedMs) {
        old.waitedMs = w.waitedMs;
        old.confirmedMs = Math.max(old.confirmedMs, w.confirmedMs);
        return;
      }
      l.waiters[i] = w;
      return;
    }
    if (l.waiters.length >= this.limits.maxPerLock) return this.drop('waiters');
    l.waiters.push(w);
    const tk = `${l.process}/t${w.thread.id}`;
    let set = this.waitingOn.get(tk);
    if (!set) this.waitingOn.set(tk, (set = new Set()));
    set.add(l);
  }

  private wait(p: ProcessInfo, m: WaitMsg): void {
    this.noteThread(p, m.thread);
    for (const h of m.holders) this.noteThread(p, h.thread);
    const l = this.lock(p, m.lock);
    this.endWaitsOf(p, m.thread.id, m.t_ms, l);
    if (!l) return;
    const cls = this.classes.get(l.classKey)!;
    const first = cls.waits === 0;
    cls.waits++;
    l.waits++;
    this.setHolders(l, m.holders, m.t_ms);
    this.setLast(l, m.last, m.t_ms);
    this.addWaiter(l, { thread: m.thread, mode: m.mode, site: m.site, sinceMs: m.t_ms, timed: m.timed, state: 'waiting', confirmedMs: m.t_ms });
    this.emit({ kind: 'contention', process: p.key, msg: m, firstForClass: first });
  }

  private edgeRecord(p: ProcessInfo, m: { t_ms: number; thread: ThreadRef; from: EdgeEnd; to: EdgeEnd }): EdgeRecord {
    return { process: p.key, fromClass: this.classKey(p.key, m.from.lock.class.id), toClass: this.classKey(p.key, m.to.lock.class.id), tMs: m.t_ms, thread: m.thread, from: m.from, to: m.to };
  }

  private edge(p: ProcessInfo, m: EdgeMsg): void {
    this.noteThread(p, m.thread);
    this.klass(p, m.from.lock.class);
    this.klass(p, m.to.lock.class);
    // Edges are sent when `to` is acquired: the thread is not waiting any more.
    this.endWaitsOf(p, m.thread.id, m.t_ms);
    const to = this.lock(p, m.to.lock);
    if (to) this.setLast(to, { thread: m.thread, mode: m.to.mode, site: m.to.site }, m.t_ms);
    const rec = this.edgeRecord(p, m);
    const key = `${rec.fromClass}>${rec.toClass}`;
    if (this.edges.has(key)) return;
    if (this.edges.size >= this.limits.maxEdges) return this.drop('edges');
    this.edges.set(key, rec);
    this.emit({ kind: 'edge', process: p.key, edge: rec });
    if (rec.fromClass !== rec.toClass) {
      const back = this.edges.get(`${rec.toClass}>${rec.fromClass}`);
      if (back) {
        const inv: OrderInversion = { process: p.key, ab: back, ba: rec };
        this.inversions.push(inv);
        this.emit({ kind: 'inversion', process: p.key, inversion: inv });
      }
    }
  }

  private orderCycle(p: ProcessInfo, m: OrderCycleMsg): void {
    if (this.orderCycles.length >= this.limits.maxOrderCycles) return this.drop('orderCycles');
    this.orderCycles.push({ process: p.key, msg: m });
    this.emit({ kind: 'order-cycle', process: p.key, msg: m });
  }

  private stall(p: ProcessInfo, m: StallMsg): void {
    this.noteThread(p, m.thread);
    const l = this.lock(p, m.lock);
    if (l) {
      l.stalls++;
      this.classes.get(l.classKey)!.stalls++;
      this.setHolders(l, m.holders, m.t_ms);
      this.setLast(l, m.last, m.t_ms);
      const since = Math.max(0, m.t_ms - m.waited_ms);
      const prev = l.waiters.find((w) => w.thread.id === m.thread.id);
      this.endWaitsOf(p, m.thread.id, since, l);
      this.addWaiter(l, { thread: m.thread, mode: m.mode, site: m.site, sinceMs: prev ? Math.min(prev.sinceMs, since) : since, timed: prev?.timed ?? false, state: 'stalled', waitedMs: m.waited_ms, confirmedMs: m.t_ms });
    }
    if (this.stalls.length >= this.limits.maxStalls) this.drop('stalls');
    else this.stalls.push({ process: p.key, msg: m });
    this.emit({ kind: 'stall', process: p.key, msg: m });
  }

  private deadlock(p: ProcessInfo, m: DeadlockMsg): void {
    const key = `${p.key}|` + m.cycle.map((n) => `${n.thread.id}:${n.waits_for.id}:${n.wait_since_ms}`).sort().join(',');
    const fresh = !this.deadlockKeys.has(key);
    for (const n of m.cycle) this.deadlockNode(p, n, m.t_ms);
    if (!fresh) return;
    if (this.deadlocks.length >= this.limits.maxDeadlocks) return this.drop('deadlocks');
    this.deadlockKeys.add(key);
    this.deadlocks.push({ process: p.key, msg: m });
    this.emit({ kind: 'deadlock', process: p.key, msg: m });
  }

  private deadlockNode(p: ProcessInfo, n: CycleNode, t: number): void {
    this.noteThread(p, n.thread);
    const l = this.lock(p, n.waits_for);
    if (l) {
      this.classes.get(l.classKey)!.deadlocks++;
      this.addWaiter(l, { thread: n.thread, mode: n.mode, site: n.site, sinceMs: n.wait_since_ms, timed: n.timed, state: 'deadlocked', waitedMs: Math.max(0, t - n.wait_since_ms), confirmedMs: t });
    }
    // A deadlocked thread is frozen: what it holds is exact.
    for (const h of n.holds) {
      const hl = this.lock(p, h.lock);
      if (!hl) continue;
      const others = hl.holders.filter((x) => x.thread.id !== n.thread.id || siteKey(x.site) !== siteKey(h.site));
      const holders = [...others, { thread: n.thread, mode: h.mode, site: h.site, since_ms: h.since_ms }];
      hl.holders = holders.slice(-this.limits.maxPerLock);
      hl.holdersAsOfMs = Math.max(hl.holdersAsOfMs ?? 0, t);
    }
  }

  private snapshot(p: ProcessInfo, m: SnapshotMsg): void {
    p.snapshots++;
    p.threadsAlive = m.threads;
    p.hookDropped = Math.max(p.hookDropped, m.dropped);
    for (const e of m.entries) {
      const cls = this.klass(p, e.class);
      if (!cls) continue;
      const key = `${cls.key}|${siteKey(e.site)}|${e.mode}`;
      let s = this.sites.get(key);
      if (!s) {
        if (this.sites.size >= this.limits.maxSites) {
          this.drop('sites');
          continue;
        }
        s = { process: p.key, classKey: cls.key, site: e.site, mode: e.mode, acquisitions: 0, contended: 0, tryFailed: 0, waitNsTotal: 0, waitNsMax: 0, holdSamples: 0, holdNsTotal: 0, holdNsMax: 0, waitHist: new DurationHistogram(), holdHist: new DurationHistogram() };
        this.sites.set(key, s);
      }
      // `contended` counts waits when they end: that many waits at this site are over.
      const ended = e.contended - s.contended;
      if (ended > 0) this.retireWaits(cls.key, siteKey(e.site), e.mode, ended, m.t_ms);
      // Counters are cumulative since hook start; a reconnection repeats them (no delta).
      addDelta(s.waitHist, e.contended - s.contended, e.wait_ns_total - s.waitNsTotal, e.wait_ns_max > s.waitNsMax ? e.wait_ns_max : undefined);
      addDelta(s.holdHist, e.hold_samples - s.holdSamples, e.hold_ns_total - s.holdNsTotal, e.hold_ns_max > s.holdNsMax ? e.hold_ns_max : undefined);
      s.acquisitions = Math.max(s.acquisitions, e.acquisitions);
      s.contended = Math.max(s.contended, e.contended);
      s.tryFailed = Math.max(s.tryFailed, e.try_failed);
      s.waitNsTotal = Math.max(s.waitNsTotal, e.wait_ns_total);
      s.waitNsMax = Math.max(s.waitNsMax, e.wait_ns_max);
      s.holdSamples = Math.max(s.holdSamples, e.hold_samples);
      s.holdNsTotal = Math.max(s.holdNsTotal, e.hold_ns_total);
      s.holdNsMax = Math.max(s.holdNsMax, e.hold_ns_max);
    }
    if (m.holders) this.snapshotHolders(p, m.t_ms, m.holders);
    // Waits with no stall by now ended in less than stall_ms.
    const horizon = p.config.stall_ms + 3 * Math.max(p.config.snapshot_ms, 1);
    for (const set of [...this.waitingOn.values()]) {
      for (const l of [...set]) {
        if (l.process !== p.key) continue;
        for (const w of l.waiters) if (w.state === 'waiting' && w.sinceMs + horizon <= m.t_ms) this.removeWaiter(l, w.thread.id);
      }
    }
    this.emit({ kind: 'snapshot', process: p.key, msg: m });
  }

  /** `snapshot.holders`: every std/parking_lot lock of the process held at `t`, the others free. */
  private snapshotHolders(p: ProcessInfo, t: number, held: NonNullable<SnapshotMsg['holders']>): void {
    const byLock = new Map<LockState, Holder[]>();
    for (const h of held) {
      this.noteThread(p, h.thread);
      const l = this.lock(p, h.lock);
      if (!l) continue;
      const list = byLock.get(l) ?? byLock.set(l, []).get(l)!;
      list.push({ thread: h.thread, mode: h.mode, site: h.site, since_ms: h.since_ms });
    }
    for (const [l, hs] of byLock) {
      this.setHolders(l, hs, t);
      if (l.holdersAsOfMs === t) l.holdersCurrent = true;
    }
    for (const l of this.locks.values()) {
      if (l.process !== p.key || byLock.has(l)) continue;
      if (this.classes.get(l.classKey)?.kind.startsWith('tokio.')) continue; // tasks: not in the held stacks
      if (l.holdersAsOfMs !== null && l.holdersAsOfMs > t) continue; // newer news (an urgent message overtook)
      l.holders = [];
      l.holdersAsOfMs = t;
      l.holdersCurrent = true;
    }
  }

  /** Removes the `n` oldest waits (not in an untimed deadlock) of class `classKey` at `site`/`mode` that began by `t`. */
  private retireWaits(classKey: string, site: string, mode: string, n: number, t: number): void {
    const found: Array<{ l: LockState; w: Waiter }> = [];
    for (const set of this.waitingOn.values()) {
      for (const l of set) {
        if (l.classKey !== classKey) continue;
        for (const w of l.waiters) if ((w.state !== 'deadlocked' || w.timed) && w.mode === mode && w.sinceMs <= t && siteKey(w.site) === site) found.push({ l, w });
      }
    }
    const seen = new Set<Waiter>();
    found
      .filter(({ w }) => !seen.has(w) && seen.add(w))
      .sort((a, b) => a.w.sinceMs - b.w.sinceMs)
      .slice(0, n)
      .forEach(({ l, w }) => this.removeWaiter(l, w.thread.id));
  }

  // -------------------------------------------------------------------------
  // Queries

  /** The named or created-at label of a class: `"ODB"` or `std.mutex@src/a.rs:3`. */
  classLabel(key: string): string {
    const c = this.classes.get(key);
    if (!c) return key;
    return c.name !== null ? c.name : `${c.kind}@${c.created.file}:${c.created.line}`;
  }

  sitesOfClass(classKey: string): SiteStats[] {
    return [...this.sites.values()].filter((s) => s.classKey === classKey);
  }

  locksOfClass(classKey: string): LockState[] {
    return [...this.locks.values()].filter((l) => l.classKey === classKey);
  }

  thread(process: string, id: number): ThreadInfo | undefined {
    return this.threads.get(`${process}/t${id}`);
  }

  /** Thread → locks it was last observed holding, per process. */
  heldBy(process: string, threadId: number): Array<{ lock: LockState; holder: Holder }> {
    const out: Array<{ lock: LockState; holder: Holder }> = [];
    for (const l of this.locks.values()) {
      if (l.process !== process) continue;
      for (const h of l.holders) if (h.thread.id === threadId) out.push({ lock: l, holder: h });
    }
    return out;
  }
}

/** Folds one interval's (count, total, max-if-it-rose) into a histogram as estimated samples. */
function addDelta(h: DurationHistogram, n: number, total: number, newMax: number | undefined): void {
  if (!(n > 0) || !(total >= 0)) return;
  if (n === 1) return h.add(total, 1);
  if (newMax !== undefined && newMax <= total) {
    h.add(newMax, 1);
    h.add((total - newMax) / (n - 1), n - 1);
  } else {
    h.add(total / n, n);
  }
}

export function distribution(h: DurationHistogram, samples: number, total: number, max: number): Distribution {
  return { samples, p50Ns: Math.min(h.quantile(0.5), max), p99Ns: Math.min(h.quantile(0.99), max), maxNs: max, meanNs: samples > 0 ? total / samples : 0 };
}
