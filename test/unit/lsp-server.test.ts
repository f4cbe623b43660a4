// The language server's protocol plumbing, driven in-process over real JSON-RPC streams
// with the scripted engine double (test/support/lsp-fake-host.ts): sync, tree cache,
// indexing progress, diagnostics, features, custom requests, settings and bad input.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type {
  CodeAction,
  CodeLens,
  Diagnostic,
  DocumentHighlight,
  Hover,
  InitializeResult,
  InlayHint,
  MarkupContent,
  TextEdit,
} from 'vscode-languageserver-protocol';
import { TextDocumentSyncKind } from 'vscode-languageserver-protocol';
import { GuardRegionsRequest, GuardRegionsResult, LockGraphRequest, LockGraphResult } from '../../common/protocol';
import { fakeHost } from '../support/lsp-fake-host';
import { fixturePath, LspHarness, uriOf } from '../support/lsp-harness';

const WS = fixturePath('test', 'fixtures', 'lsp', 'ws');
const MIDAS = path.join(WS, 'midas', 'src', 'lib.rs');
const LOGGER = path.join(WS, 'midas', 'src', 'logger.rs');
const LEDGER = path.join(WS, 'ledger', 'src', 'lib.rs');

function rules(diags: readonly Diagnostic[]): string[] {
  return diags.map((d) => String(d.code)).sort();
}

function lineOf(text: string, needle: string): number {
  const at = text.indexOf(needle);
  assert.ok(at >= 0, `${needle} not in text`);
  return text.slice(0, at).split('\n').length - 1;
}

function positionOf(text: string, needle: string, delta = 0): { line: number; character: number } {
  const at = text.indexOf(needle);
  assert.ok(at >= 0, `${needle} not in text`);
  const before = text.slice(0, at + delta).split('\n');
  return { line: before.length - 1, character: before[before.length - 1].length };
}

function applyEdits(text: string, edits: TextEdit[]): string {
  const lines = text.split('\n');
  const offset = (p: { line: number; character: number }) => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
  const sorted = [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start));
  let out = text;
  for (const e of sorted) out = out.slice(0, offset(e.range.start)) + e.newText + out.slice(offset(e.range.end));
  return out;
}

