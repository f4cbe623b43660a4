#!/usr/bin/env node
// Language-server benchmark (issue 4): the real server, a real LSP client over stdio.
//
//   node bench/lsp.mjs [options]
//     --lines N         size of the generated Rust file (default 5000)
//     --edits N         incremental edits per mode (default 300)
//     --crate DIR       crate for the indexing part (default /usr/share/cargo/registry/tokio-1.24.2)
//     --interval MS     during indexing, send a hover/documentHighlight every MS ms (default 5)
//     --index-runs N    indexing runs, each a fresh server (default 3)
//     --workspace-edits N  edits of a file inside the big crate, no-debounce server (default 100; 0 skips)
//     --skip-latency / --skip-index
//     --out FILE        JSON output (default bench/results/lsp-<YYYY-MM-DD>.json)
//
// Part 1, edit -> diagnostics latency. A temp crate holds one generated file
// (bench/lsp-fixture.mjs: structs with Mutex/RwLock fields, nested locks, a few lock-order
// cycles, `if let` guards). The server is started, initialised on that folder, the file is
// opened, and then N edits are sent one at a time as incremental didChange notifications
// (typing ` let _t = 1;` at the end of a statement inside a function body, then deleting it
// character by character, at pseudo-random places). Each edit's latency is from sending the
// didChange to receiving the first publishDiagnostics for that document version (the server
// publishes the document's own findings before it refreshes the lock graph, and publishes the
// version again if the refresh changes its crate-wide findings: `settledMs` and `republished`
// report those). Run twice:
//   - `default`: `node bin/locklens.js lsp --stdio` (the shipped server, whose default is no
//     debounce: an edit is analysed two event-loop turns after it arrives),
//   - `no-debounce`: the same server started by bench/lsp-server.mjs with debounceMs 0 (the
//     same settings, kept as a second sample of the same code).
// Also, in-process: one full parse + declarations + index + analyzeFile of the same text.
//
// Part 2, indexing a big crate: a temp copy of the crate, the shipped server initialised on it,
// one small file of it opened right after `initialized`; while the server indexes, a hover or
// documentHighlight request on that file is sent every --interval ms (without waiting for the
// previous answer) and each answer's latency recorded. Indexing time is from `initialized` to
// `locklens/status` state `ready`. Peak RSS is VmHWM of the server process.
//
// Part 3, edits inside the big crate: like part 1 (no-debounce server) on one of its files once
// indexed, where every edit also rebuilds the whole workspace's lock graph.

import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { generateLockFile } from './lsp-fixture.mjs';
import { fileUri, memoryOf, startClient } from './lsp-client.mjs';
import { REPO, loadavg, machine, percentiles, prng, sleep } from './lsp-common.mjs';

const require = createRequire(import.meta.url);

function parseArgs(argv) {
  const o = { lines: 5000, edits: 300, crate: '/usr/share/cargo/registry/tokio-1.24.2', interval: 5, indexRuns: 3, workspaceEdits: 100, latency: true, index: true, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    switch (a) {
      case '--lines': o.lines = Number(v()); break;
      case '--edits': o.edits = Number(v()); break;
      case '--crate': o.crate = path.resolve(v()); break;
      case '--interval': o.interval = Number(v()); break;
      case '--index-runs': o.indexRuns = Math.max(1, Number(v())); break;
      case '--workspace-edits': o.workspaceEdits = Number(v()); break;
      case '--skip-latency': o.latency = false; break;
      case '--skip-index': o.index = false; break;
      case '--out': o.out = path.resolve(v()); break;
      default:
        console.error(`unknown option ${a}`);
        process.exit(2);
    }
  }
  return o;
}

const SERVERS = {
  default: { argv: [path.join(REPO, 'bin', 'locklens.js'), 'lsp', '--stdio'], debounce: '0 ms (server default)' },
  'no-debounce': { argv: [path.join(REPO, 'bench', 'lsp-server.mjs'), '--debounce', '0'], debounce: '0 ms' },
};

const CARGO_TOML = '[package]\nname = "lockfixture"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n';

