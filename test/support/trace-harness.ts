// Helpers for the trace tests: paths, message builders, raw TCP clients, event waits.
// Every wait is on an event or a promise, bounded by a timeout that fails the test; nothing sleeps.

import { once, type EventEmitter } from 'node:events';
import * as net from 'node:net';
import * as path from 'node:path';

/** Repository root (this file runs from out/test/support). */
export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const TRACE_FIXTURES = path.join(ROOT, 'test', 'fixtures', 'trace');
export const WIRE_SAMPLES = path.join(ROOT, 'runtime-hook', 'tests', 'wire_samples.ndjson');

/** Rejects after `ms` with `what` (for bounding event waits; cleared when `p` settles). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Resolves with the arguments of the first `event` whose arguments satisfy `pred`. */
export function nextEvent<A extends unknown[]>(em: EventEmitter, event: string, pred: (...args: A) => boolean = () => true, ms = 20_000): Promise<A> {
  return within(
    new Promise<A>((resolve) => {
      const h = (...args: unknown[]) => {
        if (pred(...(args as A))) {
          em.off(event, h);
          resolve(args as A);
        }
      };
      em.on(event, h);
    }),
    ms,
    `event '${event}'`,
  ).catch((e) => {
    throw e;
  });
}

/** Opens a TCP connection to 127.0.0.1:port. */
export async function connect(port: number): Promise<net.Socket> {
  const s = net.connect({ host: '127.0.0.1', port });
  s.on('error', () => undefined);
  await within(once(s, 'connect'), 20_000, 'connect');
  return s;
}

/** Resolves when the peer closes the socket (or it errors). */
export function closed(s: net.Socket, ms = 20_000): Promise<void> {
  if (s.destroyed || s.readyState === 'closed') return Promise.resolve();
  return within(new Promise<void>((resolve) => s.once('close', () => resolve())), ms, 'socket close');
}

export function hello(token: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return { v: 1, type: 'hello', protocol: 'locklens-hook', token, pid: 4242, program: '/bin/test', start_unix_ms: 1_700_000_000_000, config: { stall_ms: 1000, snapshot_ms: 100, sample_every: 64, on_deadlock: 'report', queue_capacity: 4096 }, ...over };
}

export const site = (file: string, line: number, col = 5) => ({ file, line, col });
export const thread = (id: number, name: string | null = null) => ({ id, name, os_tid: 30000 + id });
export const cls = (id: number, name: string | null, kind = 'std.mutex') => ({ id, kind, name, created: site('src/lib.rs', id) });
export const lock = (id: number, classId = id, name: string | null = `L${classId}`, kind = 'std.mutex') => ({ id, class: cls(classId, name, kind) });

export function wait(t: number, tid: number, lockId: number, at: number, holders: Array<{ tid: number; at: number; since?: number; mode?: string }> = [], extra: Record<string, unknown> = {}) {
  return {
    v: 1,
    type: 'wait',
    t_ms: t,
    thread: thread(tid),
    lock: lock(lockId),
    mode: 'mutex',
    site: site('src/lib.rs', at),
    timed: false,
    holders: holders.map((h) => ({ thread: thread(h.tid), mode: h.mode ?? 'mutex', site: site('src/lib.rs', h.at), since_ms: h.since ?? 0 })),
    last: holders.length ? { thread: thread(holders[0].tid), mode: holders[0].mode ?? 'mutex', site: site('src/lib.rs', holders[0].at) } : null,
    ...extra,
  };
}

export function edge(t: number, tid: number, from: number, fromAt: number, to: number, toAt: number) {
  return { v: 1, type: 'edge', t_ms: t, thread: thread(tid), from: { lock: lock(from), mode: 'mutex', site: site('src/lib.rs', fromAt) }, to: { lock: lock(to), mode: 'mutex', site: site('src/lib.rs', toAt) } };
}

export function stall(t: number, tid: number, lockId: number, at: number, waited: number, holders: Array<{ tid: number; at: number }> = []) {
  return { v: 1, type: 'stall', t_ms: t, thread: thread(tid), lock: lock(lockId), mode: 'mutex', site: site('src/lib.rs', at), waited_ms: waited, holders: holders.map((h) => ({ thread: thread(h.tid), mode: 'mutex', site: site('src/lib.rs', h.at), since_ms: 0 })), last: null };
}

export function snapshot(
  t: number,
  seq: number,
  entries: Array<{ classId: number; at: number; acq: number; cont?: number; waitTotal?: number; waitMax?: number; holdSamples?: number; holdTotal?: number; holdMax?: number }> = [],
  dropped = 0,
  /** `snapshot.holders` (left out when undefined, as older hooks do). */
  holders?: Array<{ tid: number; lockId: number; at: number; since: number; mode?: string; kind?: string }>,
) {
  return {
    v: 1,
    type: 'snapshot',
    t_ms: t,
    seq,
    threads: 3,
    dropped,
    entries: entries.map((e) => ({ class: cls(e.classId, `L${e.classId}`), site: site('src/lib.rs', e.at), mode: 'mutex', acquisitions: e.acq, contended: e.cont ?? 0, try_failed: 0, wait_ns_total: e.waitTotal ?? 0, wait_ns_max: e.waitMax ?? 0, hold_samples: e.holdSamples ?? 0, hold_ns_total: e.holdTotal ?? 0, hold_ns_max: e.holdMax ?? 0 })),
    ...(holders ? { holders: holders.map((h) => ({ thread: thread(h.tid, `t${h.tid}`), lock: lock(h.lockId, h.lockId, `L${h.lockId}`, h.kind), mode: h.mode ?? 'mutex', site: site('src/lib.rs', h.at), since_ms: h.since })) } : {}),
  };
}
