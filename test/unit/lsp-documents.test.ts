// Incremental sync: LSP content changes -> tree-sitter edits, and the per-document tree cache.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { applyContentChanges, DocumentStore, pointAt } from '../../server/src/lsp/documents';
import { FakeEngine } from '../support/lsp-fake-host';
import type { TreeEditLike } from '../../server/src/lsp/host';

/** Replays tree-sitter edits on the old text using the new text's content, as tree-sitter does. */
function checkEdit(oldText: string, newText: string, e: TreeEditLike): void {
  assert.equal(oldText.slice(0, e.startIndex), newText.slice(0, e.startIndex), 'text before the edit is unchanged');
  assert.equal(oldText.slice(e.oldEndIndex), newText.slice(e.newEndIndex), 'text after the edit is unchanged');
  assert.deepEqual(e.startPosition, pointAt(oldText, e.startIndex));
  assert.deepEqual(e.oldEndPosition, pointAt(oldText, e.oldEndIndex));
  assert.deepEqual(e.newEndPosition, pointAt(newText, e.newEndIndex));
}

describe('applyContentChanges', () => {
  it('turns a ranged change into an exact tree-sitter edit (UTF-16 columns, surrogate pairs)', () => {
    const text = 'fn main() {\n    let s = "🔒 lock";\n}\n';
    const doc = TextDocument.create('file:///a.rs', 'rust', 1, text);
    // Replace `lock` after the emoji (a surrogate pair: 2 UTF-16 units).
    const col = '    let s = "🔒 '.length;
    const { document, edits } = applyContentChanges(doc, [{ range: { start: { line: 1, character: col }, end: { line: 1, character: col + 4 } }, text: 'guard\nheld' }], 2);
    assert.equal(document.getText(), 'fn main() {\n    let s = "🔒 guard\nheld";\n}\n');
    assert.equal(edits!.length, 1);
    checkEdit(text, document.getText(), edits![0]);
    assert.deepEqual(edits![0].startPosition, { row: 1, column: col });
    assert.deepEqual(edits![0].newEndPosition, { row: 2, column: 4 });
  });

  it('handles several changes in one notification, each against the previous result', () => {
    const text = 'a\r\nbb\r\nccc\r\n';
    const doc = TextDocument.create('file:///a.rs', 'rust', 1, text);
    const changes = [
      { range: { start: { line: 2, character: 0 }, end: { line: 2, character: 3 } }, text: 'X' },
      { range: { start: { line: 0, character: 1 }, end: { line: 1, character: 2 } }, text: '' },
      { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: 'new\r\n' },
    ];
    let current = text;
    let d = doc;
    for (const change of changes) {
      const { document, edits } = applyContentChanges(d, [change], 2);
      checkEdit(current, document.getText(), edits![0]);
      current = document.getText();
      d = document;
    }
    // TextDocument.update mutates the document: start again from a fresh one.
    const all = applyContentChanges(TextDocument.create('file:///a.rs', 'rust', 1, text), changes, 2);
    assert.equal(all.document.getText(), current);
    assert.equal(all.edits!.length, 3);
    assert.equal(current, 'new\r\na\r\nX\r\n');
  });

  it('finds the same points through the line index as by scanning the text (text without \\r)', () => {
    let text = 'fn a() {\n    let g = m.lock();\n}\n\n// 🔒 é\nfn b() {}\n';
    let doc = TextDocument.create('file:///a.rs', 'rust', 1, text);
    let seed = 7;
    const pick = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let i = 0; i < 300; i++) {
      const lines = text.split('\n');
      const line = pick(lines.length);
      const character = pick(lines[line].length + 1);
      const end = pick(3) === 0 ? { line: Math.min(lines.length - 1, line + 1), character: pick(4) } : { line, character: character + pick(3) };
      const inserted = ['', 'x', '\n', 'ab\ncd', '🔒', '\n\n'][pick(6)];
      const { document, edits } = applyContentChanges(doc, [{ range: { start: { line, character }, end }, text: inserted }], i + 2);
      checkEdit(text, document.getText(), edits![0]);
      text = document.getText();
      doc = document;
    }
  });

  it('reports a full-text change as "no reusable tree"', () => {
    const doc = TextDocument.create('file:///a.rs', 'rust', 1, 'old');
    const { document, edits } = applyContentChanges(doc, [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: 'x' }, { text: 'new' }], 3);
    assert.equal(document.getText(), 'new');
    assert.equal(edits, undefined);
  });

  it('clamps positions past the end of a line or the document like the text document does', () => {
    const text = 'ab\ncd';
    const doc = TextDocument.create('file:///a.rs', 'rust', 1, text);
    const { document, edits } = applyContentChanges(doc, [{ range: { start: { line: 0, character: 10 }, end: { line: 9, character: 0 } }, text: '!' }], 2);
    assert.equal(document.getText(), 'ab!');
    checkEdit(text, document.getText(), edits![0]);
  });
});