/** The edit script: bursts of typing ` let _t = 1;` at the end of a body statement, then deleting it. */
function editScript(fixture, count, seed = 42) {
  const rand = prng(seed);
  const lines = fixture.text.split('\n');
  const typed = ' let _t = 1;';
  const edits = [];
  while (edits.length < count) {
    const line = fixture.editLines[Math.floor(rand() * fixture.editLines.length)];
    const base = lines[line].length;
    for (let k = 0; k < typed.length && edits.length < count; k++) {
      const c = base + k;
      edits.push({ range: { start: { line, character: c }, end: { line, character: c } }, text: typed[k] });
    }
    for (let k = typed.length; k > 0 && edits.length < count; k--) {
      const c = base + k;
      edits.push({ range: { start: { line, character: c - 1 }, end: { line, character: c } }, text: '' });
    }
  }
  return edits;
}

async function waitFor(pred, timeoutMs, what) {
  const t0 = performance.now();
  while (!pred()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

async function withTimeout(promise, ms) {
  let t;
  const timeout = new Promise((r) => (t = setTimeout(() => r(null), ms)));
  const out = await Promise.race([promise, timeout]);
  clearTimeout(t);
  return out;
}

/**
 * Sends the edits one at a time, each after the previous one's diagnostics: ms from didChange to
 * the first publishDiagnostics for that version. The server may publish a version again (its
 * crate-wide findings after the lock-graph refresh): `settled` is ms to the last publication of
 * each version (which may arrive after the next edit was sent), `republished` how many versions
 * were published more than once.
 */
async function timeEdits(client, uri, version, edits) {
  const samples = [];
  const sentAt = new Map();
  let timeouts = 0;
  for (const change of edits) {
    version++;
    const t0 = performance.now();
    sentAt.set(version, t0);
    const wait = client.diagnostics(uri, version);
    client.conn.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [change] });
    const got = await withTimeout(wait, 10000);
    if (!got) timeouts++;
    else samples.push(got.at - t0);
  }
  await sleep(200); // late republications of the last version
  const last = new Map();
  const count = new Map();
  for (const p of client.publications) {
    if (p.uri !== uri || !sentAt.has(p.version)) continue;
    last.set(p.version, p.at);
    count.set(p.version, (count.get(p.version) ?? 0) + 1);
  }
  const settled = [...last].map(([v, at]) => at - sentAt.get(v));
  const republished = [...count.values()].filter((n) => n > 1).length;
  return { samples, timeouts, settled, republished };
}

async function latencyRun(mode, dir, file, fixture, edits) {
  const client = startClient(SERVERS[mode].argv);
  const uri = fileUri(file);
  await client.initialize(dir);
  client.conn.sendNotification('initialized', {});
  await waitFor(() => client.status.some((s) => s.state === 'ready'), 60000, 'ready');
  const version = 1;
  const tOpen = performance.now();
  client.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'rust', version, text: fixture.text } });
  const first = await client.diagnostics(uri, version);
  const openMs = first.at - tOpen;
  const diagCount = first.params.diagnostics.length;
  const { samples, timeouts, settled, republished } = await timeEdits(client, uri, version, edits);
  const mem = memoryOf(client.child.pid);
  await client.close();
  return {
    mode,
    debounce: SERVERS[mode].debounce,
    command: `node ${path.relative(REPO, SERVERS[mode].argv[0])} ${SERVERS[mode].argv.slice(1).join(' ')}`,
    openToFirstDiagnosticsMs: Math.round(openMs * 10) / 10,
    diagnosticsOnOpen: diagCount,
    edits: samples.length,
    timeouts,
    latencyMs: percentiles(samples),
    settledMs: percentiles(settled),
    republished,
    peakRssMB: mem?.hwmMB ?? null,
  };
}

async function engineOnly(fixture, runs = 15) {
  const { getEngine } = require(path.join(REPO, 'out', 'server', 'src', 'workspace', 'check.js'));
  const { buildCrateIndex } = require(path.join(REPO, 'out', 'server', 'src', 'analysis', 'index.js'));
  const engine = await getEngine();
  const key = 'src/lib.rs';
  const parse = [];
  const declare = [];
  const analyze = [];
  const total = [];
  for (let i = 0; i < runs + 2; i++) {
    const t0 = performance.now();
    const parsed = engine.parse(fixture.text);
    const t1 = performance.now();
    const index = buildCrateIndex('2021', [engine.declarations(parsed, key)]);
    const t2 = performance.now();
    const analysis = engine.analyzeFile(parsed, key, index, { edition: '2021' });
    const t3 = performance.now();
    parsed.dispose();
    void analysis;
    if (i < 2) continue; // warm-up
    parse.push(t1 - t0);
    declare.push(t2 - t1);
    analyze.push(t3 - t2);
    total.push(t3 - t0);
  }
  return { runs, fullParseMs: percentiles(parse), declarationsAndIndexMs: percentiles(declare), analyzeFileMs: percentiles(analyze), totalMs: percentiles(total) };
}

