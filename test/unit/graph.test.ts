// The workspace lock graph on fixture crates: the MIDAS and Fly.io chains, cycles of length 2
// and 3 across files and crates, through trait methods and closures, and the code that must stay
// quiet (consistent orders, guards released before the call, instances used one at a time).

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { LockGraphEngine, type LockGraph } from '../../server/src/analysis/graph';
import type { Edition, Finding } from '../../server/src/analysis/model';
import { checkWorkspace } from '../../server/src/workspace/check';
import { discoverWorkspace } from '../../server/src/workspace/discover';
import { workspaceFindings, workspaceGraph } from '../../server/src/workspace/graph';
import { renderReport } from '../../server/src/workspace/report';
import { graphDot, graphJson, graphMermaid } from '../../server/src/cli/graph-commands';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const FIX = path.join(ROOT, 'test', 'fixtures', 'graph');

async function analyse(dir: string, edition?: Edition) {
  const model = discoverWorkspace(dir, { edition });
  const result = await checkWorkspace(model, { edition, threads: 1 });
  const graph = workspaceGraph(result);
  const cross = workspaceFindings(result, graph);
  return { model, result, graph, cross, all: [...result.findings, ...cross] };
}

const byRule = (fs_: Finding[], rule: string) => fs_.filter((f) => f.rule === rule);
const at = (f: Finding) => `${f.file}:${f.range.start.line + 1}`;
const cycleLocks = (g: LockGraph) => g.cycles.map((c) => [...c.locks].sort().join(' '));

/** The graph of `dir` built once, checked equal to the editor engine's graph of the same check. */
async function builtOnce(dir: string) {
  const { result } = await analyse(dir);
  const once = new LockGraphEngine({ once: true });
  const graph = workspaceGraph(result, once);
  assert.deepStrictEqual(graph, workspaceGraph(result, new LockGraphEngine()), dir);
  return { result, graph, resolved: once.lastStats.resolved };
}

/** A crate of one file, `src/lib.rs`, in a new temporary folder (the caller removes it). */
function oneFileCrate(name: string, source: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'locklens-graph-'));
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'Cargo.toml'), `[package]\nname = "${name}"\nversion = "0.1.0"\nedition = "2021"\n`);
  fs.writeFileSync(path.join(dir, 'src', 'lib.rs'), source);
  return dir;
}

