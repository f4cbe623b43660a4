import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LockGraphResult, RuntimeEdge } from '../../common/protocol';
import { runtimeDiagnostics, staticClassFor, type StaticAcquisition } from '../../server/src/lsp/runtimeEdges';

const U = 'file:///ws/midas/src/lib.rs';
const site = (line: number, uri: string | null = U) => ({ file: 'src/lib.rs', line, col: 9, ...(uri ? { uri } : {}) });
const cls = (name: string | null, line = 1) => ({ name, kind: 'std.mutex', created: site(line) });
const r = (line: number) => ({ start: { line: line - 1, character: 8 }, end: { line: line - 1, character: 30 } });
// static acquisitions: Midas.odb at lines 10 and 41, Midas.sysmsg at 20 and 34
const acq: Record<number, StaticAcquisition[]> = { 10: [{ lock: 'Midas.odb', range: r(10) }], 41: [{ lock: 'Midas.odb', range: r(41) }], 20: [{ lock: 'Midas.sysmsg', range: r(20) }], 34: [{ lock: 'Midas.sysmsg', range: r(34) }] };
const lookup = (uri: string, line: number) => (uri === U ? acq[line] ?? [] : []);
const graph = (edges: Array<[string, string, number]>): LockGraphResult => ({
  crates: ['midas'],
  nodes: ['Midas.odb', 'Midas.sysmsg', 'Midas.clients'].map((id) => ({ id, flavor: 'std', kind: 'mutex', acquisitions: 1, modes: ['mutex'] })),
  edges: edges.map(([from, to, line]) => ({ from, to, inCycle: false, sites: [{ uri: U, range: r(line), functionName: 'f', via: [] }] })),
  cycles: [],
});
const edge = (from: RuntimeEdge['from'], fromLine: number, to: RuntimeEdge['to'], toLine: number, thread = 'odbedit #1'): RuntimeEdge => ({ from, to, fromSite: site(fromLine), toSite: site(toLine), thread });

describe('runtime lock-order edges → diagnostics', () => {
  it('maps runtime classes: exact name, last segment ignoring case, then acquisition site', () => {
    const ids = ['Midas.odb', 'Midas.sysmsg', 'Other.odb2'];
    assert.equal(staticClassFor(cls('Midas.odb'), site(99), ids, lookup), 'Midas.odb');
    assert.equal(staticClassFor(cls('ODB'), site(99), ids, lookup), 'Midas.odb');
    assert.equal(staticClassFor(cls(null), site(34), ids, lookup), 'Midas.sysmsg');
    assert.equal(staticClassFor(cls('unknown'), site(99), ids, lookup), undefined);
    assert.equal(staticClassFor(cls(null), site(34, null), ids, lookup), undefined);
    assert.equal(staticClassFor(cls('odb'), site(99), ['A.odb', 'B.odb'], lookup), undefined, 'ambiguous segment');
  });

  it('A→B and B→A both observed: runtime-confirmed inversion at both acquisitions, with evidence', () => {
    const ds = runtimeDiagnostics(
      [{ label: 'midas_abba', edges: [edge(cls('ODB'), 10, cls('SYSMSG'), 34), edge(cls('SYSMSG'), 20, cls('ODB'), 41, 'cm_watchdog #2')] }],
      graph([]),
      lookup,
    ).get(U)!;
    assert.equal(ds.length, 2);
    for (const d of ds) {
      assert.equal(d.code, 'lock-order-inversion');
      assert.equal(d.severity, 1);
      assert.match(d.message, /Runtime-confirmed lock-order inversion/);
      assert.ok(d.relatedInformation!.length >= 2);
    }
    const at34 = ds.find((d) => d.range.start.line === 33)!;
    assert.match(at34.message, /odbedit #1 held Midas\.odb \(taken at src\/lib\.rs:10\) while acquiring Midas\.sysmsg here, and cm_watchdog #2 took Midas\.sysmsg before Midas\.odb at src\/lib\.rs:41 \(midas_abba\)/);
    assert.deepEqual(at34.range, r(34));
  });

  it('an observed edge that closes a static cycle is an error pointing at the static opposite order', () => {
    const ds = runtimeDiagnostics([{ label: 'run', edges: [edge(cls('ODB'), 10, cls('SYSMSG'), 34)] }], graph([['Midas.sysmsg', 'Midas.odb', 41]]), lookup).get(U)!;
    assert.equal(ds.length, 1);
    assert.equal(ds[0].severity, 1);
    assert.match(ds[0].message, /confirmed at runtime/);
    assert.ok(ds[0].relatedInformation!.some((ri) => ri.location.range.start.line === 40 && /static/.test(ri.message)));
  });

  it('an edge missing from the static graph is a hint; a known one is nothing new', () => {
    const missing = runtimeDiagnostics([{ label: 'run', edges: [edge(cls('ODB'), 10, cls('SYSMSG'), 34)] }], graph([]), lookup).get(U)!;
    assert.equal(missing.length, 1);
    assert.equal(missing[0].severity, 4);
    assert.match(missing[0].message, /static lock graph does not have this order/);
    const known = runtimeDiagnostics([{ label: 'run', edges: [edge(cls('ODB'), 10, cls('SYSMSG'), 34)] }], graph([['Midas.odb', 'Midas.sysmsg', 34]]), lookup);
    assert.equal(known.size, 0);
  });

  it('sites outside the workspace and same-class edges produce nothing', () => {
    const e = edge(cls('ODB'), 10, cls('SYSMSG'), 34);
    const out = runtimeDiagnostics([{ label: 'run', edges: [{ ...e, toSite: site(34, null) }, edge(cls('ODB'), 10, cls('ODB'), 41)] }], graph([]), lookup);
    assert.equal(out.size, 0);
  });
});