describe('language server over JSON-RPC (scripted engine)', () => {
  const host = fakeHost();
  const settings: Record<string, unknown> = {};
  const lsp = new LspHarness({ host, configuration: () => settings });
  let init: InitializeResult;
  const midasText = fs.readFileSync(MIDAS, 'utf8');
  const loggerText = fs.readFileSync(LOGGER, 'utf8');

  before(async () => {
    init = await lsp.initialize([WS]);
  });
  after(() => lsp.dispose());

  it('announces incremental sync and the features it serves', () => {
    const caps = init.capabilities;
    const sync = caps.textDocumentSync as { change: number; openClose: boolean };
    assert.equal(sync.change, TextDocumentSyncKind.Incremental);
    assert.equal(sync.openClose, true);
    assert.ok(caps.hoverProvider && caps.documentHighlightProvider && caps.inlayHintProvider && caps.codeLensProvider && caps.codeActionProvider);
    assert.equal(init.serverInfo?.name, 'locklens');
  });

  it('indexes the workspace with $/progress and a ready status counting the files', async () => {
    const ready = await lsp.waitForReady();
    assert.equal(ready.filesTotal, 3);
    assert.equal(ready.filesDone, 3);
    const kinds = lsp.progress.map((p) => p.kind);
    assert.equal(kinds[0], 'begin');
    assert.equal(kinds[kinds.length - 1], 'end');
    assert.ok(kinds.filter((k) => k === 'report').length >= 3, `progress: ${JSON.stringify(lsp.progress)}`);
    assert.ok(lsp.registrations.some((r) => r.method === 'workspace/didChangeWatchedFiles'), 'file watchers registered');
  });

  it('publishes diagnostics for closed workspace files, including crate-wide lock-order findings', async () => {
    const midas = await lsp.waitForDiagnostics(uriOf(MIDAS), (p) => p.diagnostics.some((d) => d.code === 'lock-order-inversion'));
    const inversions = midas.diagnostics.filter((d) => d.code === 'lock-order-inversion');
    assert.equal(inversions.length, 2, JSON.stringify(inversions, null, 1));
    for (const d of inversions) {
      assert.equal(d.source, 'locklens');
      assert.match(d.message, /Odb\.odb/);
      assert.match(d.message, /Odb\.sysmsg/);
      assert.ok((d.relatedInformation ?? []).length >= 2, 'links to the opposite order and the held acquisition');
      assert.match(d.codeDescription?.href ?? '', /docs\/rules\/lock-order-inversion\.md$/);
    }
    // db_set_value holds Odb.odb (level 1) and takes Odb.sysmsg (level 0) through cm_msg.
    const hierarchy = midas.diagnostics.filter((d) => d.code === 'lock-hierarchy');
    assert.equal(hierarchy.length, 1);
    assert.equal(hierarchy[0].range.start.line, lineOf(midasText, 'self.cm_msg('));
    const logger = await lsp.waitForDiagnostics(uriOf(LOGGER), (p) => p.diagnostics.length > 0);
    assert.deepEqual(rules(logger.diagnostics), ['double-lock', 'poison-unwrap', 'poison-unwrap']);
    const ready = lsp.statuses.filter((s) => s.state === 'ready').pop()!;
    assert.ok(ready.findings >= 5, `status counts findings: ${JSON.stringify(ready)}`);
  });

  it('publishes versioned diagnostics for an opened document, with fixes behind them', async () => {
    const uri = await lsp.open(LOGGER);
    const p = await lsp.waitForDiagnostics(uri, (d) => d.version === 1);
    const double = p.diagnostics.find((d) => d.code === 'double-lock')!;
    assert.equal(double.severity, 1);
    assert.equal(double.range.start.line, lineOf(loggerText, 'self.lines.lock().unwrap().clear()'));
    assert.equal(double.relatedInformation?.[0].location.uri, uri);
    assert.match(double.codeDescription!.href, /^file:.*docs\/rules\/double-lock\.md$/);
    assert.ok(fs.existsSync(new URL(double.codeDescription!.href)), 'the rule page exists');
  });

  it("asks for a document's settings once, until the client reports a configuration change", async () => {
    const uri = uriOf(LOGGER);
    const asked = () => lsp.configurationRequests.filter((u) => u === uri).length;
    const before = asked();
    assert.ok(before > 0);
    const start = { line: 0, character: 0 };
    let version = await lsp.change(uri, [{ range: { start, end: start }, text: ' ' }]);
    await lsp.waitForDiagnostics(uri, (d) => d.version === version);
    version = await lsp.change(uri, [{ range: { start, end: { line: 0, character: 1 } }, text: '' }]);
    await lsp.waitForDiagnostics(uri, (d) => d.version === version);
    assert.equal(asked(), before, 'edits reuse the settings: no round trip to the client');
    await lsp.client.sendNotification('workspace/didChangeConfiguration', { settings: {} });
    await lsp.waitFor('the settings asked for again', () => (asked() > before ? true : undefined));
  });

  it('re-analyses after incremental edits, re-using the tree (incremental parse, old trees disposed)', async () => {
    const uri = uriOf(LOGGER);
    const parsesBefore = host.engine.parses.length;
    const relock = lineOf(loggerText, 'self.lines.lock().unwrap().clear()');
    const line = loggerText.split('\n')[relock];
    const start = line.indexOf('self.lines.lock().unwrap().clear()');
    // Two changes in one notification; the second is relative to the text after the first.
    const version = await lsp.change(uri, [
      { range: { start: { line: relock, character: start }, end: { line: relock, character: start + 'self.lines.lock().unwrap().clear()'.length } }, text: 'lines.clear()' },
      { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: '// edited\r\n' },
    ]);
    const p = await lsp.waitForDiagnostics(uri, (d) => d.version === version);
    assert.deepEqual(rules(p.diagnostics), ['poison-unwrap'], 'the double lock is gone');
    assert.equal(p.diagnostics[0].range.start.line, lineOf(loggerText, 'let mut lines') + 1, 'positions follow the inserted line');
    const parse = host.engine.parses.slice(parsesBefore).find((r) => r.incremental);
    assert.ok(parse, 'the document was re-parsed incrementally');
    assert.equal(parse.edits.length, 2);
    const [first, second] = parse.edits;
    assert.equal(first.startPosition.row, relock);
    assert.equal(first.newEndIndex - first.startIndex, 'lines.clear()'.length);
    assert.deepEqual(second.startPosition, { row: 0, column: 0 });
    assert.deepEqual(second.newEndPosition, { row: 1, column: 0 }, 'CRLF insert ends at the start of the next row');
    // Only the open document's tree is alive: every other tree was disposed.
    assert.equal(host.engine.live, 1);
  });

  it('hovers an acquisition and a guard variable with lock class, mode and release reason', async () => {
    const uri = await lsp.open(MIDAS);
    await lsp.waitForDiagnostics(uri, (d) => d.version === 1);
    const onLock = await lsp.request<Hover>('textDocument/hover', {
      textDocument: { uri },
      position: positionOf(midasText, 'self.odb.lock()', 10),
    });
    const text = (onLock.contents as MarkupContent).value;
    assert.match(text, /`Odb\.odb`/);
    assert.match(text, /exclusive \(mutex\)/);
    assert.match(text, /Released:/);
    assert.match(text, /goes out of scope/);
    assert.match(text, /Edition 2021 \(Cargo\.toml of lsp-midas\)/);
    const onUse = await lsp.request<Hover>('textDocument/hover', {
      textDocument: { uri },
      position: positionOf(midasText, 'odb.len()', 1),
    });
    assert.match((onUse.contents as MarkupContent).value, /`Odb\.odb`/, 'a use of the guard variable hovers its acquisition');
    const nothing = await lsp.request<Hover | null>('textDocument/hover', { textDocument: { uri }, position: { line: 0, character: 0 } });
    assert.equal(nothing, null);
  });

  it('highlights the acquisition, the guard uses and the release point', async () => {
    const uri = uriOf(MIDAS);
    const highlights = await lsp.request<DocumentHighlight[]>('textDocument/documentHighlight', {
      textDocument: { uri },
      position: positionOf(midasText, 'self.odb.lock()', 10),
    });
    const lines = highlights.map((h) => h.range.start.line);
    const acquire = lineOf(midasText, 'let mut odb = self.odb.lock()');
    assert.ok(lines.includes(acquire));
    assert.ok(lines.includes(lineOf(midasText, 'odb.len()')), 'use of the guard');
    assert.ok(lines.includes(lineOf(midasText, 'odb.push(')), 'use of the guard');
    const release = highlights.find((h) => h.range.start.line === acquire + 5);
    assert.ok(release, `release at the closing brace: ${JSON.stringify(highlights)}`);
  });

  it('shows inlay hints at release points, and none when disabled in settings', async () => {
    const uri = uriOf(MIDAS);
    const range = { start: { line: 0, character: 0 }, end: { line: 40, character: 0 } };
    const hints = await lsp.request<InlayHint[]>('textDocument/inlayHint', { textDocument: { uri }, range });
    const labels = hints.map((h) => h.label);
    assert.ok(labels.includes('Odb.odb released'), JSON.stringify(labels));
    assert.ok(labels.includes('Odb.sysmsg released'));
    // The server keeps settings until the client says they changed (as VS Code does).
    settings.inlayHints = { enable: false };
    try {
      await lsp.client.sendNotification('workspace/didChangeConfiguration', { settings: {} });
      const none = await lsp.request<InlayHint[]>('textDocument/inlayHint', { textDocument: { uri }, range });
      assert.deepEqual(none, []);
    } finally {
      delete settings.inlayHints;
      await lsp.client.sendNotification('workspace/didChangeConfiguration', { settings: {} });
    }
  });

  it('shows a code lens with each function lock order, including locks taken through calls', async () => {
    const lenses = await lsp.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri: uriOf(MIDAS) } });
    const titles = lenses.map((l) => l.command?.title);
    // db_set_value: ODB, then SYSMSG through cm_msg, then ODB again through cm_msg › db_get_value.
    assert.ok(
      titles.includes('locks: Odb.odb (mutex) → Odb.sysmsg (mutex) via cm_msg() → Odb.odb (mutex) via cm_msg() › db_get_value()'),
      JSON.stringify(titles),
    );
    assert.ok(titles.includes('locks: Odb.sysmsg (mutex) → Odb.odb (mutex) via db_get_value()'), JSON.stringify(titles));
    assert.ok(lenses.every((l) => l.command?.command === 'locklens.showLockGraph'));
  });

  it('offers the engine fix (preferred) and an allow comment as quick fixes', async () => {
    const uri = uriOf(MIDAS);
    const diags = lsp.diagnostics.get(uri)!.diagnostics;
    const unwrap = diags.find((d) => d.code === 'poison-unwrap')!;
    const actions = await lsp.request<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri },
      range: unwrap.range,
      context: { diagnostics: [unwrap], only: ['quickfix'] },
    });
    const fix = actions.find((a) => a.isPreferred)!;
    assert.equal(fix.kind, 'quickfix');
    assert.deepEqual(fix.diagnostics, [unwrap]);
    const fixed = applyEdits(midasText, fix.edit!.changes![uri]);
    assert.match(fixed, /let mut odb = self\.odb\.lock\(\)\.unwrap_or_else\(\|e\| e\.into_inner\(\)\);/);
    const allow = actions.find((a) => a.title.includes('allow(poison-unwrap)'))!;
    assert.equal(allow.isPreferred, false);
    const allowed = applyEdits(midasText, allow.edit!.changes![uri]);
    assert.match(allowed, /\n {8}\/\/ locklens: allow\(poison-unwrap\)\n {8}let mut odb = self\.odb\.lock/);
    const refactorOnly = await lsp.request<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri },
      range: unwrap.range,
      context: { diagnostics: [unwrap], only: ['refactor'] },
    });
    assert.deepEqual(refactorOnly, []);
  });

  it('keeps CRLF and indentation in the allow comment, and the comment silences the finding', async () => {
    const uri = 'untitled:crlf.rs';
    const text = 'impl Q {\r\n    fn f(&self) {\r\n\t\tlet g = self.q.lock().unwrap();\r\n    }\r\n}\r\n';
    await lsp.open(uri, text);
    const p = await lsp.waitForDiagnostics(uri, (d) => d.version === 1 && d.diagnostics.length > 0);
    const d = p.diagnostics.find((x) => x.code === 'poison-unwrap')!;
    assert.equal(d.range.start.line, 2);
    const actions = await lsp.request<CodeAction[]>('textDocument/codeAction', { textDocument: { uri }, range: d.range, context: { diagnostics: [d] } });
    const allow = actions.find((a) => a.title.includes('allow('))!;
    const [edit] = allow.edit!.changes![uri];
    assert.deepEqual(edit.range.start, { line: 2, character: 0 });
    assert.equal(edit.newText, '\t\t// locklens: allow(poison-unwrap)\r\n');
    const version = await lsp.change(uri, [{ range: edit.range, text: edit.newText }]);
    const after = await lsp.waitForDiagnostics(uri, (x) => x.version === version);
    assert.deepEqual(after.diagnostics, []);
    // A full-text change (no range) re-parses from scratch and brings the finding back.
    const full = await lsp.change(uri, [{ text }]);
    await lsp.waitForDiagnostics(uri, (x) => x.version === full && x.diagnostics.length === 1);
    // Closing a document outside every crate clears its diagnostics.
    await lsp.close(uri);
    await lsp.waitForDiagnostics(uri, (x) => x.diagnostics.length === 0 && x.version === undefined);
  });

  it('answers locklens/guardRegions for open and closed files', async () => {
    const open = await lsp.request<GuardRegionsResult>(GuardRegionsRequest.method, { textDocument: { uri: uriOf(MIDAS) } });
    assert.equal(open.version, 1);
    assert.equal(open.edition, '2021');
    assert.deepEqual(open.regions.map((r) => r.lock), ['Odb.odb', 'Odb.sysmsg', 'Odb.odb']);
    const first = open.regions[0];
    assert.equal(first.mode, 'mutex');
    assert.equal(first.holder.name, 'odb');
    assert.equal(first.releases[0].kind, 'scope-end');
    assert.equal(first.held[0].start.line, lineOf(midasText, 'let mut odb = self.odb.lock()'));
    const closed = await lsp.request<GuardRegionsResult>(GuardRegionsRequest.method, { textDocument: { uri: uriOf(LEDGER) } });
    assert.equal(closed.version, null);
    assert.equal(closed.edition, '2024');
    assert.deepEqual(closed.regions.map((r) => `${r.lock}:${r.mode}`), ['Ledger.balance:read']);
  });

  it('answers locklens/lockGraph with the ABBA cycle and declared levels', async () => {
    const graph = await lsp.request<LockGraphResult>(LockGraphRequest.method, { textDocument: { uri: uriOf(MIDAS) } });
    assert.deepEqual(graph.crates, ['lsp-midas']);
    assert.deepEqual(graph.nodes.map((n) => `${n.id}@${n.level}`), ['Logger.lines@undefined', 'Odb.odb@1', 'Odb.sysmsg@0']);
    assert.deepEqual(graph.cycles, [['Odb.odb', 'Odb.sysmsg']]);
    const edge = graph.edges.find((e) => e.from === 'Odb.odb' && e.to === 'Odb.sysmsg')!;
    assert.equal(edge.inCycle, true);
    assert.deepEqual(edge.sites[0].via, ['Odb::cm_msg']);
    assert.equal(edge.sites[0].functionName, 'Odb::db_set_value');
    const all = await lsp.request<LockGraphResult>(LockGraphRequest.method, {});
    assert.deepEqual(all.crates.sort(), ['lsp-ledger', 'lsp-midas']);
  });

  it('applies severity settings and refreshes hints and lenses on a configuration change', async () => {
    const uri = uriOf(MIDAS);
    settings.severity = { 'poison-unwrap': 'off', 'lock-order-inversion': 'hint' };
    const refreshesBefore = lsp.refreshes.length;
    await lsp.client.sendNotification('workspace/didChangeConfiguration', { settings: {} });
    const p = await lsp.waitForDiagnostics(uri, (d) => !d.diagnostics.some((x) => x.code === 'poison-unwrap'));
    assert.ok(p.diagnostics.filter((d) => d.code === 'lock-order-inversion').every((d) => d.severity === 4));
    // Closed files follow too.
    await lsp.waitForDiagnostics(uriOf(LEDGER), (d) => d.diagnostics.length === 0);
    await lsp.waitFor('inlay hint and code lens refresh', () => (lsp.refreshes.length >= refreshesBefore + 2 ? true : undefined));
    assert.ok(lsp.configurationRequests.includes(uri), 'settings are asked for the resource');
    delete settings.severity;
    settings.enable = false;
    await lsp.client.sendNotification('workspace/didChangeConfiguration', { settings: {} });
    await lsp.waitForDiagnostics(uri, (d) => d.diagnostics.length === 0);
    await lsp.waitFor('disabled status', () => (lsp.statuses[lsp.statuses.length - 1]?.state === 'disabled' ? true : undefined));
    delete settings.enable;
    await lsp.client.sendNotification('workspace/didChangeConfiguration', { settings: {} });
    await lsp.waitForDiagnostics(uri, (d) => d.diagnostics.some((x) => x.code === 'poison-unwrap'));
  });

  it('survives malformed requests, bad URIs and garbage on the wire', async () => {
    const bad = [
      ['textDocument/hover', { textDocument: { uri: 'not a uri' }, position: { line: 0, character: 0 } }],
      ['textDocument/hover', { textDocument: { uri: uriOf(MIDAS) }, position: { line: 'x' } }],
      ['textDocument/hover', {}],
      ['textDocument/documentHighlight', null],
      ['textDocument/inlayHint', { textDocument: { uri: uriOf(MIDAS) } }],
      ['textDocument/codeAction', { textDocument: { uri: '%%%' }, range: null, context: null }],
      ['textDocument/codeLens', { textDocument: 42 }],
      [GuardRegionsRequest.method, { textDocument: { uri: 'file:///does/not/exist.rs' } }],
      [GuardRegionsRequest.method, 'nonsense'],
      [LockGraphRequest.method, { textDocument: { uri: 'http://example.invalid/x.rs' } }],
    ] as const;
    for (const [method, params] of bad) {
      const result = await lsp.request<unknown>(method, params).then(
        (r) => r,
        (e: Error) => e,
      );
      assert.ok(result === null || typeof result === 'object', `${method} answered ${String(result)}`);
    }
    await lsp.client.sendNotification('textDocument/didOpen', { textDocument: { uri: 42 } });
    await lsp.client.sendNotification('textDocument/didChange', { textDocument: { uri: 'file:///nope.rs', version: 3 }, contentChanges: [{ text: 'x' }] });
    await lsp.client.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: '::::', type: 2 }, null] });
    // A message whose body is not JSON.
    const junk = '{"jsonrpc": "2.0", "method": ';
    lsp.writeRaw(`Content-Length: ${Buffer.byteLength(junk)}\r\n\r\n${junk}`);
    // The server still answers.
    const hover = await lsp.request<Hover>('textDocument/hover', { textDocument: { uri: uriOf(MIDAS) }, position: positionOf(midasText, 'self.odb.lock()', 10) });
    assert.match((hover.contents as MarkupContent).value, /Odb\.odb/);
  });
});

