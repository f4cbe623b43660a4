// The language server on the real engine (tree-sitter wasm) and real workspace discovery,
// on examples/demo-crate: what a user sees when opening the demo in an editor.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CodeAction, CodeLens, Diagnostic, DocumentHighlight, Hover, InlayHint, MarkupContent } from 'vscode-languageserver-protocol';
import { GuardRegionsRequest, GuardRegionsResult, LockGraphRequest, LockGraphResult } from '../../common/protocol';
import { defaultHost } from '../../server/src/lsp/defaultHost';
import { fixturePath, LspHarness, uriOf } from '../support/lsp-harness';

const DEMO = fixturePath('examples', 'demo-crate');
const file = (name: string) => path.join(DEMO, 'src', name);

function lineOf(text: string, needle: string, after?: string): number {
  const from = after === undefined ? 0 : text.indexOf(after);
  const at = text.indexOf(needle, from);
  assert.ok(at >= 0, `${needle} not found`);
  return text.slice(0, at).split('\n').length - 1;
}

function positionOf(text: string, needle: string, delta = 0, after?: string): { line: number; character: number } {
  const from = after === undefined ? 0 : text.indexOf(after);
  const at = text.indexOf(needle, from);
  assert.ok(at >= 0, `${needle} not found`);
  const lines = text.slice(0, at + delta).split('\n');
  return { line: lines.length - 1, character: lines[lines.length - 1].length };
}

const has = (rule: string, line?: number) => (diags: readonly Diagnostic[]) =>
  diags.some((d) => d.code === rule && (line === undefined || d.range.start.line === line));

