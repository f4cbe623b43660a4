// The language server on the real engine under thousands of random edits of real files: runs of
// tokens deleted, duplicated, inserted (braces, quotes, `let`, guards), lines truncated, several
// changes per notification, with hovers, highlights and malformed requests in between. It must
// never crash or hang, and once typing stops its diagnostics and guard regions must equal what
// a fresh server computes for the final texts: every cache (trees, shifted declarations,
// per-function results, the incremental lock graph) has to end where a cold start does.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import type { Diagnostic, TextDocumentContentChangeEvent } from 'vscode-languageserver-protocol';
import { GuardRegionsRequest, type GuardRegionsResult } from '../../common/protocol';
import { defaultHost } from '../../server/src/lsp/defaultHost';
import { fixturePath, LspHarness } from '../support/lsp-harness';
import { prng } from '../support/random';

const DEMO = fixturePath('examples', 'demo-crate');
const FILES = ['catalog.rs', 'midas.rs', 'heartbeat.rs'].map((f) => path.join(DEMO, 'src', f));
const EDITS_PER_FILE = 700;

const SNIPPETS = ['{', '}', '"', "'", '(', ')', ';', '\n', ' let ', 'let g = self.load.write().unwrap();', '.lock()', '.await', 'if let Some(x) = ', 'drop(g);', '/*', '*/', '// ', 'fn f() {}', 'é🦀'];

function positionAt(text: string, offset: number): { line: number; character: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length - 1, character: before[before.length - 1].length };
}

interface Applied {
  change: TextDocumentContentChangeEvent;
  text: string;
  /** The change that takes the new text back to the old one. */
  undo: (text: string) => { change: TextDocumentContentChangeEvent; text: string };
}

/** One random change against `text`, the text after it, and its inverse. */
function randomChange(text: string, pick: (n: number) => number): Applied {
  let start = pick(text.length + 1);
  let end = start;
  let inserted = '';
  switch (pick(5)) {
    case 0: // delete a run of tokens
      end = Math.min(text.length, start + 1 + pick(12));
      break;
    case 1: {
      // duplicate a run copied from elsewhere
      const from = pick(text.length);
      inserted = text.slice(from, from + 1 + pick(30));
      break;
    }
    case 2: // truncate the line
      end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      break;
    default:
      inserted = SNIPPETS[pick(SNIPPETS.length)];
  }
  // Never split a surrogate pair.
  if (start > 0 && /[\uDC00-\uDFFF]/.test(text[start] ?? '')) start--;
  if (end > start && /[\uDC00-\uDFFF]/.test(text[end] ?? '')) end++;
  end = Math.max(start, Math.min(end, text.length));
  const change = { range: { start: positionAt(text, start), end: positionAt(text, end) }, text: inserted };
  const removed = text.slice(start, end);
  const undo = (now: string) => ({
    change: { range: { start: positionAt(now, start), end: positionAt(now, start + inserted.length) }, text: removed },
    text: now.slice(0, start) + removed + now.slice(start + inserted.length),
  });
  return { change, text: text.slice(0, start) + inserted + text.slice(end), undo };
}

/** Rules that look at one function at a time (the lock graph's findings settle later, across files). */
const LOCAL = (d: Diagnostic) => !['lock-order-inversion', 'lock-hierarchy', 'double-lock'].includes(String(d.code));

/** What a freshly started server says about these texts: diagnostics and guard regions per document. */
async function freshView(texts: string[]): Promise<Array<{ diagnostics: Diagnostic[]; regions: unknown }>> {
  const server = new LspHarness({ host: defaultHost(), configuration: () => ({}), debounceMs: 0 });
  try {
    await server.initialize([DEMO]);
    await server.waitForReady();
    const uris = await Promise.all(FILES.map((f, i) => server.open(f, texts[i])));
    const out = [];
    for (const uri of uris) {
      const p = await server.waitForDiagnostics(uri, (x) => x.version === 1, 'fresh diagnostics');
      const regions = await server.request<GuardRegionsResult>(GuardRegionsRequest.method, { textDocument: { uri } });
      out.push({ diagnostics: p.diagnostics, regions: regions?.regions });
    }
    return out;
  } finally {
    await server.dispose();
  }
}

const key = (d: Diagnostic) => `${d.range.start.line}:${d.range.start.character}-${d.range.end.line}:${d.range.end.character} ${String(d.code)} ${d.message}`;

const edited = new LspHarness({ host: defaultHost(), configuration: () => ({}), debounceMs: 0 });
const fresh = new LspHarness({ host: defaultHost(), configuration: () => ({}), debounceMs: 0 });
after(async () => {
  await edited.dispose();
  await fresh.dispose();
});