describe('lock graph', () => {
  test('MIDAS: ODB -> SYSMSG -> ODB across files, with the whole chain, and bm_cleanup self-deadlock', async () => {
    const { graph, cross } = await analyse(path.join(FIX, 'midas'));
    assert.deepEqual(cycleLocks(graph), ['msg::SYSMSG odb::ODB']);
    const inversions = byRule(cross, 'lock-order-inversion');
    assert.deepEqual(inversions.map(at).sort(), ['src/msg.rs:10', 'src/odb.rs:11']);
    const fromOdb = inversions.find((f) => f.file === 'src/odb.rs')!;
    assert.match(fromOdb.message, /`odb::ODB` → `msg::SYSMSG` here \(odb::db_set_value calls msg::cm_msg at src\/odb\.rs:11\)/);
    assert.match(fromOdb.message, /but `msg::SYSMSG` → `odb::ODB` in msg::cm_msg \(msg::cm_msg calls odb::db_get_value at src\/msg\.rs:10\)/);
    // Related locations walk both halves: acquisitions and calls in odb.rs and msg.rs.
    const relatedFiles = new Set(fromOdb.related.map((r) => r.file));
    assert.deepEqual([...relatedFiles].sort(), ['src/msg.rs', 'src/odb.rs']);
    assert.ok(fromOdb.related.some((r) => r.file === 'src/msg.rs' && r.range.start.line + 1 === 9 && /SYSMSG/.test(r.message)));
    assert.ok(fromOdb.related.some((r) => r.file === 'src/odb.rs' && r.range.start.line + 1 === 17 && /ODB/.test(r.message)));
    // The outer acquisition of this half is listed; the diagnostic's own place is not repeated.
    assert.ok(fromOdb.related.some((r) => r.file === 'src/odb.rs' && /`odb::ODB` \(mutex\) acquired in odb::db_set_value/.test(r.message)), JSON.stringify(fromOdb.related));
    assert.ok(!fromOdb.related.some((r) => r.file === fromOdb.file && r.range.start.line === fromOdb.range.start.line && r.range.start.column === fromOdb.range.start.column));
    // The third file: bm_cleanup holds SYSMSG and calls cm_msg, which takes SYSMSG again.
    const self = byRule(cross, 'double-lock').find((f) => f.file === 'src/buffer.rs');
    assert.ok(self, 'bm_cleanup self-deadlock');
    assert.equal(self.range.start.line + 1, 7);
    assert.match(self.message, /`msg::SYSMSG` \(mutex\) is held here .* `cm_msg\(\.\.\)` acquires it again .* msg::cm_msg at src\/msg\.rs:9/);
    // db_set_value reaches ODB again through cm_msg -> db_get_value: a self-deadlock too.
    const odbAgain = byRule(cross, 'double-lock').find((f) => f.file === 'src/odb.rs');
    assert.ok(odbAgain);
    assert.match(odbAgain.message, /via msg::cm_msg → odb::db_get_value/);
  });

  test('Fly.io catalog: the if-let read guard reaches init_for\'s write lock in 2021, not in 2024', async () => {
    const e2021 = await analyse(path.join(FIX, 'flyio'));
    const dl = byRule(e2021.cross, 'double-lock');
    assert.equal(dl.length, 1, dl.map((f) => f.message).join('\n'));
    assert.equal(at(dl[0]), 'src/lib.rs:18');
    assert.equal(dl[0].severity, 'error');
    assert.match(dl[0].message, /`Catalog\.load` \(read\) is held here \(acquired at line 15\) while `self\.init_for\(\.\.\)` acquires it again \(write\) in Catalog::init_for at src\/lib\.rs:23/);
    assert.ok(dl[0].related.some((r) => r.range.start.line + 1 === 23 && /write/.test(r.message)));
    const e2024 = await analyse(path.join(FIX, 'flyio'), '2024');
    assert.equal(byRule(e2024.cross, 'double-lock').length, 0);
    // route_fixed copies the value out: no finding of any kind there in either edition.
    for (const r of [e2021, e2024]) assert.ok(!r.all.some((f) => f.rule !== 'poison-unwrap' && f.range.start.line + 1 >= 27 && f.range.start.line + 1 <= 35));
  });

  test('a cycle of three locks across three files is reported once per edge', async () => {
    const { graph, cross } = await analyse(path.join(FIX, 'cycle3'));
    assert.equal(graph.cycles.length, 1);
    assert.deepEqual([...graph.cycles[0].locks].sort(), ['State.alpha', 'State.beta', 'State.gamma']);
    const inv = byRule(cross, 'lock-order-inversion');
    assert.deepEqual(inv.map(at).sort(), ['src/a.rs:7', 'src/b.rs:11', 'src/c.rs:7']);
    const a = inv.find((f) => f.file === 'src/a.rs')!;
    assert.match(a.message, /`State\.alpha` → `State\.beta` here .* but `State\.beta` → `State\.gamma` in State::step_b .* and `State\.gamma` → `State\.alpha` in State::step_c/);
  });

  test('a cycle across crates of a workspace, closed through a closure run under the other crate\'s lock', async () => {
    const { graph, cross } = await analyse(path.join(FIX, 'workspace'));
    assert.deepEqual(cycleLocks(graph), ['ACCOUNTS LEDGER']);
    const inv = byRule(cross, 'lock-order-inversion');
    assert.deepEqual(inv.map(at).sort(), ['crates/alpha/src/lib.rs:13', 'crates/alpha/src/lib.rs:8']);
    const viaClosure = graph.edges.find((e) => e.from === 'LEDGER' && e.to === 'ACCOUNTS')!;
    assert.equal(viaClosure.evidence[0].outer.file, 'crates/beta/src/lib.rs');
    assert.equal(viaClosure.evidence[0].inner.file, 'crates/alpha/src/lib.rs');
  });

  test('a cycle through a trait method call is found and marked "may"', async () => {
    const { graph, cross } = await analyse(path.join(FIX, 'traits'));
    assert.deepEqual(cycleLocks(graph), ['FileSink.out Registry.sinks']);
    const viaTrait = byRule(cross, 'lock-order-inversion').find((f) => f.range.start.line + 1 === 35)!;
    assert.match(viaTrait.message, /calls FileSink::emit \(may: trait impl\)/);
  });

  test('closures: a callback run under the callee\'s guard orders locks; a spawned closure does not', async () => {
    const { graph } = await analyse(path.join(FIX, 'closures'));
    assert.deepEqual(cycleLocks(graph), ['Store.index Store.state']);
    const stateToIndex = graph.edges.find((e) => e.from === 'Store.state' && e.to === 'Store.index')!;
    // Only reindex's closure produces it; background() spawns its closure on another thread.
    assert.ok(stateToIndex.evidence.every((ev) => ev.calls[0]?.caller === 'Store::reindex'), JSON.stringify(stateToIndex.evidence.map((e) => e.calls)));
  });

  test('quiet on consistent orders, guards released before the call, instances one at a time and recursion', async () => {
    const { graph, cross } = await analyse(path.join(FIX, 'clean'));
    assert.deepEqual(graph.cycles, []);
    assert.deepEqual(cross.filter((f) => ['lock-order-inversion', 'double-lock', 'lock-hierarchy'].includes(f.rule)), []);
    const edges = graph.edges.map((e) => `${e.from} -> ${e.to}`).sort();
    assert.deepEqual(edges, ['Bank.ledger -> Bank.audit']);
  });

  test('declared hierarchy from Cargo metadata: acquiring against the order is lock-hierarchy', async () => {
    const { cross } = await analyse(path.join(ROOT, 'examples', 'demo-crate'));
    const h = byRule(cross, 'lock-hierarchy');
    assert.equal(h.length, 1);
    assert.equal(at(h[0]), 'src/midas.rs:14');
    assert.match(h[0].message, /`Midas\.sysmsg` \(level 1\) is acquired while `Midas\.odb` \(level 2\) is held .*Cargo\.toml \[package\.metadata\.locklens\]/);
  });

  test('invalid configuration gets one clear message per key, and the crate is still checked', async () => {
    const { model, result } = await analyse(path.join(FIX, 'badconfig'));
    const msgs = model.messages.join('\n');
    assert.match(msgs, /`order` must be an array of levels/);
    assert.match(msgs, /`reentrant` must be an array of strings/);
    assert.match(msgs, /unknown key `colour`/);
    assert.match(msgs, /`severity\.poison-unwrap` must be one of/);
    assert.match(msgs, /`severity\.no-such-rule`: unknown rule/);
    assert.ok(result.findings.some((f) => f.rule === 'poison-unwrap'));
  });

  test('graph renders as dot, mermaid and json with cycle edges marked', async () => {
    const { graph } = await analyse(path.join(ROOT, 'examples', 'demo-crate'));
    const dot = graphDot(graph);
    assert.match(dot, /"Midas\.odb" -> "Midas\.sysmsg" \[label=.*color=red/);
    const mermaid = graphMermaid(graph);
    assert.match(mermaid, /^flowchart LR/);
    assert.match(mermaid, /linkStyle \d+(,\d+)* stroke:#d00/);
    const json = JSON.parse(graphJson(graph));
    assert.equal(json.version, 1);
    assert.ok(json.edges.some((e: { from: string; to: string; inCycle: boolean }) => e.from === 'Midas.sysmsg' && e.to === 'Midas.odb' && e.inCycle));
    assert.deepEqual(json.cycles.map((c: { locks: string[] }) => [...c.locks].sort()), [['Midas.odb', 'Midas.sysmsg']]);
  });

  test('report: a readable audit of the demo crate with every section', async () => {
    const { result, graph, all } = await analyse(path.join(ROOT, 'examples', 'demo-crate'));
    const md = renderReport(result, graph, all, { title: 'demo', version: 'test', date: '2026-01-01' });
    for (const h of ['## Summary', '## Lock classes', '## Acquisition sites', '## Nested acquisitions', '## Dependency levels', '## Cycles', '## Risk matrix', '## Recommendations']) assert.ok(md.includes(h), h);
    assert.match(md, /\| `Catalog\.load` \| std RwLock \| src\/catalog\.rs:12 \| read, write \| 2 \|/);
    assert.match(md, /### Cycle 1: `Midas\.(odb|sysmsg)` → `Midas\.(sysmsg|odb)` → `Midas\.\1`/);
    assert.match(md, /\*\*Deadlock risk found\.\*\*/);
    assert.match(md, /\| `Midas\.odb` \| `Midas::db_set_value` \| `Midas\.sysmsg` \(mutex\) \| HIGH/);
  });

  test('report on a real crate (tokio from Debian) when it is installed', async (t) => {
    const tokio = '/usr/share/cargo/registry/tokio-1.24.2';
    if (!fs.existsSync(tokio)) return t.skip('librust-tokio-dev is not installed');
    const { result, graph, all } = await analyse(tokio);
    const md = renderReport(result, graph, all, { title: 'tokio', version: 'test', date: '2026-01-01' });
    assert.ok(result.stats.files > 300);
    assert.match(md, /## Lock classes/);
    assert.match(md, /`Inner\.shared`/);
    assert.ok(md.length > 5000);
  });

  test('a helper that returns a guard is an acquisition of the lock it returns, across the graph', async () => {
    const dir = oneFileCrate('helper', [
      'use std::sync::{Mutex, MutexGuard};',
      'pub struct Chan { items: Mutex<Vec<u32>>, other: Mutex<u32> }',
      'impl Chan {',
      "    fn lock_items(&self) -> MutexGuard<'_, Vec<u32>> { self.items.lock().unwrap() }",
      '    pub fn a(&self) { let g = self.lock_items(); let o = self.other.lock().unwrap(); drop(o); drop(g); }',
      '    pub fn b(&self) { let o = self.other.lock().unwrap(); let g = self.items.lock().unwrap(); drop(g); drop(o); }',
      '}',
      '',
    ].join('\n'));
    const { graph } = await analyse(dir);
    assert.deepEqual(cycleLocks(graph), ['Chan.items Chan.other']);
    assert.ok(!graph.nodes.some((n) => n.id.endsWith('()')), graph.nodes.map((n) => n.id).join(', '));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a graph built once resolves only the calls locks reach, and equals one built by the editor\'s engine', async () => {
    for (const dir of [...fs.readdirSync(FIX).map((n) => path.join(FIX, n)), path.join(ROOT, 'examples', 'demo-crate')]) {
      const { result, resolved } = await builtOnce(dir);
      // A callback run under a guard (`closures`): every caller's closures count, so every call is resolved.
      if (dir.endsWith('closures')) assert.equal(resolved, result.crates[0].files.reduce((k, f) => k + f.functions.length, 0));
    }
    const dir = oneFileCrate('reach', [
      'use std::sync::Mutex;',
      'pub static A: Mutex<u32> = Mutex::new(0);',
      'pub static B: Mutex<u32> = Mutex::new(0);',
      'pub fn take_b() { *B.lock().unwrap() += 1; }',
      'pub fn relay() { take_b(); }',
      'pub fn hold() { let _a = A.lock().unwrap(); relay(); }',
      'pub fn parse(s: &str) -> u32 { s.len() as u32 }',
      'pub fn show(x: u32) -> String { x.to_string() }',
      'pub fn run() -> String { show(parse("x")) }',
      '',
    ].join('\n'));
    const { graph, resolved } = await builtOnce(dir);
    assert.ok(graph.edges.some((e) => e.from === 'A' && e.to === 'B'));
    // take_b and hold take locks, relay is called under one; parse, show and run are never read.
    assert.equal(resolved, 3);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a caller that takes no lock still orders locks when its closure runs under a callee\'s guard', async () => {
    const dir = oneFileCrate('callback', [
      'use std::sync::Mutex;',
      'pub struct Store { state: Mutex<u32>, index: Mutex<u32> }',
      'impl Store {',
      '    fn with_state<R>(&self, f: impl FnOnce(&mut u32) -> R) -> R { let mut s = self.state.lock().unwrap(); f(&mut s) }',
      '    fn bump_index(&self) { *self.index.lock().unwrap() += 1; }',
      '    fn relay(&self) { self.bump_index(); }',
      '    pub fn reindex(&self) { self.with_state(|_s| self.relay()); }',
      '    pub fn rebuild(&self) { let _i = self.index.lock().unwrap(); self.with_state(|_s| ()); }',
      '    pub fn unrelated(&self) -> u32 { 1 + 1 }',
      '}',
      '',
    ].join('\n'));
    const { graph } = await builtOnce(dir);
    assert.deepEqual(cycleLocks(graph), ['Store.index Store.state']);
    const edge = graph.edges.find((e) => e.from === 'Store.state' && e.to === 'Store.index')!;
    assert.deepEqual(edge.evidence[0].calls.map((c) => c.callee), ['Store::with_state', 'Store::relay', 'Store::bump_index']);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('mutual recursion and a dense call graph terminate and stay exact', async () => {
    const n = 600;
    let src = 'use std::sync::Mutex;\npub static A: Mutex<u32> = Mutex::new(0);\npub static B: Mutex<u32> = Mutex::new(0);\n';
    for (let i = 0; i < n; i++) {
      // Each function calls the next two and the previous one: cycles everywhere in the call graph.
      src += `pub fn f${i}(d: u32) { if d > 0 { f${(i + 1) % n}(d - 1); f${(i + 2) % n}(d - 1); f${(i + n - 1) % n}(d - 1); } }\n`;
    }
    src += 'pub fn take_b() { *B.lock().unwrap() += 1; }\n';
    src += `pub fn f_hold() { let _a = A.lock().unwrap(); f0(3); }\n`;
    src += `pub fn f${n}() { take_b(); }\n`;
    src = src.replace(`pub fn f${n - 1}(d: u32) { if d > 0 {`, `pub fn f${n - 1}(d: u32) { f${n}(); if d > 0 {`);
    const dir = oneFileCrate('dense', src);
    const { graph } = await analyse(dir);
    // f_hold holds A and reaches B only through the recursive web: the edge must be found.
    assert.ok(graph.edges.some((e) => e.from === 'A' && e.to === 'B'));
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