describe('language server on the real engine (examples/demo-crate)', () => {
  const lsp = new LspHarness({ host: defaultHost(), configuration: () => ({}) });
  const catalog = fs.readFileSync(file('catalog.rs'), 'utf8');
  const heartbeat = fs.readFileSync(file('heartbeat.rs'), 'utf8');

  before(async () => {
    await lsp.initialize([DEMO]);
  });
  after(() => lsp.dispose());

  it('indexes the crate and publishes findings for every file', async () => {
    const ready = await lsp.waitForReady();
    assert.equal(ready.filesTotal, 6);
    assert.ok(ready.findings > 0, JSON.stringify(ready));
    await lsp.waitForDiagnostics(uriOf(file('cache.rs')), (p) => has('guard-across-await')(p.diagnostics) && has('let-underscore-lock')(p.diagnostics));
  });

  it('catalog.rs: scrutinee-guard on the if-let and a double-lock, with rule links', async () => {
    const uri = await lsp.open(file('catalog.rs'));
    const ifLet = lineOf(catalog, 'if let Some(Load::Local(load))');
    const p = await lsp.waitForDiagnostics(uri, (d) => d.version === 1 && has('scrutinee-guard', ifLet)(d.diagnostics) && has('double-lock')(d.diagnostics));
    for (const d of p.diagnostics) {
      assert.equal(d.source, 'locklens');
      assert.match(d.codeDescription?.href ?? '', new RegExp(`docs/rules/${String(d.code)}\\.md$`));
    }
  });

  it('midas.rs: lock-order inversion through the call chain and the declared hierarchy', async () => {
    const uri = uriOf(file('midas.rs'));
    const p = await lsp.waitForDiagnostics(uri, (d) => has('lock-order-inversion')(d.diagnostics) && has('lock-hierarchy')(d.diagnostics));
    const inversion = p.diagnostics.filter((d) => d.code === 'lock-order-inversion');
    const text = inversion.flatMap((d) => [d.message, ...(d.relatedInformation ?? []).map((r) => r.message)]).join('\n');
    assert.match(text, /Midas\.odb/);
    assert.match(text, /Midas\.sysmsg/);
    assert.ok(inversion.every((d) => (d.relatedInformation ?? []).length > 0));
  });

  it('hovers the read() acquisition with its lock class, mode and release', async () => {
    const uri = uriOf(file('catalog.rs'));
    const hover = await lsp.request<Hover>('textDocument/hover', { textDocument: { uri }, position: positionOf(catalog, 'read()', 1, 'if let Some') });
    const text = (hover.contents as MarkupContent).value;
    assert.match(text, /Catalog\.load/);
    assert.match(text, /read/);
    assert.match(text, /Released:/);
    assert.match(text, /Edition 2021/);
  });

  it('highlights and inlay hints follow the guard of the if-let', async () => {
    const uri = uriOf(file('catalog.rs'));
    const highlights = await lsp.request<DocumentHighlight[]>('textDocument/documentHighlight', {
      textDocument: { uri },
      position: positionOf(catalog, 'read()', 1, 'if let Some'),
    });
    assert.ok(highlights.length >= 2, JSON.stringify(highlights));
    const hints = await lsp.request<InlayHint[]>('textDocument/inlayHint', {
      textDocument: { uri },
      range: { start: { line: 0, character: 0 }, end: { line: 100, character: 0 } },
    });
    assert.ok(hints.some((h) => String(h.label).includes('Catalog.load released')), JSON.stringify(hints.map((h) => h.label)));
  });

  it('guard regions and the code lens describe route() and init_for()', async () => {
    const uri = uriOf(file('catalog.rs'));
    const regions = await lsp.request<GuardRegionsResult>(GuardRegionsRequest.method, { textDocument: { uri } });
    assert.equal(regions.edition, '2021');
    const modes = regions.regions.map((r) => `${r.lock}:${r.mode}`);
    assert.ok(modes.includes('Catalog.load:read') && modes.includes('Catalog.load:write'), JSON.stringify(modes));
    const lenses = await lsp.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri } });
    assert.ok(lenses.some((l) => /Catalog\.load \(read\)/.test(l.command?.title ?? '')), JSON.stringify(lenses.map((l) => l.command?.title)));
  });

  it('offers quick fixes for a poison-unwrap, including the allow comment', async () => {
    const uri = await lsp.open(file('heartbeat.rs'));
    const p = await lsp.waitForDiagnostics(uri, (d) => d.version === 1 && has('double-lock')(d.diagnostics));
    const target = p.diagnostics.find((d) => d.code === 'poison-unwrap') ?? p.diagnostics[0];
    const actions = await lsp.request<CodeAction[]>('textDocument/codeAction', { textDocument: { uri }, range: target.range, context: { diagnostics: [target] } });
    assert.ok(actions.length >= 1);
    assert.ok(actions.every((a) => a.kind === 'quickfix' && a.edit));
    assert.ok(actions.some((a) => a.title.includes(`allow(${String(target.code)})`)));
  });

  it('follows incremental edits: findings move with the text and disappear when fixed', async () => {
    const uri = uriOf(file('heartbeat.rs'));
    const relock = lineOf(heartbeat, 'self.last_heartbeat.lock().unwrap().clear()');
    let version = await lsp.change(uri, [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: '// a new first line\n' }]);
    await lsp.waitForDiagnostics(uri, (d) => d.version === version && has('double-lock', relock + 1)(d.diagnostics));
    const line = heartbeat.split('\n')[relock];
    const col = line.indexOf('self.last_heartbeat.lock().unwrap().clear()');
    version = await lsp.change(uri, [
      { range: { start: { line: relock + 1, character: col }, end: { line: relock + 1, character: line.length - 1 } }, text: 'beats.clear()' },
    ]);
    const p = await lsp.waitForDiagnostics(uri, (d) => d.version === version);
    assert.ok(!has('double-lock')(p.diagnostics), JSON.stringify(p.diagnostics.map((d) => d.code)));
  });

  it('answers locklens/lockGraph with the ODB/SYSMSG cycle', async () => {
    const graph = await lsp.request<LockGraphResult>(LockGraphRequest.method, {});
    assert.deepEqual(graph.crates, ['locklens-demo']);
    assert.ok(graph.cycles.some((c) => c.includes('Midas.odb') && c.includes('Midas.sysmsg')), JSON.stringify(graph.cycles));
    const levels = Object.fromEntries(graph.nodes.map((n) => [n.id, n.level]));
    assert.equal(levels['Midas.sysmsg'], 0);
    assert.equal(levels['Midas.odb'], 1);
  });
});
