// The incremental lock graph (LockGraphEngine.update) must give exactly what a from-scratch
// build (buildLockGraph) gives for the same files: many random one-file edits (lines inserted,
// removed, duplicated, moved; functions renamed, added and removed; acquisitions and calls
// copied elsewhere), applied one after another to fixture crates, a generated crate with deep
// and mutually recursive call chains, and tokio when it is installed. After each edit the
// edited file is re-analysed and both graphs are compared whole: nodes, edges with their
// evidence, cycles, findings, functions and held calls.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { buildLockGraph, LockGraphEngine, type LockGraphInput } from '../../server/src/analysis/graph';
import { buildCrateIndex, createEngine, type Engine } from '../../server/src/analysis/index';
import { checkWorkspace, type CheckResult } from '../../server/src/workspace/check';
import { locateWasm } from '../../server/src/workspace/wasm';
import { discoverWorkspace } from '../../server/src/workspace/discover';
import { graphEngineOf, LockGraphBuilder } from '../../server/src/lsp/lockGraph';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const FIX = path.join(ROOT, 'test', 'fixtures', 'graph');

/** A small deterministic PRNG, so a failure can be replayed from its seed. */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n: number) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

function inputOf(result: CheckResult): LockGraphInput {
  const files = result.crates.flatMap((c) => {
    const byFile = new Map(c.declarations.map((d) => [d.file, d]));
    return c.files.map((analysis) => ({ crate: c.crate.name, analysis, declarations: byFile.get(analysis.file) }));
  });
  const withOrder = result.crates.find((c) => c.crate.config.order.length > 0);
  return {
    files,
    order: withOrder?.crate.config.order,
    reentrant: [...new Set(result.crates.flatMap((c) => c.crate.config.reentrant))],
    severities: result.crates[0]?.crate.config.severities,
  };
}