test('thousands of random edits end where a fresh server starts', async (t) => {
  await edited.initialize([DEMO]);
  await edited.waitForReady();
  const pick = prng(20261122);
  const docs = await Promise.all(FILES.map(async (f) => ({ uri: await edited.open(f), text: fs.readFileSync(f, 'utf8'), version: 1 })));
  let sent = 0;
  let checkpoints = 0;
  // Bursts of edits that are mostly undone again (typing, then deleting), so the files keep their
  // locks and findings while the server goes through thousands of broken states.
  const bursts = docs.map(() => [] as Applied[]);
  for (let round = 0; round < EDITS_PER_FILE; round++) {
    for (const [d, doc] of docs.entries()) {
      const changes: TextDocumentContentChangeEvent[] = [];
      const burst = bursts[d];
      if (burst.length > 0 && (burst.length >= 6 || pick(3) === 0)) {
        // Undo the burst, all in one notification or a part at a time.
        while (burst.length > 0) {
          const back = burst.pop()!.undo(doc.text);
          changes.push(back.change);
          doc.text = back.text;
          if (pick(2) === 0) break;
        }
      }
      if (changes.length === 0) {
        // Sometimes several changes in one notification, each against the text the previous left.
        for (let k = pick(4) === 0 ? 3 : 1; k > 0; k--) {
          const next = randomChange(doc.text, pick);
          changes.push(next.change);
          doc.text = next.text;
          burst.push(next);
        }
      }
      doc.version = await edited.change(doc.uri, changes);
      sent++;
    }
    if (round % 50 === 0) {
      const doc = docs[pick(docs.length)];
      const position = positionAt(doc.text, pick(doc.text.length + 1));
      // Answers (or null), never errors, while the text keeps changing.
      await edited.request('textDocument/hover', { textDocument: { uri: doc.uri }, position });
      await edited.request('textDocument/documentHighlight', { textDocument: { uri: doc.uri }, position });
      assert.equal(await edited.request('textDocument/hover', { textDocument: { uri: 42 }, position: 'x' }), null);
      await edited.request(GuardRegionsRequest.method, { textDocument: { uri: doc.uri } });
    }
    // Now and then let the server catch up and compare it, in whatever broken state the texts
    // are, with a fresh server: guard regions and the findings of one function at a time.
    if (round % 100 === 99) {
      const published = [];
      for (const doc of docs) published.push(await edited.waitForDiagnostics(doc.uri, (p) => p.version === doc.version, `version ${doc.version}`));
      const expected = await freshView(docs.map((d) => d.text));
      if (process.env.DUMP) docs.forEach((d, i) => fs.writeFileSync(`/tmp/ll/cp-${round}-${i}.rs`, d.text));
      for (const [i, doc] of docs.entries()) {
        assert.deepEqual(published[i].diagnostics.filter(LOCAL).map(key).sort(), expected[i].diagnostics.filter(LOCAL).map(key).sort(), `${path.basename(FILES[i])} after round ${round}`);
        const regions = await edited.request<GuardRegionsResult>(GuardRegionsRequest.method, { textDocument: { uri: doc.uri } });
        assert.deepEqual(regions?.regions, expected[i].regions, `${path.basename(FILES[i])} regions after round ${round}`);
        checkpoints++;
      }
    }
  }
  assert.equal(sent, EDITS_PER_FILE * FILES.length);
  assert.equal(checkpoints, Math.floor(EDITS_PER_FILE / 100) * FILES.length);
  // Finish on the texts with their bursts undone and one new function, so the comparison covers
  // the files' real findings and one the server has not seen before.
  for (const [d, doc] of docs.entries()) {
    const changes: TextDocumentContentChangeEvent[] = [];
    for (let a = bursts[d].pop(); a; a = bursts[d].pop()) {
      const back = a.undo(doc.text);
      changes.push(back.change);
      doc.text = back.text;
    }
    const end = positionAt(doc.text, doc.text.length);
    const added = `\npub fn added_${d}(m: &std::sync::Mutex<u32>) {\n    let _ = m.lock();\n}\n`;
    changes.push({ range: { start: end, end }, text: added });
    doc.text += added;
    doc.version = await edited.change(doc.uri, changes);
  }
  const finals = await Promise.all(docs.map((d) => edited.waitForDiagnostics(d.uri, (p) => p.version === d.version, `final version ${d.version}`)));

  await fresh.initialize([DEMO]);
  await fresh.waitForReady();
  for (const [i, doc] of docs.entries()) {
    await fresh.open(FILES[i], doc.text);
  }
  for (const [i, doc] of docs.entries()) {
    // The edited server may still republish after a graph change elsewhere: take its latest.
    const expected = await fresh.waitForDiagnostics(doc.uri, (p) => p.version === 1, 'fresh diagnostics');
    const got = edited.diagnostics.get(doc.uri) ?? finals[i];
    assert.deepEqual(got.diagnostics.map(key).sort(), expected.diagnostics.map(key).sort(), `${path.basename(FILES[i])}: diagnostics after ${EDITS_PER_FILE} edits`);
    const [a, b] = await Promise.all([
      edited.request<GuardRegionsResult>(GuardRegionsRequest.method, { textDocument: { uri: doc.uri } }),
      fresh.request<GuardRegionsResult>(GuardRegionsRequest.method, { textDocument: { uri: doc.uri } }),
    ]);
    assert.deepEqual(a?.regions, b?.regions, `${path.basename(FILES[i])}: guard regions`);
    t.diagnostic(`${path.basename(FILES[i])}: ${expected.diagnostics.length} diagnostics, ${b?.regions.length ?? 0} guard regions agree`);
    assert.ok(expected.diagnostics.some((x) => x.code === 'let-underscore-lock') && (b?.regions.length ?? 0) > 1, 'the final texts have their locks and findings');
  }
});
