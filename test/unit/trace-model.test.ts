// The trace model on recorded streams of the runtime-hook examples (test/fixtures/trace) and on
// synthetic streams for the cases the examples do not produce (inversions, stalls, message
// order, caps, hostile values).

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { DurationHistogram } from '../../server/src/analysis/trace/hist';
import { TraceModel, type TraceEvent } from '../../server/src/analysis/trace/model';
import { buildReport, liveLine, reportText, userFrames } from '../../server/src/analysis/trace/report';
import { parseTraceHeader, replayTraceLine } from '../../server/src/analysis/trace/tracefile';
import { edge, hello, snapshot, stall, TRACE_FIXTURES, wait } from '../support/trace-harness';

function replay(name: string): TraceModel {
  const lines = fs.readFileSync(path.join(TRACE_FIXTURES, name), 'utf8').split('\n').filter(Boolean);
  const header = parseTraceHeader(lines[0]);
  assert.equal(typeof header, 'object', String(header));
  const m = new TraceModel();
  for (const l of lines.slice(1)) replayTraceLine(m, l);
  return m;
}

function feed(m: TraceModel, ...msgs: unknown[]): void {
  for (const x of msgs) m.ingestValue(x, 1);
}

const report = (m: TraceModel) => buildReport(m, { argv: ['prog'], exitCode: 0, signal: null, durationMs: 1, outcome: 'exited', runExitCode: 0 });

describe('recorded: midas_abba (ABBA deadlock, two threads)', () => {
  const m = replay('midas_abba.ndjson');
  test('accepts every message', () => {
    assert.equal(m.stats.rejectedTotal, 0, JSON.stringify(m.stats.rejected));
    assert.equal(m.stats.ignoredTotal, 0);
    assert.equal(m.processes.size, 1);
  });
  test('one deadlock: both threads, both locks, both sites', () => {
    assert.equal(m.deadlocks.length, 1);
    const r = report(m);
    const d = r.deadlocks[0];
    assert.equal(d.cycle.length, 2);
    const by = (name: string) => d.cycle.find((n) => n.thread.name === name)!;
    const a = by('odbedit');
    const b = by('cm_watchdog');
    assert.equal(a.holds[0].lock.name, 'ODB');
    assert.equal(a.waitsFor.lock.name, 'SYSMSG');
    assert.equal(b.holds[0].lock.name, 'SYSMSG');
    assert.equal(b.waitsFor.lock.name, 'ODB');
    assert.deepEqual([a.holds[0].site.line, a.waitsFor.site.line, b.holds[0].site.line, b.waitsFor.site.line], [26, 34, 39, 41]);
    assert.ok([a, b].every((n) => n.waitsFor.site.file === 'examples/midas_abba.rs'));
    assert.deepEqual(a.heldBy, [b.thread.id]);
  });
  test('who holds and who waits, per lock', () => {
    const odb = [...m.locks.values()].find((l) => m.classLabel(l.classKey) === 'ODB')!;
    assert.deepEqual(odb.holders.map((h) => [h.thread.name, h.site.line]), [['odbedit', 26]]);
    assert.deepEqual(odb.waiters.map((w) => [w.thread.name, w.site.line, w.state]), [['cm_watchdog', 41, 'deadlocked']]);
    assert.equal(odb.last?.thread.name, 'odbedit');
  });
  test('text report names threads, locks, sites; backtraces keep only program frames', () => {
    const text = reportText(report(m));
    for (const s of ['DEADLOCK', '"odbedit"', '"cm_watchdog"', '"ODB"', '"SYSMSG"', 'examples/midas_abba.rs:26:', 'examples/midas_abba.rs:41:28', 'midas_abba::Midas::cm_msg']) assert.ok(text.includes(s), `${s} missing:\n${text}`);
    assert.doesNotMatch(text, /locklens::rt::begin_wait|__rust_begin_short_backtrace|clone3/);
  });
});

describe('recorded: flyio_catalog (read guard, then write on the same thread)', () => {
  const m = replay('flyio_catalog.ndjson');
  test('self-deadlock: one thread waits for write on a lock it holds for read', () => {
    assert.equal(m.stats.rejectedTotal, 0);
    const d = report(m).deadlocks[0];
    assert.equal(d.cycle.length, 1);
    const n = d.cycle[0];
    assert.equal(n.thread.name, 'main');
    assert.deepEqual(n.heldBy, [n.thread.id]);
    assert.equal(n.holds[0].lock.name, 'catalog.load');
    assert.equal(n.holds[0].mode, 'read');
    assert.equal(n.holds[0].site.line, 38);
    assert.equal(n.waitsFor.mode, 'write');
    assert.equal(n.waitsFor.site.line, 46);
    assert.equal(n.holds[0].lock.id, n.waitsFor.lock.id);
  });
});

