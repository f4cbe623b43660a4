// Declarations after an edit inside a function body are the old ones with positions moved
// (Engine.declarations with `previous`): on thousands of random edits of real fixture files,
// whenever that shortcut is taken its result must equal a fresh collection from the new tree.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { sameData } from '../../server/src/analysis/cache';
import { collectDeclarations, ItemCache, shiftDeclarations } from '../../server/src/analysis/declarations';
import type { TreeEdit } from '../../server/src/analysis';
import { pointAt } from '../../server/src/lsp/documents';
import { getTestEngine, ROOT } from '../support/engine-harness';

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

/** Insertions that keep, end, or break a body: plain code, newlines, braces, strings, comments, items. */
const INSERTS = ['x', ' let _t = 1;', '\n', '\n    ', '{', '}', '"', '/*', '//', 'fn inner() {}', 'struct S;', ')', 'é🦀', ';'];

function edit(text: string, start: number, oldEnd: number, inserted: string): { text: string; edit: TreeEdit } {
  const next = text.slice(0, start) + inserted + text.slice(oldEnd);
  return {
    text: next,
    edit: {
      startIndex: start,
      oldEndIndex: oldEnd,
      newEndIndex: start + inserted.length,
      startPosition: pointAt(text, start),
      oldEndPosition: pointAt(text, oldEnd),
      newEndPosition: pointAt(next, start + inserted.length),
    },
  };
}

test('shifted declarations equal freshly collected ones after random edits', async (t) => {
  const engine = await getTestEngine();
  const files = ['regions/bindings.rs', 'regions/closures.rs', 'regions/patterns.rs', 'rules/double_lock.rs', 'rules/scrutinee_guard.rs', 'graph/midas/src/odb.rs'].map((f) => path.join(ROOT, 'test', 'fixtures', f));
  const rand = prng(7);
  let shifted = 0;
  let fresh = 0;
  for (const file of files) {
    const original = fs.readFileSync(file, 'utf8');
    let text = original;
    let parsed = engine.parse(text);
    let decls = collectDeclarations(parsed.tree.rootNode, 'src/x.rs', text);
    const items = new ItemCache();
    collectDeclarations(parsed.tree.rootNode, 'src/x.rs', text, items);
    for (let i = 0; i < 300; i++) {
      // Runs of five edits, each run from the original text: a broken file stays broken for the
      // rest of its run only.
      if (i % 5 === 0 && i > 0) {
        parsed.dispose();
        text = original;
        parsed = engine.parse(text);
        decls = collectDeclarations(parsed.tree.rootNode, 'src/x.rs', text);
      }
      // Mostly inside bodies (where the shortcut applies), sometimes anywhere.
      const bodies = decls.functions.filter((f) => f.bodyRange);
      let start: number;
      if (bodies.length > 0 && rand() < 0.85) {
        const f = bodies[Math.floor(rand() * bodies.length)];
        const lines = text.split('\n');
        const offsetOf = (p: { line: number; column: number }) => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.column;
        const a = offsetOf(f.bodyRange!.start);
        const b = offsetOf(f.bodyRange!.end);
        start = a + Math.floor(rand() * (b - a + 1));
      } else start = Math.floor(rand() * (text.length + 1));
      const del = rand() < 0.3 ? Math.floor(rand() * 6) : 0;
      const inserted = rand() < 0.2 && del > 0 ? '' : INSERTS[Math.floor(rand() * INSERTS.length)];
      const change = edit(text, start, Math.min(text.length, start + del), inserted);
      const next = engine.parse(change.text, parsed, [change.edit]);
      parsed.dispose();
      parsed = next;
      text = change.text;
      const expected = collectDeclarations(parsed.tree.rootNode, 'src/x.rs', text);
      // Collecting again with the unchanged top-level items taken from the cache gives the same.
      assert.ok(sameData(collectDeclarations(parsed.tree.rootNode, 'src/x.rs', text, items), expected), `item cache, ${path.basename(file)} edit ${i}`);
      const quick = shiftDeclarations(decls, [change.edit], parsed.tree.rootNode);
      if (quick) {
        shifted++;
        assert.ok(sameData(quick, expected), `${path.basename(file)} edit ${i} at ${start}: ${JSON.stringify(inserted)} (-${del})`);
      } else fresh++;
      // The engine's entry point gives the same answer either way.
      assert.ok(sameData(engine.declarations(parsed, 'src/x.rs', { declarations: decls, edits: [change.edit] }), expected));
      decls = expected;
    }
    parsed.dispose();
  }
  // The shortcut must be the common case for edits inside bodies, and not the only one.
  assert.ok(shifted > 700, `shifted ${shifted}`);
  t.diagnostic(`${shifted} edits took the shortcut, ${fresh} collected afresh`);
  assert.ok(fresh > 50, `fresh ${fresh}`);
});

test('an edit inside an accessor body reads the path it returns again', async () => {
  const engine = await getTestEngine();
  const text = 'use std::sync::Mutex;\npub struct S { a: Mutex<u32>, b: Mutex<u32> }\nimpl S {\n    fn lock_ref(&self) -> &Mutex<u32> { &self.a }\n}\n';
  const parsed = engine.parse(text);
  const before = collectDeclarations(parsed.tree.rootNode, 'src/x.rs', text);
  assert.equal(before.functions[0].lockPath, 'self.a');
  const at = text.indexOf('self.a') + 'self.'.length;
  for (const [inserted, expected] of [['b', 'self.b'], ['b.len(); &self.b', undefined]] as const) {
    const change = edit(text, at, at + 1, inserted);
    const next = engine.parse(change.text, parsed, [change.edit]);
    try {
      const shifted = shiftDeclarations(before, [change.edit], next.tree.rootNode);
      assert.ok(shifted, 'the edit stays inside the body');
      assert.equal(shifted.functions[0].lockPath, expected);
      assert.ok(sameData(shifted, collectDeclarations(next.tree.rootNode, 'src/x.rs', change.text)));
    } finally {
      next.dispose();
    }
  }
  parsed.dispose();
});