describe('language server: watched files', () => {
  it('re-analyses a closed file changed on disk and re-reads Cargo.toml', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'locklens-lsp-'));
    const crate = path.join(dir, 'app');
    fs.mkdirSync(path.join(crate, 'src'), { recursive: true });
    const manifest = path.join(crate, 'Cargo.toml');
    fs.writeFileSync(manifest, '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2018"\n');
    const lib = path.join(crate, 'src', 'lib.rs');
    fs.writeFileSync(lib, 'impl A {\n    fn f(&self) {\n        let g = self.m.lock();\n    }\n}\n');
    const lsp = new LspHarness({ host: fakeHost() });
    try {
      await lsp.initialize([dir]);
      await lsp.waitForReady();
      const uri = uriOf(lib);
      fs.writeFileSync(lib, 'impl A {\n    fn f(&self) {\n        let g = self.m.lock().unwrap();\n    }\n}\n');
      await lsp.client.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri, type: 2 }] });
      const p = await lsp.waitForDiagnostics(uri, (d) => d.diagnostics.length === 1);
      assert.equal(p.diagnostics[0].code, 'poison-unwrap');
      let regions = await lsp.request<GuardRegionsResult>(GuardRegionsRequest.method, { textDocument: { uri } });
      assert.equal(regions.edition, '2018');
      fs.writeFileSync(manifest, '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2024"\n');
      const readyCount = lsp.statuses.filter((s) => s.state === 'ready').length;
      await lsp.client.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: uriOf(manifest), type: 2 }] });
      await lsp.waitFor('re-index', () => (lsp.statuses.filter((s) => s.state === 'ready').length > readyCount ? true : undefined));
      regions = await lsp.request<GuardRegionsResult>(GuardRegionsRequest.method, { textDocument: { uri } });
      assert.equal(regions.edition, '2024');
      // The edition override setting wins over Cargo.toml.
    } finally {
      await lsp.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('re-indexes when workspace folders are added or removed', async () => {
    const lsp = new LspHarness({ host: fakeHost() });
    try {
      await lsp.initialize([path.join(WS, 'midas')]);
      assert.equal((await lsp.waitForReady()).filesTotal, 2);
      const ledger = path.join(WS, 'ledger');
      await lsp.client.sendNotification('workspace/didChangeWorkspaceFolders', {
        event: { added: [{ uri: uriOf(ledger), name: 'ledger' }], removed: [{ uri: uriOf(path.join(WS, 'midas')), name: 'midas' }] },
      });
      const ready = await lsp.waitFor('re-index with the new folders', () =>
        lsp.statuses.find((s, i) => i > 0 && s.state === 'ready' && s.filesTotal === 1),
      );
      assert.equal(ready.filesDone, 1);
      // The removed crate's files lose their diagnostics.
      await lsp.waitForDiagnostics(uriOf(LOGGER), (d) => d.diagnostics.length === 0);
    } finally {
      await lsp.dispose();
    }
  });

  it('uses the locklens.edition override and works without workspace/configuration support', async () => {
    const lsp = new LspHarness({ host: fakeHost(), capabilities: {} });
    try {
      await lsp.initialize([path.join(WS, 'ledger')]);
      await lsp.waitForReady();
      await lsp.client.sendNotification('workspace/didChangeConfiguration', { settings: { locklens: { edition: '2015' } } });
      const uri = await lsp.open(LEDGER);
      await lsp.waitForDiagnostics(uri, (d) => d.version === 1);
      const regions = await lsp.request<GuardRegionsResult>(GuardRegionsRequest.method, { textDocument: { uri } });
      assert.equal(regions.edition, '2015');
      assert.equal(lsp.configurationRequests.length, 0);
    } finally {
      await lsp.dispose();
    }
  });

  it('reports an engine that fails to start in the status, and still answers requests', async () => {
    const lsp = new LspHarness({ host: fakeHost(undefined, { createEngine: () => Promise.reject(new Error('wasm missing')) }) });
    try {
      await lsp.initialize([WS]);
      const status = await lsp.waitFor('error status', () => lsp.statuses.find((s) => s.state === 'error'));
      assert.match(status.message ?? '', /wasm missing/);
      const uri = await lsp.open(MIDAS);
      const hover = await lsp.request<Hover | null>('textDocument/hover', { textDocument: { uri }, position: { line: 12, character: 30 } });
      assert.equal(hover, null);
    } finally {
      await lsp.dispose();
    }
  });
});

