// After an edit, the language server publishes the document's own findings before it refreshes
// the crate's lock graph, with the crate-wide findings of the last refresh (moved with the edit);
// the refresh publishes the document again only if its crate-wide findings changed. Whatever the
// order, the last publication for a version must be what a fresh server publishes for that text,
// and nothing stale may stay behind.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Diagnostic, PublishDiagnosticsParams, TextDocumentContentChangeEvent } from 'vscode-languageserver-protocol';
import { defaultHost } from '../../server/src/lsp/defaultHost';
import { LspHarness } from '../support/lsp-harness';

/** Two methods taking `a` and `b`; `backward` takes them in the order given. */
function pairSource(first: 'a' | 'b', second: 'a' | 'b'): string {
  return [
    'use std::sync::Mutex;',
    '',
    'pub struct Pair {',
    '    a: Mutex<u32>,',
    '    b: Mutex<u32>,',
    '}',
    '',
    'impl Pair {',
    '    pub fn forward(&self) {',
    '        let x = self.a.lock().unwrap();',
    '        let y = self.b.lock().unwrap();',
    '        drop(y);',
    '        drop(x);',
    '    }',
    '',
    '    pub fn backward(&self) {',
    `        let x = self.${first}.lock().unwrap();`,
    `        let y = self.${second}.lock().unwrap();`,
    '        drop(y);',
    '        drop(x);',
    '    }',
    '}',
    '',
  ].join('\n');
}

const INVERTED = pairSource('b', 'a');
const ORDERED = pairSource('a', 'b');
const isInversion = (d: Diagnostic) => d.code === 'lock-order-inversion';

/** Sorted, so that two servers' lists compare whatever order they come in. */
const normal = (diags: readonly Diagnostic[]) => diags.map((d) => JSON.stringify(d)).sort();

/** Applies one change to `text` (for the fresh server's copy of what the edited one has). */
function apply(text: string, change: { range: { start: { line: number; character: number }; end: { line: number; character: number } }; text: string }): string {
  const lines = text.split('\n');
  const offset = (p: { line: number; character: number }) => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
  return text.slice(0, offset(change.range.start)) + change.text + text.slice(offset(change.range.end));
}

/**
 * Every publication for `uri` from now on until `done` holds for them (the harness re-checks a
 * waiter on each message from the server, so each publication is seen once).
 */
function publicationsUntil(lsp: LspHarness, uri: string, done: (pubs: PublishDiagnosticsParams[], statuses: number) => boolean, what: string): Promise<PublishDiagnosticsParams[]> {
  const pubs: PublishDiagnosticsParams[] = [];
  const first = lsp.diagnostics.get(uri);
  const statuses = lsp.statuses.length;
  return lsp.waitFor(what, () => {
    const p = lsp.diagnostics.get(uri);
    if (p && p !== first && pubs[pubs.length - 1] !== p) pubs.push(p);
    return done(pubs, lsp.statuses.length - statuses) ? pubs : undefined;
  });
}