describe('recorded: contention (four workers)', () => {
  const m = replay('contention.ndjson');
  const r = report(m);
  test('per-site counters, wait/hold distributions', () => {
    assert.equal(m.stats.rejectedTotal, 0);
    const stats = r.locks.find((l) => l.lock.name === 'stats')!;
    assert.ok(stats.acquisitions >= 75_000, String(stats.acquisitions));
    const s = stats.sites.find((x) => x.site.line === 27)!;
    assert.equal(s.acquisitions, 75_000);
    assert.ok(s.contended > 0);
    assert.ok(s.wait.p50Ms <= s.wait.p99Ms && s.wait.p99Ms <= s.wait.maxMs && s.wait.maxMs > 0, JSON.stringify(s.wait));
    assert.ok(s.hold.samples > 0 && s.hold.p50Ms <= s.hold.maxMs);
    assert.ok(Math.abs(s.wait.meanMs * s.contended - stats.waitMsTotal) < 0.01 * stats.waitMsTotal + 0.001);
  });
  test('contended locks come first; the stats -> counter edge, no inversion', () => {
    assert.ok(r.locks[0].contended > 0);
    assert.equal(r.orderInversions.length, 0);
    const labels = [...m.edges.values()].map((e) => `${m.classLabel(e.fromClass)}>${m.classLabel(e.toClass)}`);
    assert.deepEqual(labels, ['stats>counter']);
  });
  test('waits that saw no stall are over once the stall horizon has passed', () => {
    const waiting = [...m.locks.values()].flatMap((l) => l.waiters);
    const last = Math.max(...[...m.processes.values()].map((p) => p.lastMs));
    assert.ok(waiting.every((w) => w.sinceMs + 1300 > last), JSON.stringify(waiting.slice(0, 3)));
  });
});