describe('language server: cross-file re-analysis', () => {
  it('re-analyses only the closed files that mention a changed declaration', async () => {
    const host = fakeHost();
    const lsp = new LspHarness({ host });
    try {
      await lsp.initialize([WS]);
      await lsp.waitForReady();
      const text = fs.readFileSync(MIDAS, 'utf8');
      const uri = await lsp.open(MIDAS);
      await lsp.waitForDiagnostics(uri, (d) => d.version === 1);
      const analysesOf = (name: string) => host.engine.analyses.filter((a) => a.file.endsWith(name)).length;
      const loggerBefore = analysesOf('logger.rs');
      const ledgerBefore = analysesOf('ledger/src/lib.rs');
      // Rename a method: `Odb` and `cm_msg` change; logger.rs mentions neither.
      const line = lineOf(text, 'pub fn cm_msg');
      const col = text.split('\n')[line].indexOf('cm_msg');
      let version = await lsp.change(uri, [{ range: { start: { line, character: col }, end: { line, character: col + 6 } }, text: 'cm_log' }]);
      await lsp.waitForDiagnostics(uri, (d) => d.version === version);
      // Add a method named like one logger.rs calls: logger.rs is re-analysed (its diagnostics
      // stay the same, so they are not sent again; the crate's status follows the re-analysis).
      const published = lsp.publications.filter((u) => u === uriOf(LOGGER)).length;
      const end = lineOf(text, '    pub fn db_get_value');
      version = await lsp.change(uri, [{ range: { start: { line: end, character: 0 }, end: { line: end, character: 0 } }, text: '    pub fn log(&self) {}\n' }]);
      await lsp.waitForDiagnostics(uri, (d) => d.version === version);
      await lsp.waitFor('logger.rs re-analysed', () => (analysesOf('logger.rs') > loggerBefore ? true : undefined));
      assert.equal(lsp.publications.filter((u) => u === uriOf(LOGGER)).length, published, 'unchanged diagnostics are not sent again');
      assert.equal(analysesOf('logger.rs'), loggerBefore + 1, 'logger.rs re-analysed once, for `log` only');
      assert.equal(analysesOf('ledger/src/lib.rs'), ledgerBefore, 'other crates are never re-analysed');
    } finally {
      await lsp.dispose();
    }
  });
});