describe('DocumentStore tree cache', () => {
  it('parses once, re-parses incrementally after edits, and disposes replaced trees', () => {
    const engine = new FakeEngine();
    const store = new DocumentStore(() => engine);
    const entry = store.open('file:///a.rs', 'rust', 1, 'fn a() {}\n');
    const first = store.parsed(entry)!;
    assert.equal(store.parsed(entry), first, 'cached while the version is unchanged');
    store.change('file:///a.rs', 2, [{ range: { start: { line: 0, character: 3 }, end: { line: 0, character: 4 } }, text: 'b' }]);
    store.change('file:///a.rs', 3, [{ range: { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } }, text: 'fn c() {}\n' }]);
    const second = store.parsed(entry)!;
    assert.notEqual(second, first);
    assert.equal(second.text, 'fn b() {}\nfn c() {}\n');
    const last = engine.parses[engine.parses.length - 1];
    assert.equal(last.incremental, true);
    assert.equal(last.edits.length, 2, 'edits queued across notifications');
    assert.equal(last.previousText, 'fn a() {}\n');
    assert.equal(engine.live, 1, 'the old tree was disposed');
    store.change('file:///a.rs', 4, [{ text: 'fn d() {}' }]);
    store.parsed(entry);
    assert.equal(engine.parses[engine.parses.length - 1].incremental, false, 'full change: full parse');
    assert.equal(engine.live, 1);
    store.close('file:///a.rs');
    assert.equal(engine.live, 0, 'closing disposes the tree');
    assert.deepEqual(entry.stats, { incremental: 1, full: 2 });
  });

  it('falls back to a full parse when the incremental parse throws', () => {
    const engine = new FakeEngine();
    const original = engine.parse.bind(engine);
    engine.parse = (text, previous, edits) => {
      if (previous) throw new Error('incremental parse failed');
      return original(text);
    };
    const store = new DocumentStore(() => engine);
    const entry = store.open('file:///b.rs', 'rust', 1, 'x');
    store.parsed(entry);
    store.change('file:///b.rs', 2, [{ range: { start: { line: 0, character: 1 }, end: { line: 0, character: 1 } }, text: 'y' }]);
    assert.equal(store.parsed(entry)!.text, 'xy');
    assert.equal(engine.live, 1);
    store.dispose();
    assert.equal(engine.live, 0);
  });
});

describe('incremental parsing with the real tree-sitter engine', () => {
  it('matches a fresh parse after many random multi-change edits (UTF-16, emoji, CRLF)', async () => {
    const { createEngine } = await import('../../server/src/analysis');
    const { locateWasm } = await import('../../server/src/workspace');
    const engine = await createEngine(locateWasm());
    const store = new DocumentStore(() => engine);
    const fs = await import('node:fs');
    const path = await import('node:path');
    const source = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'examples', 'demo-crate', 'src', 'cache.rs'), 'utf8');
    const entry = store.open('file:///fuzz.rs', 'rust', 1, source);
    store.parsed(entry);
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pieces = ['x', ' ', '\n', '\r\n', '🔒', 'é', '{', '}', 'let g = m.lock().unwrap();', '"s"', '//c\n', ''];
    const sexp = (p: unknown) => (p as { tree: { rootNode: { toString(): string } } }).tree.rootNode.toString();
    for (let version = 2; version < 150; version++) {
      const changes = [];
      let text = entry.document.getText();
      for (let k = 0, n = 1 + rnd(3); k < n; k++) {
        const doc = TextDocument.create('file:///tmp.rs', 'rust', 0, text);
        let a = rnd(text.length + 1);
        let b = Math.min(text.length, a + rnd(6));
        // Never split a surrogate pair: editors do not.
        if (a > 0 && a < text.length && /[\uDC00-\uDFFF]/.test(text[a])) a--;
        if (b > 0 && b < text.length && /[\uDC00-\uDFFF]/.test(text[b])) b++;
        const insert = pieces[rnd(pieces.length)];
        changes.push({ range: { start: doc.positionAt(a), end: doc.positionAt(b) }, text: insert });
        text = text.slice(0, a) + insert + text.slice(b);
      }
      store.change('file:///fuzz.rs', version, changes);
      assert.equal(entry.document.getText(), text);
      const incremental = store.parsed(entry)!;
      const fresh = engine.parse(text);
      try {
        assert.equal(sexp(incremental), sexp(fresh), `tree differs after edit ${version}`);
      } finally {
        fresh.dispose();
      }
    }
    assert.ok(entry.stats.incremental >= 140, JSON.stringify(entry.stats));
    store.dispose();
    engine.dispose();
  });
});
