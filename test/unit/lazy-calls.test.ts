// A one-shot engine finds the calls of a function that takes no lock only when they are read
// (the lock graph reads few of them). Read late, after the trees are freed, they must be what an
// editor's engine finds at once; and copies of a summary must carry them.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { buildCrateIndex, createEngine, type Engine, type EngineOptions, type FileAnalysis } from '../../server/src/analysis';
import { LockGraphEngine } from '../../server/src/analysis/graph';
import { summarize, type FunctionFacts } from '../../server/src/analysis/functions';
import type { CheckResult } from '../../server/src/workspace/check';
import { unreadCallWarnings } from '../../server/src/workspace/graph';
import { locateWasm } from '../../server/src/workspace/wasm';

const TEXT = [
  'use std::sync::Mutex;',
  'pub struct S { m: Mutex<u32>, v: Vec<u32> }',
  'impl S {',
  '    pub fn outer(&self, v: &[u8]) -> usize {',
  '        #[inline]',
  '        fn inner(v: &[u8]) -> Vec<u8> { v.to_vec() }',
  '        let w = inner(v);',
  '        w.len() + self.v.len()',
  '    }',
  '    pub fn closures(&self) -> u32 {',
  '        let h = std::thread::spawn(move || compute(1));',
  '        self.v.iter().map(|x| compute(*x)).sum::<u32>() + h.join().unwrap()',
  '    }',
  '    pub fn callback(&self, f: impl Fn(u32) -> u32) -> u32 { f(compute(2)) }',
  '    pub fn pattern(&self, (a, b): (u32, u32)) -> u32 { compute(a) + compute(b) }',
  '    pub fn locks(&self) -> u32 { let g = self.m.lock().unwrap(); compute(*g) }',
  '}',
  'fn compute(x: u32) -> u32 { x.wrapping_mul(3) }',
  '',
].join('\n');

const options: EngineOptions = { edition: '2021' };

function pending(a: FileAnalysis): string[] {
  return a.functions.filter((s) => Object.getOwnPropertyDescriptor(s, 'calls')?.get !== undefined).map((s) => s.qualifiedName);
}

async function analyses(): Promise<{ editor: FileAnalysis; scanned: FileAnalysis; whole: FileAnalysis }> {
  const editor: Engine = await createEngine(locateWasm());
  const oneShot: Engine = await createEngine({ ...locateWasm(), reuseResults: false });
  const parsed = editor.parse(TEXT);
  try {
    const index = buildCrateIndex('2021', [editor.declarations(parsed, 'lib.rs')]);
    const scanned = oneShot.scan(TEXT, 'lib.rs');
    assert.ok(scanned);
    const wholeTree = oneShot.parse(TEXT);
    let whole: FileAnalysis;
    try {
      whole = oneShot.analyzeFile(wholeTree, 'lib.rs', index, options);
    } finally {
      wholeTree.dispose();
    }
    return { editor: editor.analyzeFile(parsed, 'lib.rs', index, options), scanned: oneShot.analyzeFile(scanned, 'lib.rs', index, options), whole };
  } finally {
    parsed.dispose();
  }
}

describe('calls found when read', () => {
  test('only functions that take no lock and call no parameter wait; read late, they equal the editor engine\'s', async () => {
    const { editor, scanned, whole } = await analyses();
    assert.deepEqual(pending(editor), []);
    const lazy = ['S::outer', 'outer::inner', 'S::closures', 'S::pattern', 'compute'];
    assert.deepEqual(pending(scanned), lazy);
    assert.deepEqual(pending(whole), lazy);
    // Read after the trees are gone.
    assert.deepStrictEqual(scanned, editor);
    assert.deepStrictEqual(whole, editor);
    assert.deepEqual(pending(scanned), []);
    const calls = (a: FileAnalysis, name: string) => a.functions.find((s) => s.qualifiedName === name)!.calls;
    assert.deepEqual(calls(whole, 'S::outer').map((c) => c.calleeText), ['inner', 'w.len', 'self.v.len']);
    const inClosures = calls(whole, 'S::closures');
    assert.deepEqual(inClosures.filter((c) => c.deferred).map((c) => c.calleeText), ['compute']);
    assert.ok(inClosures.some((c) => c.name === 'map' && c.closureArgs?.[0].index === 0));
    assert.equal(calls(whole, 'S::callback').find((c) => c.name === 'f')?.paramIndex, 0);
  });

  test('copies carry the calls: JSON, structuredClone (a worker\'s message), spread', async () => {
    const { editor, whole } = await analyses();
    assert.equal(JSON.stringify(whole), JSON.stringify(editor));
    const fresh = (await analyses()).scanned;
    assert.ok(pending(fresh).length > 0);
    assert.deepStrictEqual(structuredClone(fresh), editor);
    const summary = (await analyses()).scanned.functions.find((s) => s.qualifiedName === 'compute')!;
    assert.deepEqual({ ...summary }.calls.map((c) => c.calleeText), ['x.wrapping_mul']);
    // Writable like any field.
    summary.calls = [];
    assert.deepEqual(summary.calls, []);
  });

  test('calls that fail to be found cost that function its calls, not the graph', async () => {
    const { editor, scanned } = await analyses();
    const engine = await createEngine(locateWasm());
    const parsed = engine.parse(TEXT);
    const declarations = engine.declarations(parsed, 'lib.rs');
    parsed.dispose();
    const decl = declarations.functions.find((d) => d.qualifiedName === 'compute')!;
    // An engine bug in the late call scan, as a function's facts would surface it.
    const failing = {
      decl,
      qualifiedName: 'compute',
      isAsync: false,
      acquisitions: [],
      deferred: new Set<string>(),
      callsPending: true,
      get calls(): never {
        throw new Error('scan failed');
      },
    } as unknown as FunctionFacts;
    const summary = summarize(failing, 'lib.rs');
    assert.equal(summary.callsError, undefined, 'nothing is found before the calls are read');
    const analysis: FileAnalysis = { ...scanned, functions: scanned.functions.map((s) => (s.qualifiedName === 'compute' ? summary : s)) };
    const graph = new LockGraphEngine({ once: true }).update({ files: [{ crate: 'c', analysis, declarations }] });
    const expected = new LockGraphEngine({ once: true }).update({ files: [{ crate: 'c', analysis: editor, declarations }] });
    assert.deepEqual(graph.nodes.map((n) => n.id), expected.nodes.map((n) => n.id));
    assert.equal(summary.callsError, 'scan failed', 'the graph read the calls (S::locks calls compute under its guard)');
    assert.deepEqual(summary.calls, []);
    assert.equal(JSON.parse(JSON.stringify(summary)).callsError, 'scan failed');
    const result = { crates: [{ files: [analysis] }] } as unknown as CheckResult;
    assert.deepEqual(unreadCallWarnings(result), ['warning: lib.rs:18: calls of compute left out of the lock graph: internal error (scan failed); please report it with the file']);
  });
});