describe('language server: own findings first, then the lock graph', () => {
  let dir: string;
  let file: string;
  const lsp = new LspHarness({ host: defaultHost(), configuration: () => ({}), debounceMs: 0 });

  /** What a server started on the same crate publishes for `text`, opened as version 1. */
  async function fresh(text: string): Promise<Diagnostic[]> {
    const server = new LspHarness({ host: defaultHost(), configuration: () => ({}), debounceMs: 0 });
    try {
      await server.initialize([dir]);
      await server.waitForReady();
      const uri = await server.open(file, text);
      return (await server.waitForDiagnostics(uri, (p) => p.version === 1, 'fresh diagnostics')).diagnostics;
    } finally {
      await server.dispose();
    }
  }

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'locklens-early-'));
    fs.mkdirSync(path.join(dir, 'src'));
    fs.writeFileSync(path.join(dir, 'Cargo.toml'), '[package]\nname = "pair"\nversion = "0.1.0"\nedition = "2021"\n');
    file = path.join(dir, 'src', 'lib.rs');
    fs.writeFileSync(file, INVERTED);
    await lsp.initialize([dir]);
    await lsp.waitForReady();
  });
  after(async () => {
    await lsp.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  let uri: string;
  let text = INVERTED;

  /** Sends one notification and collects this version's publications until the status that ends its graph refresh. */
  async function edit(...changes: Array<TextDocumentContentChangeEvent & { range: { start: { line: number; character: number }; end: { line: number; character: number } } }>) {
    const next = changes.reduce(apply, text);
    let version = -1;
    let firstAt = -1;
    const pubs = publicationsUntil(
      lsp,
      uri,
      (list, statuses) => {
        const mine = list.filter((p) => p.version === version);
        if (mine.length > 0 && firstAt < 0) firstAt = statuses;
        // The graph refresh ends with a status notification, after any republication.
        return firstAt >= 0 && statuses > firstAt;
      },
      'the publications of one edit',
    );
    version = await lsp.change(uri, changes);
    text = next;
    return { version, pubs: (await pubs).filter((p) => p.version === version) };
  }

  it('publishes an opened document once, complete, and moves crate-wide findings with an inserted line', async () => {
    uri = await lsp.open(file, text);
    const opened = await lsp.waitForDiagnostics(uri, (p) => p.version === 1);
    assert.deepEqual(normal(opened.diagnostics), normal(await fresh(text)), 'the first publication of an opened document is complete');
    const before = opened.diagnostics.filter(isInversion);
    assert.ok(before.length > 0, 'the fixture has a lock-order inversion');

    // A line inserted at the top of `forward`: every inversion below it moves down one line.
    const at = { line: 9, character: 0 };
    const { pubs } = await edit({ range: { start: at, end: at }, text: '        let _t = 1;\n' });
    // The first publication already shows them where they are now; the refresh then brings
    // their messages up to date (they quote line numbers).
    const down = (line: number) => line + (line >= 9 ? 1 : 0);
    const moved = pubs[0].diagnostics.filter(isInversion);
    assert.deepEqual(
      moved.map((d) => [d.range.start.line, ...(d.relatedInformation ?? []).map((r) => r.location.range.start.line)]),
      before.map((d) => [down(d.range.start.line), ...(d.relatedInformation ?? []).map((r) => down(r.location.range.start.line))]),
    );
    assert.ok(pubs.length <= 2, `${pubs.length} publications`);
    assert.deepEqual(normal(pubs[pubs.length - 1].diagnostics), normal(await fresh(text)));
  });

  it('republishes when the graph removes a crate-wide finding, leaving nothing stale', async () => {
    // `backward` now takes `a` first, like `forward`: no inversion any more.
    const line = text.split('\n').findIndex((l) => l.includes('let x = self.b.lock()'));
    assert.ok(text.split('\n')[line + 1].includes('let y = self.a.lock()'));
    const { pubs } = await edit(
      { range: { start: { line, character: 21 }, end: { line, character: 22 } }, text: 'a' },
      { range: { start: { line: line + 1, character: 21 }, end: { line: line + 1, character: 22 } }, text: 'b' },
    );
    assert.equal(pubs.length, 2, 'own findings first, then with the graph');
    assert.ok(pubs[0].diagnostics.some(isInversion), 'the first publication has the last graph (the inversion)');
    const last = pubs[1];
    assert.equal(last.diagnostics.filter(isInversion).length, 0, 'the inversion is gone once the graph is refreshed');
    assert.deepEqual(normal(last.diagnostics), normal(await fresh(text)));
    assert.equal(lsp.diagnostics.get(uri), last, 'nothing was published after the refresh');
  });

  it('publishes its own findings before the graph refresh, then the new crate-wide finding', async () => {
    const line = text.split('\n').findIndex((l) => l.includes('let y = self.b.lock()'));
    const second = text.split('\n').findIndex((l, i) => i > line && l.includes('let y = self.b.lock()'));
    assert.ok(second > line, 'forward and backward take `a`, then `b`');
    // Back to the inverted order, in two edits: first `backward` takes `a` twice (a double lock,
    // one of its own findings), then `b` first.
    const toDouble = await edit({ range: { start: { line: second, character: 21 }, end: { line: second, character: 22 } }, text: 'a' });
    assert.deepEqual(normal(toDouble.pubs[toDouble.pubs.length - 1].diagnostics), normal(await fresh(text)));
    const first = second - 1;
    assert.ok(text.split('\n')[first].includes('let x = self.a.lock()'));
    const { pubs } = await edit({ range: { start: { line: first, character: 21 }, end: { line: first, character: 22 } }, text: 'b' });
    const expected = await fresh(text);
    assert.ok(expected.some(isInversion), 'the inverted order is found again');
    assert.equal(pubs.length, 2, 'own findings first, then with the graph');
    assert.equal(pubs[0].diagnostics.filter(isInversion).length, 0, 'the first publication has the last graph (no inversion)');
    assert.deepEqual(normal(pubs[0].diagnostics.filter((d) => !isInversion(d))), normal(expected.filter((d) => !isInversion(d))), "and this version's own findings");
    assert.deepEqual(normal(pubs[1].diagnostics), normal(expected));
  });
});
