// Requests on an open document are answered while the workspace's declarations pass is still
// running (here held open by a file read that does not complete), against what is declared so
// far; once indexing ends the document is analysed again with the whole crate.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import type { Hover, MarkupContent } from 'vscode-languageserver-protocol';
import { defaultHost } from '../../server/src/lsp/defaultHost';
import type { ServerHost } from '../../server/src/lsp/host';
import { fixturePath, LspHarness } from '../support/lsp-harness';

const DEMO = fixturePath('examples', 'demo-crate');
const CATALOG = path.join(DEMO, 'src', 'catalog.rs');
const HELD = path.join(DEMO, 'src', 'midas.rs');

let release!: () => void;
const gate = new Promise<void>((resolve) => (release = resolve));
let reached!: () => void;
const heldFileRead = new Promise<void>((resolve) => (reached = resolve));
const base = defaultHost();
const host: ServerHost = {
  ...base,
  createEngine: () => base.createEngine(),
  discoverWorkspace: (p, o) => base.discoverWorkspace(p, o),
  buildCrateIndex: (e, f) => base.buildCrateIndex(e, f),
  async readFile(p: string) {
    if (path.resolve(p) === HELD) {
      reached();
      await gate;
    }
    return base.readFile(p);
  },
};
const lsp = new LspHarness({ host, configuration: () => ({}) });
after(() => {
  release();
  lsp.dispose();
});

test('a hover during the declarations pass is answered before the pass ends', async () => {
  const text = fs.readFileSync(CATALOG, 'utf8');
  const uri = await lsp.open(CATALOG, text);
  await lsp.initialize([DEMO]);
  await heldFileRead;
  const at = text.indexOf('read()', text.indexOf('if let Some'));
  const lines = text.slice(0, at + 1).split('\n');
  const hover = await lsp.request<Hover>('textDocument/hover', { textDocument: { uri }, position: { line: lines.length - 1, character: lines[lines.length - 1].length } });
  // Answered with the pass still waiting on midas.rs.
  assert.ok(!lsp.statuses.some((s) => s.state === 'ready'));
  assert.match((hover.contents as MarkupContent).value, /Catalog\.load/);
  release();
  const ready = await lsp.waitForReady();
  assert.equal(ready.filesTotal, 6);
  // With the whole crate indexed, the cross-function finding is there.
  await lsp.waitForDiagnostics(uri, (p) => p.diagnostics.some((d) => d.code === 'double-lock'));
});