describe('language server: changes that arrive together', () => {
  it('are analysed once, at the last version', async () => {
    const host = fakeHost();
    const lsp = new LspHarness({ host, debounceMs: 0 });
    try {
      await lsp.initialize([WS]);
      await lsp.waitForReady();
      const uri = await lsp.open(LOGGER);
      await lsp.waitForDiagnostics(uri, (d) => d.version === 1);
      const analyses = () => host.engine.analyses.filter((a) => a.file.endsWith('logger.rs')).length;
      const before = analyses();
      const start = { line: 0, character: 0 };
      const versions = await Promise.all([
        lsp.change(uri, [{ range: { start, end: start }, text: ' ' }]),
        lsp.change(uri, [{ range: { start, end: start }, text: ' ' }]),
        lsp.change(uri, [{ range: { start, end: { line: 0, character: 2 } }, text: '' }]),
      ]);
      await lsp.waitForDiagnostics(uri, (d) => d.version === versions[2]);
      assert.equal(analyses(), before + 1, 'one analysis, of the last text');
    } finally {
      await lsp.dispose();
    }
  });
});

describe('language server: engine failures', () => {
  it('keeps indexing and serving other files when the engine throws on one file', async () => {
    const host = fakeHost();
    const analyze = host.engine.analyzeFile.bind(host.engine);
    host.engine.analyzeFile = (parsed, file, index, options) => {
      if (file.endsWith('logger.rs')) throw new Error('engine bug on logger.rs');
      return analyze(parsed, file, index, options);
    };
    const lsp = new LspHarness({ host });
    try {
      await lsp.initialize([path.join(WS, 'midas')]);
      const ready = await lsp.waitForReady();
      assert.equal(ready.filesDone, 2);
      await lsp.waitForDiagnostics(uriOf(MIDAS), (d) => d.diagnostics.some((x) => x.code === 'lock-order-inversion'));
      assert.ok(lsp.logs.some((l) => l.includes('engine bug on logger.rs')), 'the failure is logged');
      // Requests on the failing file answer null instead of failing the connection.
      const uri = await lsp.open(LOGGER);
      const hover = await lsp.request<Hover | null>('textDocument/hover', { textDocument: { uri }, position: { line: 9, character: 30 } });
      assert.equal(hover, null);
      const regions = await lsp.request<GuardRegionsResult | null>(GuardRegionsRequest.method, { textDocument: { uri: uriOf(MIDAS) } });
      assert.ok(regions && regions.regions.length === 3);
    } finally {
      await lsp.dispose();
    }
  });
});