async function indexRun(crateDir, intervalMs) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'locklens-lsp-index-'));
  const dir = path.join(tmp, path.basename(crateDir));
  cpSync(crateDir, dir, { recursive: true, dereference: true });
  if (!existsSync(path.join(dir, 'Cargo.toml'))) writeFileSync(path.join(dir, 'Cargo.toml'), CARGO_TOML.replace('lockfixture', 'indexed'));
  // The small open file: the smallest source file with a `.lock()` call.
  const candidates = ['src/loom/std/atomic_u64_as_mutex.rs'];
  let rel = candidates.find((c) => existsSync(path.join(dir, c)));
  if (!rel) throw new Error('no small file with a lock in the crate');
  const file = path.join(dir, rel);
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const line = lines.findIndex((l) => l.includes('let mut lock = self.inner.lock()'));
  const position = { line, character: lines[line].indexOf('.lock()') + 1 };
  const uri = fileUri(file);

  const client = startClient(SERVERS.default.argv);
  const pid = client.child.pid;
  let peakSampledRss = 0;
  const rssTimer = setInterval(() => {
    const m = memoryOf(pid);
    if (m?.rssMB) peakSampledRss = Math.max(peakSampledRss, m.rssMB);
  }, 20);
  await client.initialize(dir);
  const t0 = performance.now();
  client.conn.sendNotification('initialized', {});
  client.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'rust', version: 1, text } });
  const requests = [];
  let readyAt = null;
  let stopAt = null;
  let n = 0;
  const pending = new Set();
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      if (readyAt === null) {
        const ready = client.status.find((s) => s.state === 'ready');
        if (ready) {
          readyAt = ready.at;
          stopAt = now + 1000; // one more second of requests after ready, for comparison
        }
      }
      if ((stopAt !== null && now >= stopAt) || now - t0 > 600000) {
        clearInterval(timer);
        resolve();
        return;
      }
      const method = n++ % 2 === 0 ? 'textDocument/hover' : 'textDocument/documentHighlight';
      const r = { method, sentAt: now - t0, latency: null, nonEmpty: false };
      const p = client.conn.sendRequest(method, { textDocument: { uri }, position }).then((res) => {
        r.latency = performance.now() - now;
        r.nonEmpty = res !== null && res !== undefined;
      });
      pending.add(p);
      p.finally(() => pending.delete(p));
      requests.push(r);
    }, intervalMs);
  });
  await Promise.all([...pending]);
  clearInterval(rssTimer);
  const mem = memoryOf(pid);
  const statusReady = client.status.find((s) => s.state === 'ready');
  const progressEnd = client.progress.find((p) => p.kind === 'end');
  const progressBegin = client.progress.find((p) => p.kind === 'begin');
  await client.close();
  rmSync(tmp, { recursive: true, force: true });
  const indexMs = statusReady.at - t0;
  const during = requests.filter((r) => r.sentAt < indexMs);
  const after = requests.filter((r) => r.sentAt >= indexMs);
  // The first moment a request sent during indexing was answered (before that, requests queue).
  const firstAnswer = Math.min(...during.map((r) => r.sentAt + r.latency));
  // Sent once the first request had been answered (the server is past its declarations pass).
  const late = during.filter((r) => r.sentAt >= firstAnswer);
  return {
    crate: crateDir,
    files: statusReady.filesTotal,
    openFile: rel,
    position,
    intervalMs,
    indexingMs: Math.round(indexMs),
    progressBeginToEndMs: progressBegin && progressEnd ? Math.round(progressEnd.at - progressBegin.at) : null,
    requestsDuringIndexing: { ...percentiles(during.map((r) => r.latency)), answered: during.filter((r) => r.nonEmpty).length },
    requestsDuringIndexingAfterFirstAnswer: { ...percentiles(late.map((r) => r.latency)), answered: late.filter((r) => r.nonEmpty).length },
    requestsAfterReady: { ...percentiles(after.map((r) => r.latency)), answered: after.filter((r) => r.nonEmpty).length },
    firstAnswerDuringIndexingMs: Number.isFinite(firstAnswer) ? Math.round(firstAnswer) : null,
    peakRssMB: mem?.hwmMB ?? null,
    peakSampledRssMB: Math.round(peakSampledRss * 10) / 10,
  };
}