describe('synthetic streams', () => {
  test('an order inversion: A->B on one thread, B->A on another', () => {
    const m = new TraceModel();
    const events: TraceEvent[] = [];
    m.onEvent((e) => events.push(e));
    feed(m, hello('t'), edge(5, 1, 1, 10, 2, 11), edge(6, 1, 1, 10, 2, 11), edge(9, 2, 2, 20, 1, 21));
    assert.equal(m.edges.size, 2);
    assert.equal(m.inversions.length, 1);
    const inv = report(m).orderInversions[0];
    assert.deepEqual([inv.ab.from.site.line, inv.ab.to.site.line, inv.ba.from.site.line, inv.ba.to.site.line], [10, 11, 20, 21]);
    assert.deepEqual(inv.locks.map((l) => l.name), ['L1', 'L2']);
    assert.equal(events.filter((e) => e.kind === 'inversion').length, 1);
    assert.match(reportText(report(m)), /L1 <-> L2/);
  });

  test('the hook\'s order_cycle: kept; a two-class one is shown once, with the inversion', () => {
    const m = new TraceModel();
    const lines: string[] = [];
    m.onEvent((e) => {
      const l = liveLine(m, e);
      if (l) lines.push(l);
    });
    const e12 = edge(5, 1, 1, 10, 2, 11);
    const e21 = edge(9, 2, 2, 20, 1, 21);
    const e23 = edge(10, 2, 2, 20, 3, 22);
    const e31 = edge(11, 3, 3, 30, 1, 31);
    const body = (e: ReturnType<typeof edge>) => ({ t_ms: e.t_ms, thread: e.thread, from: e.from, to: e.to });
    feed(m, hello('t'), e12, e21, { v: 1, type: 'order_cycle', t_ms: 9, edges: [body(e12), body(e21)] }, e23, e31, { v: 1, type: 'order_cycle', t_ms: 11, edges: [body(e12), body(e23), body(e31)] });
    assert.equal(m.stats.rejectedTotal, 0);
    assert.equal(m.orderCycles.length, 2);
    assert.equal(m.inversions.length, 1);
    assert.equal(lines.filter((l) => /inversion|cycle/.test(l)).length, 2, lines.join('\n'));
    const text = reportText(report(m));
    assert.equal(text.match(/L1 <-> L2/g)?.length, 1);
    assert.doesNotMatch(text, /Lock-order cycle of 2/);
    assert.match(text, /Lock-order cycle of 3/);
  });

  test('a wait ends when its thread acquires (edge) or when no stall came in time', () => {
    const m = new TraceModel();
    feed(m, hello('t'), wait(100, 2, 1, 30, [{ tid: 1, at: 10, since: 90 }]), wait(100, 3, 1, 31, [{ tid: 1, at: 10, since: 90 }]));
    const l = m.locks.get(m.lockKey([...m.processes.keys()][0], 1))!;
    assert.deepEqual(l.waiters.map((w) => w.thread.id), [2, 3]);
    assert.deepEqual(l.holders.map((h) => h.thread.id), [1]);
    feed(m, edge(150, 2, 1, 30, 5, 40)); // thread 2 got lock 1 and takes lock 5
    assert.deepEqual(l.waiters.map((w) => w.thread.id), [3]);
    feed(m, snapshot(1200, 1)); // 1100 ms after the wait, no stall yet: still inside the horizon
    assert.deepEqual(l.waiters.map((w) => w.thread.id), [3]);
    feed(m, snapshot(1500, 2));
    assert.deepEqual(l.waiters, []);
  });

  test('a snapshot whose contended count rose retires that many waits at that site, oldest first', () => {
    const m = new TraceModel();
    feed(m, hello('t'), wait(100, 2, 1, 30), wait(110, 3, 1, 30), wait(120, 4, 1, 31));
    const l = [...m.locks.values()][0];
    feed(m, snapshot(200, 1, [{ classId: 1, at: 30, acq: 5, cont: 1, waitTotal: 100, waitMax: 100 }]));
    assert.deepEqual(l.waiters.map((w) => w.thread.id), [3, 4]);
    feed(m, snapshot(300, 2, [{ classId: 1, at: 30, acq: 6, cont: 2, waitTotal: 200, waitMax: 100 }]));
    assert.deepEqual(l.waiters.map((w) => w.thread.id), [4]);
  });

  test('a stall keeps the wait, and overtaking order (stall before its wait line) is handled', () => {
    const m = new TraceModel();
    feed(m, hello('t'), stall(1200, 2, 1, 30, 1100, [{ tid: 1, at: 10 }]), wait(100, 2, 1, 30, [{ tid: 1, at: 10 }]), snapshot(5000, 1));
    const l = [...m.locks.values()][0];
    assert.equal(l.waiters.length, 1);
    assert.equal(l.waiters[0].state, 'stalled');
    assert.equal(l.waiters[0].sinceMs, 100);
    assert.equal(l.holdersAsOfMs, 1200); // the older wait line did not overwrite newer holders
    assert.equal(m.stalls.length, 1);
    const r = report(m);
    assert.equal(r.stalls[0].waitedMs, 1100);
    assert.equal(r.stalls[0].holders[0].site.line, 10);
    assert.match(reportText(r), /waited 1\.1 s for "L1"/);
  });

  test('messages before hello, unknown versions and types are counted, not applied', () => {
    const m = new TraceModel();
    m.ingestValue(wait(1, 1, 1, 1), 7);
    feed(m, hello('t'), { ...wait(1, 1, 1, 1), v: 2 }, { v: 1, type: 'future_kind', x: 1 }, { v: 1, type: 'wait' });
    m.ingestLine('not json', 1);
    assert.equal(m.stats.rejected['before hello'], 1);
    assert.equal(m.stats.rejected['unsupported version'], 1);
    assert.equal(m.stats.rejected['missing field'], 1);
    assert.equal(m.stats.rejected['not JSON'], 1);
    assert.equal(m.stats.ignored['future_kind'], 1);
    feed(m, { v: 1, type: '__proto__' }, { v: 1, type: '__proto__' }, { v: 1, type: 'constructor' });
    assert.equal(Object.getOwnPropertyDescriptor(m.stats.ignored, '__proto__')?.value, 2);
    assert.equal(Object.getOwnPropertyDescriptor(m.stats.ignored, 'constructor')?.value, 1);
    assert.equal(Object.getPrototypeOf(m.stats.ignored), Object.prototype);
    assert.match(JSON.stringify(m.stats.ignored), /"__proto__":2,"constructor":1/);
    assert.equal(m.locks.size, 0);
    assert.equal(m.stats.accepted, 1);
  });

  test('bounded: caps count what does not fit', () => {
    const m = new TraceModel({ maxLocks: 10, maxClasses: 5, maxRecent: 50, maxPerLock: 4, maxEdges: 3, maxStalls: 2 });
    feed(m, hello('t'));
    for (let i = 1; i <= 100; i++) feed(m, wait(i, i, i, i));
    for (let i = 1; i <= 10; i++) feed(m, wait(200 + i, 1000 + i, 1, 5));
    for (let i = 1; i <= 10; i++) feed(m, edge(300 + i, 1, 1, 1, 1 + i, 2));
    for (let i = 1; i <= 5; i++) feed(m, stall(400 + i, 2000 + i, 1, 5, 1000));
    assert.ok(m.locks.size <= 10 && m.classes.size <= 5 && m.recent.length === 50 && m.edges.size <= 3 && m.stalls.length === 2);
    assert.ok([...m.locks.values()].every((l) => l.waiters.length <= 4));
    assert.ok(m.stats.dropped.classes > 0 && m.stats.dropped.waiters > 0 && m.stats.dropped.stalls === 3, JSON.stringify(m.stats.dropped));
  });

  test('random values never throw and never get in', () => {
    const m = new TraceModel();
    feed(m, hello('t'));
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const value = (d: number): unknown => {
      const r = rnd();
      if (d > 4 || r < 0.2) return [null, true, -1, 1.5, 2 ** 60, 'x', '', '\u0000'][Math.floor(rnd() * 8)];
      if (r < 0.5) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(d + 1));
      const o: Record<string, unknown> = {};
      for (const k of ['v', 'type', 't_ms', 'thread', 'lock', 'holders', 'cycle', 'entries', 'site', 'id', 'class']) if (rnd() < 0.4) o[k] = value(d + 1);
      if (rnd() < 0.5) o.v = 1;
      if (rnd() < 0.5) o.type = ['wait', 'edge', 'deadlock', 'stall', 'snapshot', 'hello', 'order_cycle'][Math.floor(rnd() * 7)];
      return o;
    };
    for (let i = 0; i < 5000; i++) m.ingestValue(value(0), 1);
    assert.equal(m.stats.accepted, 1);
    assert.equal(m.stats.rejectedTotal, 5000 - m.stats.ignoredTotal);
    assert.equal(m.stats.rejected.internal, undefined);
  });

  test('a second hello (reconnection) keeps the process and its counters', () => {
    const m = new TraceModel();
    m.ingestValue(hello('t'), 1);
    m.ingestValue(snapshot(100, 1, [{ classId: 1, at: 5, acq: 10, cont: 2, waitTotal: 2000, waitMax: 1500 }]), 1);
    m.ingestValue(hello('t'), 2);
    m.ingestValue(snapshot(200, 2, [{ classId: 1, at: 5, acq: 10, cont: 2, waitTotal: 2000, waitMax: 1500 }]), 2);
    assert.equal(m.processes.size, 1);
    const s = [...m.sites.values()][0];
    assert.equal(s.contended, 2);
    assert.equal(s.waitHist.total, 2); // the repeated counters added no samples
  });
});

