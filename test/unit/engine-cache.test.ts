// The editor engine keeps per-function results across analyses. A function's result is reused
// exactly when nothing it reads changed: its own text and place, and what other files declare
// that analysis looks at (structs, statics, imports, guard-returning functions).

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { buildCrateIndex, createEngine, type Engine, type FileAnalysis } from '../../server/src/analysis';
import { locateWasm } from '../../server/src/workspace/wasm';

const USER = `use std::sync::Mutex;
use crate::b::S;
pub fn use_it(s: &S) -> u32 {
    let g = s.m.lock().unwrap();
    let h = s.guard();
    *g + *h
}
`;

function other(field: string, extra: string): string {
  return `use std::sync::{Mutex, MutexGuard, RwLock};
pub struct S { pub m: ${field}, pub n: Mutex<u32> }
impl S {
${extra}
}
`;
}

async function analyse(engine: Engine, b: string): Promise<FileAnalysis> {
  const pa = engine.parse(USER);
  const pb = engine.parse(b);
  try {
    const index = buildCrateIndex('2021', [engine.declarations(pa, 'src/a.rs'), engine.declarations(pb, 'src/b.rs')]);
    return engine.analyzeFile(pa, 'src/a.rs', index, { edition: '2021' });
  } finally {
    pa.dispose();
    pb.dispose();
  }
}

test('results are reused across unrelated declaration changes and recomputed when a read declaration changes', async () => {
  const engine = await createEngine({ ...locateWasm(), reuseResults: true });
  const plain = '    pub fn other(&self, x: u32) -> u32 { x }';
  const guard = "    pub fn guard(&self) -> MutexGuard<'_, u32> { self.n.lock().unwrap() }";
  const first = await analyse(engine, other('Mutex<u32>', plain));
  assert.deepEqual(first.acquisitions.map((a) => `${a.lock} ${a.mode}`), ['S.m mutex']);

  // Another function's signature changes: `use_it` reads nothing of it, its result is the same object.
  const renamed = await analyse(engine, other('Mutex<u32>', '    pub fn other(&self, x: u64, y: bool) -> u64 { x }'));
  assert.equal(renamed.acquisitions[0], first.acquisitions[0]);
  assert.equal(renamed.functions[0], first.functions[0]);

  // A function that returns a guard appears: `s.guard()` becomes an acquisition.
  const withGuard = await analyse(engine, other('Mutex<u32>', guard));
  assert.deepEqual(withGuard.acquisitions.map((a) => `${a.lock} ${a.mode}`), ['S.m mutex', 'S.n mutex']);

  // The field's type changes: `lock()` on an RwLock is no acquisition any more.
  const rw = await analyse(engine, other('RwLock<u32>', guard));
  assert.deepEqual(rw.acquisitions.map((a) => `${a.lock} ${a.mode}`), ['S.n mutex']);
});

test('a reused result that moved quotes its new lines, and keeps the lock declarations where they are', async () => {
  const cached = await createEngine(locateWasm());
  const fresh = await createEngine({ ...locateWasm(), reuseResults: false });
  const single = (engine: Engine, text: string): FileAnalysis => {
    const p = engine.parse(text);
    try {
      return engine.analyzeFile(p, 'src/lib.rs', buildCrateIndex('2021', [engine.declarations(p, 'src/lib.rs')]), { edition: '2021' });
    } finally {
      p.dispose();
    }
  };
  const text = [
    'use std::sync::{Mutex, RwLock};',
    'pub struct Monitor { beats: Mutex<u32>, names: RwLock<Vec<String>> }',
    'impl Monitor {',
    '    pub fn first(&self) -> u32 {',
    '        let b = self.beats.lock().unwrap();',
    '        *b',
    '    }',
    '    pub fn later(&self) -> usize {',
    '        let names = self.names.read().unwrap();',
    '        let n = names.len();',
    '        std::thread::sleep(std::time::Duration::from_millis(1));',
    '        let m = n + 1;',
    '        let k = m + 1;',
    '        k',
    '    }',
    '}',
    'pub struct Below { lock: Mutex<u8> }',
    'pub fn below(b: &Below) -> u8 { let g = b.lock.lock().unwrap(); std::thread::sleep(std::time::Duration::from_millis(1)); *g }',
  ].join('\n');
  single(cached, text);
  const lines = text.split('\n');
  const edits = {
    // `later` and `below` move one line down; Monitor stays.
    'a line in an earlier function': [...lines.slice(0, 5), '        let _extra = 1;', ...lines.slice(5)],
    // Everything moves, Monitor's fields too.
    'a line above the struct': ['// a comment', ...lines],
  };
  for (const [what, edited] of Object.entries(edits)) {
    const after = edited.join('\n');
    const reused = single(cached, after);
    assert.deepStrictEqual(reused, single(fresh, after), what);
    // The messages quote lines (`last used at line N`, `acquired at line N`): they moved too.
    assert.ok(reused.findings.some((f) => /line \d+/.test(f.message)), what);
  }
});