/** One random edit of a Rust source text. */
function mutate(text: string, pick: (n: number) => number): { text: string; what: string } {
  const lines = text.split('\n');
  const at = () => pick(lines.length);
  const fnLines = lines.map((l, i) => (/\bfn\s+[a-z_]\w*/.test(l) ? i : -1)).filter((i) => i >= 0);
  const lockLines = lines.map((l, i) => (/\.(lock|read|write)\(\)/.test(l) ? i : -1)).filter((i) => i >= 0);
  const callLines = lines.map((l, i) => (/\w\(/.test(l) && !/\bfn\b/.test(l) ? i : -1)).filter((i) => i >= 0);
  const kind = pick(8);
  switch (kind) {
    case 0: {
      const i = at();
      lines.splice(i, 0, '');
      return { text: lines.join('\n'), what: `blank line at ${i + 1}` };
    }
    case 1: {
      const i = at();
      lines.splice(i, 1);
      return { text: lines.join('\n'), what: `delete line ${i + 1}` };
    }
    case 2: {
      // Copy a line that locks or calls to another place (often inside another function).
      const from = [...lockLines, ...callLines];
      if (from.length === 0) return mutate(text, pick);
      const src = from[pick(from.length)];
      const i = at();
      lines.splice(i, 0, lines[src]);
      return { text: lines.join('\n'), what: `copy line ${src + 1} to ${i + 1}` };
    }
    case 3: {
      if (fnLines.length === 0) return mutate(text, pick);
      const i = fnLines[pick(fnLines.length)];
      lines[i] = lines[i].replace(/\bfn\s+([a-z_]\w*)/, (_m, n: string) => `fn ${n}_renamed`);
      return { text: lines.join('\n'), what: `rename fn at ${i + 1}` };
    }
    case 4: {
      // A new function calling existing ones under a lock taken by an existing line.
      const names = [...text.matchAll(/\bfn\s+([a-z_]\w*)/g)].map((m) => m[1]);
      const lock = lockLines.length > 0 ? lines[lockLines[pick(lockLines.length)]].trim() : '';
      const call = names.length > 0 ? `${names[pick(names.length)]}();` : '';
      lines.push(`pub fn added_${pick(1000)}() { ${lock.startsWith('let') ? lock : ''} ${call} }`);
      return { text: lines.join('\n'), what: 'add fn' };
    }
    case 5: {
      const i = at();
      const j = at();
      [lines[i], lines[j]] = [lines[j], lines[i]];
      return { text: lines.join('\n'), what: `swap lines ${i + 1} ${j + 1}` };
    }
    case 6: {
      // Remove a whole function (up to the next line that starts a function).
      if (fnLines.length === 0) return mutate(text, pick);
      const k = pick(fnLines.length);
      const end = k + 1 < fnLines.length ? fnLines[k + 1] : lines.length;
      lines.splice(fnLines[k], Math.max(1, end - fnLines[k]));
      return { text: lines.join('\n'), what: `remove fn at ${fnLines[k] + 1}` };
    }
    default: {
      // Typing at the end of a line: no line moves.
      const i = at();
      lines[i] = lines[i] + ' let _t = 1;';
      return { text: lines.join('\n'), what: `type at end of ${i + 1}` };
    }
  }
}

let editorEngine: Promise<Engine> | undefined;

/**
 * An engine that keeps per-function results, like the language server's: a function an edit did
 * not touch comes back as the very same objects, which the graph engine takes as unchanged.
 */
function getEngine(): Promise<Engine> {
  editorEngine ??= createEngine({ ...locateWasm(), reuseResults: true });
  return editorEngine;
}

/** Re-analyses one file of a checked crate from new text, as an editor would after an edit. */
function reanalyse(engine: Engine, crate: CheckResult['crates'][number], file: string, text: string): void {
  const parsed = engine.parse(text);
  try {
    const di = crate.declarations.findIndex((d) => d.file === file);
    if (di >= 0) crate.declarations[di] = engine.declarations(parsed, file);
    const fi = crate.files.findIndex((f) => f.file === file);
    crate.files[fi] = engine.analyzeFile(parsed, file, buildCrateIndex(crate.options.edition, crate.declarations), crate.options);
  } finally {
    parsed.dispose();
  }
}

async function replay(dir: string, seed: number, edits: number, multi = true): Promise<{ edits: number; edges: number; incremental: number; kept: number }> {
  const engine = await getEngine();
  const result = await checkWorkspace(discoverWorkspace(dir), { threads: 1 });
  const all = result.crates.flatMap((c, ci) => c.files.map((a, fi) => ({ ci, fi, file: a.file })));
  assert.ok(all.length > 0, dir);
  const pick = rng(seed);
  const graphs = new LockGraphEngine();
  let input = inputOf(result);
  assert.deepStrictEqual(graphs.update(input), buildLockGraph(input), `${dir}: initial build`);
  let maxEdges = 0;
  let incremental = 0;
  let kept = 0;
  const log: string[] = [];
  for (let k = 0; k < edits; k++) {
    // Mostly one file per update; now and then two, or an undo to the original text.
    const count = multi && pick(10) === 0 ? 2 : 1;
    for (let m = 0; m < count; m++) {
      const target = all[pick(all.length)];
      const crate = result.crates[target.ci];
      const old = crate.texts.get(target.file) ?? '';
      const edit = mutate(old, pick);
      log.push(`${target.file}: ${edit.what}`);
      reanalyse(engine, crate, target.file, edit.text);
      crate.texts.set(target.file, edit.text);
    }
    input = inputOf(result);
    const inc = graphs.update(input);
    if (!graphs.lastStats.reset) incremental++;
    kept += graphs.lastStats.kept;
    const full = buildLockGraph(input);
    assert.deepStrictEqual(inc, full, `${dir}, seed ${seed}, after edit ${k + 1}:\n${log.slice(-4).join('\n')}`);
    maxEdges = Math.max(maxEdges, full.edges.length);
  }
  return { edits, edges: maxEdges, incremental, kept };
}

/** A crate whose call graph has long chains (beyond the depth cap), rings and a trait. */
function generatedCrate(dir: string, n: number): void {
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'Cargo.toml'), '[package]\nname = "gen"\nversion = "0.1.0"\nedition = "2021"\n');
  const modules = 6;
  const per = Math.ceil(n / modules);
  const lib = ['use std::sync::{Mutex, RwLock};', ''];
  for (let m = 0; m < modules; m++) lib.push(`pub mod m${m};`);
  for (let k = 0; k < 8; k++) lib.push(`pub static L${k}: Mutex<u64> = Mutex::new(0);`);
  lib.push('pub static R: RwLock<u64> = RwLock::new(0);');
  lib.push('pub trait Sink { fn emit(&self); }');
  lib.push('pub struct S { pub a: Mutex<u32>, pub b: Mutex<u32> }');
  lib.push('impl S {');
  lib.push('    pub fn both(&self) { let _x = self.a.lock().unwrap(); self.inner(); }');
  lib.push('    pub fn inner(&self) { let _y = self.b.lock().unwrap(); crate::m0::f0(1); }');
  lib.push('    pub fn back(&self) { let _y = self.b.lock().unwrap(); self.both(); }');
  lib.push('}');
  lib.push('impl Sink for S { fn emit(&self) { let _z = self.a.lock().unwrap(); } }');
  fs.writeFileSync(path.join(dir, 'src', 'lib.rs'), lib.join('\n') + '\n');
  const where = (i: number) => `crate::m${Math.floor(i / per)}::f${i}`;
  for (let m = 0; m < modules; m++) {
    const out = ['use crate::Sink;', ''];
    for (let i = m * per; i < Math.min(n, (m + 1) * per); i++) {
      // A long chain i -> i+1 (deeper than the cap), plus jumps and calls back: rings of every size.
      const callees = [(i + 1) % n, (i * 7 + 3) % n, i % 5 === 0 ? (i + n - 2) % n : (i + 11) % n];
      out.push(`pub fn f${i}(d: u32) -> u64 {`);
      out.push('    if d == 0 { return 1; }');
      if (i % 9 === 0) {
        out.push(`    let g = crate::L${(i / 9) % 8}.lock().unwrap();`);
        out.push(`    let s = ${where(callees[0])}(d - 1);`);
        out.push('    drop(g);');
      } else if (i % 13 === 0) {
        out.push('    let r = crate::R.read().unwrap();');
        out.push(`    let s = ${where(callees[0])}(d - 1) + *r;`);
      } else {
        out.push(`    let s = ${where(callees[0])}(d - 1);`);
      }
      if (i % 17 === 0) out.push('    let t = crate::L0.try_lock();');
      if (i % 23 === 0) out.push('    let s2 = crate::S { a: std::sync::Mutex::new(0), b: std::sync::Mutex::new(0) }; s2.emit(); s2.back();');
      out.push(`    ${where(callees[1])}(d - 1) + ${where(callees[2])}(d - 1) + s`);
      out.push('}');
      out.push('');
    }
    fs.writeFileSync(path.join(dir, 'src', `m${m}.rs`), out.join('\n'));
  }
}