describe('terminal safety', () => {
  test('control and bidi characters from the program are escaped in text and live lines', () => {
    const m = new TraceModel();
    const lines: string[] = [];
    m.onEvent((e) => {
      const l = liveLine(m, e);
      if (l) lines.push(l);
    });
    const evil = '\u001b]0;pwned\u0007\u202eevil\nname';
    const w = wait(5, 2, 1, 30, [{ tid: 1, at: 10 }]) as Record<string, unknown> & { thread: { name: string | null }; lock: { class: { name: string | null; kind: string } }; site: { file: string } };
    w.thread.name = evil;
    w.lock.class.name = evil;
    w.lock.class.kind = 'std.mutex\u001b[31m';
    w.site.file = `src/${evil}.rs`;
    feed(m, hello('t'), w, stall(1200, 2, 1, 30, 1195, [{ tid: 1, at: 10 }]));
    const text = reportText(report(m)) + lines.join('\n');
    assert.ok(lines.length >= 2);
    assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f\u202e]/);
    assert.match(text, /\\u001b\]0;pwned\\u0007\\u202eevil\\u000aname/);
  });
});

describe('helpers', () => {
  test('histogram quantiles at ~9% resolution, capped by the max', () => {
    const h = new DurationHistogram();
    for (let i = 1; i <= 1000; i++) h.add(i * 1000);
    const p50 = h.quantile(0.5);
    const p99 = h.quantile(0.99);
    assert.ok(Math.abs(p50 - 500_000) / 500_000 < 0.1, String(p50));
    assert.ok(Math.abs(p99 - 990_000) / 990_000 < 0.1, String(p99));
    assert.ok(h.quantile(1) <= 1_000_000);
    assert.equal(new DurationHistogram().quantile(0.5), 0);
  });

  test('userFrames keeps the program frames', () => {
    const bt = '   0: locklens::rt::begin_wait\n             at ./src/rt.rs:1:1\n   1: app::f\n             at ./src/main.rs:3:4\n   2: std::sys::backtrace::__rust_begin_short_backtrace\n   3: clone3';
    assert.deepEqual(userFrames(bt), ['   1: app::f', '             at ./src/main.rs:3:4']);
  });
});

