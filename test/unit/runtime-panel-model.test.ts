import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildReport } from '../../server/src/analysis/trace';
import { buildPanelModel, formatMs, siteDecorations, sortLocks, waitForGraph } from '../../client/src/runtime/panelModel';
import { renderTable } from '../../client/src/runtime/render';
import { edgeLine, midasLines, modelOf } from './runtime-panel-fixtures';

const resolve = (f: string) => (f.startsWith('examples/') ? `/repo/runtime-hook/${f}` : undefined);

describe('Lock Panel model', () => {
  const m = modelOf(midasLines());
  const model = buildPanelModel(m, { title: 'midas', state: 'live', resolve });

  it('holds the deadlock cycle with both threads, both sites and who holds what', () => {
    assert.equal(model.cycles.length, 1);
    const [a, b] = model.cycles[0].nodes;
    assert.equal(a.thread.label, 'odbedit #1');
    assert.equal(a.waitsFor, 'SYSMSG');
    assert.equal(model.sites[a.waitSite].label, 'examples/midas_abba.rs:34');
    assert.equal(model.sites[a.holds[0].site].label, 'examples/midas_abba.rs:26');
    assert.equal(b.thread.label, 'cm_watchdog #2');
    assert.equal(b.waitsFor, 'ODB');
    assert.equal(model.sites[b.waitSite].label, 'examples/midas_abba.rs:41');
    assert.equal(model.sites[b.holds[0].site].path, '/repo/runtime-hook/examples/midas_abba.rs');
  });

  it('per lock: current holder with site and duration, waiters, last holder, contention, p99', () => {
    const odb = model.locks.find((l) => l.label === 'ODB')!;
    assert.ok(odb.inCycle);
    assert.equal(odb.holders.length, 1);
    assert.equal(odb.holders[0].thread.name, 'odbedit');
    assert.equal(model.sites[odb.holders[0].site].line, 26);
    assert.ok(odb.holders[0].forMs >= 0);
    assert.equal(odb.waiters.length, 1);
    assert.equal(odb.waiters[0].thread.name, 'cm_watchdog');
    assert.equal(odb.waiters[0].state, 'deadlocked');
    assert.equal(odb.last?.thread.name, 'odbedit');
    assert.ok(odb.holdP99Ms >= 10 && odb.holdP99Ms <= 14, `hold p99 ${odb.holdP99Ms}`);
    // ODB: 10 finished acquisitions, none contended, and cm_watchdog still waiting: 1 of 11.
    assert.equal(odb.contended, 1);
    assert.equal(odb.acquisitions, 11);
    assert.equal(odb.waitSamples, 0);
    assert.equal(odb.holdSamples, 2);
    const sys = model.locks.find((l) => l.label === 'SYSMSG')!;
    // SYSMSG: 4 finished (1 contended) and odbedit waiting: 2 of 5.
    assert.equal(sys.contentionPct, 40);
    assert.ok(sys.waitP99Ms > 2.5 && sys.waitP99Ms < 3.5, `wait p99 ${sys.waitP99Ms}`);
  });

  it('holders are shown only while someone waits: once the waiter got the lock they are the last holder', () => {
    const [hello, wait] = midasLines();
    // odbedit waits for SYSMSG held by cm_watchdog, then acquires it (its edge ODB → SYSMSG at 300 ms).
    const live = buildPanelModel(modelOf([hello, wait]), { title: 't', state: 'live' });
    const during = live.locks.find((l) => l.label === 'SYSMSG')!;
    assert.deepEqual(during.holders.map((h) => h.thread.name), ['cm_watchdog']);
    assert.deepEqual(during.waiters.map((w) => w.thread.name), ['odbedit']);
    const after = buildPanelModel(modelOf([hello, wait, edgeLine(300, 1, 'odbedit', [2, 'ODB', 26], [1, 'SYSMSG', 34])]), { title: 't', state: 'live' });
    const sys = after.locks.find((l) => l.label === 'SYSMSG')!;
    assert.deepEqual(sys.waiters, []);
    assert.deepEqual(sys.holders, [], 'cm_watchdog released SYSMSG: odbedit got it');
    assert.equal(sys.last?.thread.name, 'odbedit', 'the last acquisition is the one the edge reported');
    assert.equal(after.sites[sys.last!.site].line, 34);
  });

  it('uncontended holders from the snapshots are shown with how long they have held so far, and go when released', () => {
    const hello = { v: 1, type: 'hello', protocol: 'locklens-hook', token: 't', pid: 77, program: 'p', start_unix_ms: 0, config: { stall_ms: 1000, snapshot_ms: 100, sample_every: 64, on_deadlock: 'report', queue_capacity: 16 } };
    const catalog = { id: 5, class: { id: 3, kind: 'std.rwlock', name: 'catalog.load', created: { file: 'src/catalog.rs', line: 41, col: 19 } } };
    const snap = (t: number, seq: number, holders: object[]) => ({ v: 1, type: 'snapshot', t_ms: t, seq, threads: 2, dropped: 0, entries: [], holders });
    const holder = { thread: { id: 3, name: 'loader<img>', os_tid: null }, lock: catalog, mode: 'read', site: { file: 'src/catalog.rs', line: 80, col: 40 }, since_ms: 1200 };
    const held = buildPanelModel(modelOf([hello, snap(1500, 1, [holder])]), { title: 't', state: 'live' });
    const l = held.locks.find((x) => x.label === 'catalog.load')!;
    assert.deepEqual(l.waiters, []);
    assert.deepEqual(l.holders.map((h) => [h.thread.label, h.mode, held.sites[h.site].label, h.forMs]), [['loader<img> #3', 'read', 'src/catalog.rs:80', 300]]);
    const html = renderTable(held, { key: 'label', descending: false });
    assert.ok(html.includes('loader&lt;img&gt; #3'), 'holder thread name escaped in the table');
    assert.ok(!html.includes('loader<img>'));
    assert.ok(held.graph.edges.some((e) => e.kind === 'holds' && e.from === 'l:77/3' && e.to === 't:77/3'));
    const freed = buildPanelModel(modelOf([hello, snap(1500, 1, [holder]), snap(1600, 2, [])]), { title: 't', state: 'live' });
    assert.deepEqual(freed.locks.find((x) => x.label === 'catalog.load')!.holders, []);
  });

  it('wait-for graph: threads and locks, deadlock edges marked', () => {
    const g = model.graph;
    const ids = g.nodes.map((n) => n.id).sort();
    assert.deepEqual(ids, ['l:4619/1', 'l:4619/2', 't:4619/1', 't:4619/2']);
    assert.ok(g.nodes.every((n) => n.inCycle));
    const cyc = g.edges.filter((e) => e.inCycle);
    assert.ok(cyc.some((e) => e.from === 't:4619/1' && e.to === 'l:4619/1' && e.kind === 'waits'));
    assert.ok(cyc.some((e) => e.from === 'l:4619/1' && e.to === 't:4619/2' && e.kind === 'holds'));
    assert.equal(waitForGraph([], []).nodes.length, 0);
  });

  it('sorting keeps deadlocked locks first and is stable', () => {
    const extra = modelOf([...midasLines(), { v: 1, type: 'snapshot', t_ms: 400, seq: 4, threads: 3, dropped: 0, entries: [{ class: { id: 9, kind: 'std.mutex', name: 'AAA', created: { file: 'x.rs', line: 1, col: 1 } }, site: { file: 'x.rs', line: 2, col: 1 }, mode: 'mutex', acquisitions: 2, contended: 2, try_failed: 0, wait_ns_total: 90_000_000, wait_ns_max: 50_000_000, hold_samples: 0, hold_ns_total: 0, hold_ns_max: 0 }] }]);
    const locks = buildPanelModel(extra, { title: 't', state: 'live' }).locks;
    const byName = sortLocks(locks, 'label', false).map((l) => l.label);
    assert.deepEqual(byName, ['ODB', 'SYSMSG', 'AAA']);
    const byWait = sortLocks(locks, 'waitP99', true).map((l) => l.label);
    assert.equal(byWait[2], 'AAA');
    assert.equal(sortLocks(locks, 'contention', true).length, 3);
  });

  it('inversions observed at runtime', () => {
    const inv = buildPanelModel(modelOf([midasLines()[0], edgeLine(10, 1, 'a', [2, 'ODB', 26], [1, 'SYSMSG', 34]), edgeLine(11, 2, 'b', [1, 'SYSMSG', 39], [2, 'ODB', 41])]), { title: 't', state: 'live' });
    assert.equal(inv.inversions.length, 1);
    assert.deepEqual([inv.inversions[0].a, inv.inversions[0].b].sort(), ['ODB', 'SYSMSG']);
  });

  it('lock-order cycles of three classes', () => {
    const hello = midasLines()[0];
    const e = (t: number, tid: number, a: number, b: number) => edgeLine(t, tid, `w${tid}`, [a, `L${a}`, 10 + a], [b, `L${b}`, 20 + b]);
    const e1 = e(1, 1, 1, 2);
    const e2 = e(2, 2, 2, 3);
    const e3 = e(3, 3, 3, 1);
    const m3 = modelOf([hello, e1, e2, e3, { v: 1, type: 'order_cycle', t_ms: 3, edges: [e1, e2, e3].map(({ t_ms, thread, from, to }) => ({ t_ms, thread, from, to })) }]);
    const pm = buildPanelModel(m3, { title: 't', state: 'live' });
    assert.equal(pm.orderCycles.length, 1);
    assert.deepEqual(pm.orderCycles[0].steps.map((st) => `${st.from}>${st.to}`), ['L1>L2', 'L2>L3', 'L3>L1']);
  });

  it('decorations: hold/wait p99 at sites, the deadlock at the waiting sites, only files found', () => {
    const ds = siteDecorations(buildReport(m, { argv: [], exitCode: null, signal: null, durationMs: 0, outcome: 'exited', runExitCode: 0 }), resolve);
    const at = (line: number) => ds.find((d) => d.line === line);
    assert.match(at(26)!.text, /^held 1\d(\.\d)?ms p99$/);
    assert.match(at(39)!.text, /held 5(\.\d)?ms p99 · waits 3(\.\d)?ms p99 \(1\/4\)/);
    assert.equal(at(34)!.alert, true);
    assert.match(at(34)!.text, /deadlock: odbedit #1 waits for SYSMSG held by cm_watchdog #2/);
    assert.ok(ds.every((d) => d.path === '/repo/runtime-hook/examples/midas_abba.rs'));
    assert.deepEqual(siteDecorations(buildReport(m, { argv: [], exitCode: null, signal: null, durationMs: 0, outcome: 'exited', runExitCode: 0 }), () => undefined), []);
  });

  it('formats durations', () => {
    assert.equal(formatMs(0), '0ms');
    assert.equal(formatMs(0.25), '0.25ms');
    assert.equal(formatMs(3), '3.0ms');
    assert.equal(formatMs(12.4), '12ms');
    assert.equal(formatMs(1500), '1.5s');
    assert.equal(formatMs(-1), '–');
  });
});