/**
 * Edit latency inside the big crate (no-debounce server): every edit also rebuilds the lock graph
 * of the whole workspace, so this shows the cost a real project adds to the single-file number.
 */
async function workspaceEditRun(crateDir, count) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'locklens-lsp-wsedit-'));
  const dir = path.join(tmp, path.basename(crateDir));
  cpSync(crateDir, dir, { recursive: true, dereference: true });
  const rel = 'src/runtime/blocking/pool.rs';
  const file = path.join(dir, rel);
  if (!existsSync(file)) return null;
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const editLines = [];
  for (let i = 0; i < lines.length; i++) if (/^ {8,}\S.*;\s*$/.test(lines[i]) && !lines[i].trim().startsWith('//')) editLines.push(i);
  const fixture = { text, lines: lines.length, editLines };
  const edits = editScript(fixture, count, 7);
  const client = startClient(SERVERS['no-debounce'].argv);
  const uri = fileUri(file);
  await client.initialize(dir);
  client.conn.sendNotification('initialized', {});
  await waitFor(() => client.status.some((s) => s.state === 'ready'), 600000, 'ready');
  const version = 1;
  client.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'rust', version, text } });
  await client.diagnostics(uri, version);
  const { samples, timeouts, settled, republished } = await timeEdits(client, uri, version, edits);
  const mem = memoryOf(client.child.pid);
  await client.close();
  rmSync(tmp, { recursive: true, force: true });
  return { mode: 'no-debounce', command: `node bench/lsp-server.mjs --debounce 0`, file: rel, lines: lines.length, edits: samples.length, timeouts, latencyMs: percentiles(samples), settledMs: percentiles(settled), republished, peakRssMB: mem?.hwmMB ?? null };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const startedAt = new Date().toISOString();
  const result = { startedAt, command: `node bench/lsp.mjs ${process.argv.slice(2).join(' ')}`.trim(), machine: machine(), loadStart: loadavg() };
  console.error(`lsp bench: ${startedAt}, load ${result.loadStart.join(' ')}`);
  if (opts.latency) {
    const fixture = generateLockFile(opts.lines);
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'locklens-lsp-latency-'));
    mkdirSync(path.join(tmp, 'src'));
    writeFileSync(path.join(tmp, 'Cargo.toml'), CARGO_TOML);
    const file = path.join(tmp, 'src', 'lib.rs');
    writeFileSync(file, fixture.text);
    const edits = editScript(fixture, opts.edits);
    result.fixture = { lines: fixture.lines, bytes: Buffer.byteLength(fixture.text), editableLines: fixture.editLines.length, edits: edits.length };
    result.engineOnly = await engineOnly(fixture);
    console.error(`engine only: ${JSON.stringify(result.engineOnly.totalMs)}`);
    result.latency = [];
    for (const mode of ['no-debounce', 'default']) {
      const r = await latencyRun(mode, tmp, file, fixture, edits);
      console.error(`${mode}: ${JSON.stringify(r)}`);
      result.latency.push(r);
    }
    rmSync(tmp, { recursive: true, force: true });
  }
  if (opts.index) {
    result.index = [];
    for (let i = 0; i < opts.indexRuns; i++) {
      const r = await indexRun(opts.crate, opts.interval);
      console.error(`index run ${i + 1}: ${JSON.stringify(r)}`);
      result.index.push(r);
    }
  }
  if (opts.index && opts.workspaceEdits > 0) {
    result.workspaceEdits = await workspaceEditRun(opts.crate, opts.workspaceEdits);
    console.error(`workspace edits: ${JSON.stringify(result.workspaceEdits)}`);
  }
  result.loadEnd = loadavg();
  result.finishedAt = new Date().toISOString();
  const out = opts.out ?? path.join(REPO, 'bench', 'results', `lsp-${startedAt.slice(0, 10)}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result, null, 2));
  console.error(`written ${path.relative(process.cwd(), out)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