describe('snapshot holders (every held lock, contended or not)', () => {
  const h = (lockId: number) => (m: TraceModel) => [...m.locks.values()].find((l) => l.id === lockId)!;
  test('an uncontended holder is known from the snapshot, with site and since; a later snapshot without it frees the lock', () => {
    const m = new TraceModel();
    feed(m, hello('tok'), snapshot(100, 1, [], 0, [{ tid: 4, lockId: 1, at: 20, since: 40 }]));
    const l = h(1)(m);
    assert.deepEqual(l.holders.map((x) => [x.thread.id, x.site.line, x.since_ms]), [[4, 20, 40]]);
    assert.equal(l.holdersAsOfMs, 100);
    assert.equal(l.holdersCurrent, true);
    assert.deepEqual(l.waiters, []);
    assert.equal(m.thread(m.processes.keys().next().value!, 4)?.name, 't4');
    const r = report(m).locks.find((c) => c.lock.name === 'L1')!;
    assert.equal(r.instances[0].holdersCurrent, true);
    assert.equal(r.instances[0].holders[0].forMs, 60, 'held from 40 ms to the last message at 100 ms');
    feed(m, snapshot(200, 2, [], 0, []));
    assert.deepEqual(h(1)(m).holders, []);
    assert.equal(h(1)(m).holdersAsOfMs, 200);
  });
  test('several readers of one lock, and a holder that also appears in a wait', () => {
    const m = new TraceModel();
    feed(m, hello('tok'), snapshot(100, 1, [], 0, [{ tid: 1, lockId: 3, at: 5, since: 10, mode: 'read' }, { tid: 2, lockId: 3, at: 6, since: 90, mode: 'read' }]));
    assert.deepEqual(h(3)(m).holders.map((x) => [x.thread.id, x.mode]), [[1, 'read'], [2, 'read']]);
    // a wait sent before the snapshot but arriving after it (urgent messages overtake) does not
    // replace the newer list
    feed(m, wait(90, 5, 3, 7, [{ tid: 1, at: 5, mode: 'read' }]));
    assert.equal(h(3)(m).holders.length, 2);
    assert.equal(h(3)(m).waiters.length, 1);
  });
  test('an older snapshot does not clear holders a newer wait reported; tokio locks are never cleared', () => {
    const m = new TraceModel();
    feed(m, hello('tok'), wait(300, 2, 1, 11, [{ tid: 1, at: 10, since: 250 }]), wait(310, 3, 9, 12, [{ tid: 1, at: 10, since: 260 }], { lock: { id: 9, class: { id: 9, kind: 'tokio.mutex', name: 'T', created: { file: 'src/lib.rs', line: 9, col: 5 } } } }));
    feed(m, snapshot(200, 1, [], 0, []));
    assert.deepEqual(h(1)(m).holders.map((x) => x.thread.id), [1]);
    assert.equal(h(1)(m).holdersAsOfMs, 300);
    feed(m, snapshot(400, 2, [], 0, []));
    assert.deepEqual(h(1)(m).holders, [], 'the snapshot after the wait lists no holder: released');
    assert.deepEqual(h(9)(m).holders.map((x) => x.thread.id), [1], 'tokio holders are tasks: snapshots do not list them');
    assert.equal(h(9)(m).holdersCurrent, false);
  });
  test('snapshots without the field (older hooks) leave holders alone', () => {
    const m = new TraceModel();
    feed(m, hello('tok'), wait(300, 2, 1, 11, [{ tid: 1, at: 10, since: 250 }]), snapshot(400, 1, []));
    assert.equal(m.stats.rejectedTotal, 0);
    assert.deepEqual(h(1)(m).holders.map((x) => x.thread.id), [1]);
    assert.equal(h(1)(m).holdersCurrent, false);
  });
  test('hostile holders: wrong types are rejected, long arrays capped per lock', () => {
    const m = new TraceModel();
    feed(m, hello('tok'));
    const bad = snapshot(100, 1, [], 0, [{ tid: 1, lockId: 1, at: 2, since: 3 }]) as { holders: Array<Record<string, unknown>> };
    bad.holders[0].since_ms = -1;
    feed(m, bad);
    assert.equal(m.stats.rejectedTotal, 1);
    const many = Array.from({ length: 100 }, (_, i) => ({ tid: i + 1, lockId: 1, at: 2, since: 3, mode: 'read' }));
    feed(m, snapshot(200, 2, [], 0, many));
    assert.equal(h(1)(m).holders.length, 64);
    assert.ok((m.stats.dropped.holders ?? 0) >= 1);
  });
});