describe('incremental lock graph', () => {
  for (const [name, seed] of [
    ['midas', 1],
    ['flyio', 2],
    ['cycle3', 3],
    ['workspace', 4],
    ['traits', 5],
    ['closures', 6],
    ['clean', 7],
    ['samenames', 8],
    ['spawned', 9],
  ] as const) {
    test(`fixture ${name}: 60 random edits, each update equal to a full build`, async () => {
      const r = await replay(path.join(FIX, name), seed, 60);
      assert.equal(r.edits, 60);
    });
  }

  test('demo crate with a declared hierarchy: 40 random edits', async () => {
    const r = await replay(path.join(ROOT, 'examples', 'demo-crate'), 11, 40);
    // Files edited twice: the functions the second edit did not touch come back as the same
    // summaries, and their state is kept as it was (the shortcut is compared with full builds too).
    assert.ok(r.kept > 0, 'no function of an edited file was kept as it was');
  });

  test('generated crate with chains deeper than the cap and mutual recursion: 80 random edits', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'locklens-inc-'));
    try {
      generatedCrate(dir, 240);
      const r = await replay(dir, 12345, 80);
      // The updates must have been incremental (not fresh builds) for the comparison to mean anything.
      assert.ok(r.incremental >= 60, `only ${r.incremental} incremental updates`);
      assert.ok(r.edges > 5, `edges: ${r.edges}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('tokio (when installed): 25 random edits', async (t) => {
    const tokio = '/usr/share/cargo/registry/tokio-1.24.2';
    if (!fs.existsSync(tokio)) return t.skip('librust-tokio-dev is not installed');
    const r = await replay(tokio, 99, 25, false);
    assert.ok(r.incremental >= 20, `only ${r.incremental} incremental updates`);
  });

  test('a change exactly at the depth cap, and under a spawned closure, reaches the callers that hold the guard', async () => {
    // h holds A and calls c1; c1 -> .. -> c11 (ten calls) takes B in leaf.rs: the evidence
    // for A -> B reads c1's entries, which see leaf.rs only at the cap. h2 makes the same call
    // in a spawned closure that takes A itself (a deferred call: not a reach edge).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'locklens-inc-'));
    try {
      fs.mkdirSync(path.join(dir, 'src'));
      fs.writeFileSync(path.join(dir, 'Cargo.toml'), '[package]\nname = "cap"\nversion = "0.1.0"\nedition = "2021"\n');
      fs.writeFileSync(
        path.join(dir, 'src', 'lib.rs'),
        'use std::sync::Mutex;\npub mod chain;\npub mod leaf;\npub mod holder;\npub static A: Mutex<u32> = Mutex::new(0);\npub static B: Mutex<u32> = Mutex::new(0);\npub static C: Mutex<u32> = Mutex::new(0);\n',
      );
      const chain = [];
      for (let i = 1; i <= 10; i++) chain.push(`pub fn c${i}() { ${i === 10 ? 'crate::leaf::c11' : `c${i + 1}`}(); }`);
      fs.writeFileSync(path.join(dir, 'src', 'chain.rs'), chain.join('\n') + '\n');
      const leaf = 'pub fn c11() { let _b = crate::B.lock().unwrap(); }\n';
      fs.writeFileSync(path.join(dir, 'src', 'leaf.rs'), leaf);
      fs.writeFileSync(
        path.join(dir, 'src', 'holder.rs'),
        'pub fn h() { let _a = crate::A.lock().unwrap(); crate::chain::c1(); }\npub fn h2() { std::thread::spawn(move || { let _a = crate::C.lock().unwrap(); crate::chain::c1(); }); }\n',
      );
      const engine = await getEngine();
      const result = await checkWorkspace(discoverWorkspace(dir), { threads: 1 });
      const crate = result.crates[0];
      const graphs = new LockGraphEngine();
      const edges = (g: ReturnType<typeof buildLockGraph>) => g.edges.map((e) => `${e.from}->${e.to}`).sort();
      assert.deepEqual(edges(graphs.update(inputOf(result))), ['A->B', 'C->B']);
      const texts = [leaf.replace('crate::B', 'crate::C'), leaf.replace('let _b = crate::B.lock().unwrap();', ''), leaf, '\n' + leaf];
      const expected = [['A->C'], [], ['A->B', 'C->B'], ['A->B', 'C->B']];
      for (const [k, text] of texts.entries()) {
        reanalyse(engine, crate, 'src/leaf.rs', text);
        const input = inputOf(result);
        const inc = graphs.update(input);
        assert.ok(!graphs.lastStats.reset);
        assert.deepStrictEqual(inc, buildLockGraph(input), `edit ${k + 1}`);
        assert.deepEqual(edges(inc), expected[k], `edit ${k + 1}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the language server\'s builders of one workspace share an engine and agree with a fresh build', async () => {
    const result = await checkWorkspace(discoverWorkspace(path.join(FIX, 'midas')), { threads: 1 });
    const engine = await getEngine();
    const owner = {};
    const files = () => inputOf(result).files.map((f) => ({ crate: f.crate, analysis: f.analysis, declarations: f.declarations }));
    new LockGraphBuilder(files(), {}, owner).get();
    const shared = graphEngineOf(owner);
    assert.ok(shared);
    const crate = result.crates[0];
    reanalyse(engine, crate, 'src/odb.rs', '\n' + crate.texts.get('src/odb.rs')!);
    const updated = new LockGraphBuilder(files(), {}, owner);
    assert.deepStrictEqual(updated.get(), new LockGraphBuilder(files()).get());
    assert.equal(graphEngineOf(owner), shared);
    assert.ok(!shared.lastStats.reset && shared.lastStats.changedFiles === 1);
    assert.ok(updated.findings().some((f) => f.rule === 'lock-order-inversion' && f.range.start.line + 1 === 12), 'the inversion moved down a line with the edit');
  });

  test('files leaving, coming back, added in the middle and reordered (the language server lists only analysed files)', async () => {
    const result = await checkWorkspace(discoverWorkspace(path.join(FIX, 'cycle3')), { threads: 1 });
    const all = inputOf(result).files;
    assert.ok(all.length >= 3);
    const graphs = new LockGraphEngine();
    const steps = [all, all.slice(1), all, [all[0], ...all.slice(2)], all, [...all].reverse(), all.slice(0, 1), all];
    for (const [k, files] of steps.entries()) {
      assert.deepStrictEqual(graphs.update({ files }), buildLockGraph({ files }), `step ${k + 1}`);
    }
    // Removing one file and putting it back are incremental updates; a new order starts over.
    graphs.update({ files: all.slice(1) });
    assert.ok(!graphs.lastStats.reset);
    graphs.update({ files: all });
    assert.ok(!graphs.lastStats.reset);
    graphs.update({ files: [...all].reverse() });
    assert.ok(graphs.lastStats.reset);
  });

  test('an unchanged input returns the same graph; a changed configuration starts over', async () => {
    const result = await checkWorkspace(discoverWorkspace(path.join(FIX, 'midas')), { threads: 1 });
    const input = inputOf(result);
    const graphs = new LockGraphEngine();
    const first = graphs.update(input);
    assert.equal(graphs.update({ ...input, files: [...input.files] }), first);
    const strict = graphs.update({ ...input, reentrant: ['msg::SYSMSG'] });
    assert.ok(graphs.lastStats.reset);
    assert.deepStrictEqual(strict, buildLockGraph({ ...input, reentrant: ['msg::SYSMSG'] }));
  });
});
