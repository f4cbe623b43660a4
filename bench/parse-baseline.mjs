#!/usr/bin/env node
// Bare tree-sitter parse baseline: read every `.rs` file under a directory and parse it with
// web-tree-sitter + tree-sitter-rust (the same wasm the engine uses), nothing else.
//
//   node bench/parse-baseline.mjs <dir> [--workers N] [--list-files]
//
// --workers 0 (default) parses on the main thread with one parser. --workers N starts N
// worker threads (node:worker_threads), each with its own Parser/Language, and gives each a
// share of the files balanced by byte size (longest-processing-time first).
//
// Prints one JSON object on stdout: files, lines, bytes, per-phase times in ms, and the
// process's own maxRSS. Timings are measured from process start (performance.now()), so
// `totalMs` includes Node start-up, module loading and wasm initialisation — the same costs
// a cold `locklens check` process pays.
//
// This is a benchmark helper, not a test: it never asserts on timings.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const require = createRequire(import.meta.url);

/** Directories never descended into when collecting `.rs` files. */
const SKIP_DIRS = new Set(['target', 'node_modules', '.git']);

/** All `.rs` files under `root`, sorted, skipping build output and hidden directories. */
export function listRustFiles(root) {
  const out = [];
  const walk = (dir) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (SKIP_DIRS.has(e.name) || e.name.startsWith('.')) continue;
        walk(p);
      } else if (e.isFile() && e.name.endsWith('.rs')) {
        out.push(p);
      }
    }
  };
  walk(root);
  out.sort();
  return out;
}

function countLines(text) {
  if (text.length === 0) return 0;
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return text.endsWith('\n') ? n : n + 1;
}

async function loadParser() {
  const t0 = performance.now();
  const { Parser, Language } = await import('web-tree-sitter');
  await Parser.init();
  const wasm = require.resolve('tree-sitter-rust/tree-sitter-rust.wasm');
  const Rust = await Language.load(wasm);
  const parser = new Parser();
  parser.setLanguage(Rust);
  return { parser, initMs: performance.now() - t0 };
}

/** Read and parse `files` with one parser; per-phase sums in ms. */
async function parseFiles(files) {
  const { parser, initMs } = await loadParser();
  let readMs = 0;
  let parseMs = 0;
  let lines = 0;
  let bytes = 0;
  let filesWithErrors = 0;
  for (const f of files) {
    const t0 = performance.now();
    const text = readFileSync(f, 'utf8');
    const t1 = performance.now();
    const tree = parser.parse(text);
    const t2 = performance.now();
    readMs += t1 - t0;
    parseMs += t2 - t1;
    if (tree.rootNode.hasError) filesWithErrors++;
    tree.delete();
    lines += countLines(text);
    bytes += Buffer.byteLength(text, 'utf8');
  }
  parser.delete();
  return { files: files.length, lines, bytes, filesWithErrors, initMs, readMs, parseMs };
}

/** Split files into n bins of roughly equal total size (LPT: biggest file to the lightest bin). */
function partition(files, n) {
  const sized = files.map((f) => ({ f, size: statSync(f).size })).sort((a, b) => b.size - a.size);
  const bins = Array.from({ length: n }, () => ({ files: [], size: 0 }));
  for (const { f, size } of sized) {
    let best = bins[0];
    for (const b of bins) if (b.size < best.size) best = b;
    best.files.push(f);
    best.size += size;
  }
  return bins.map((b) => b.files);
}

function runWorker(files) {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { files } });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => {
      if (code !== 0) reject(new Error(`parse worker exited with code ${code}`));
    });
  });
}

async function main(argv) {
  let dir;
  let workers = 0;
  let listOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--workers') workers = Number(argv[++i]);
    else if (a === '--list-files') listOnly = true;
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else dir = a;
  }
  if (!dir) throw new Error('usage: parse-baseline.mjs <dir> [--workers N] [--list-files]');
  if (!Number.isInteger(workers) || workers < 0) throw new Error('--workers must be an integer >= 0');

  const tList0 = performance.now();
  const files = listRustFiles(path.resolve(dir));
  const listMs = performance.now() - tList0;
  if (listOnly) {
    process.stdout.write(files.join('\n') + '\n');
    return;
  }
  if (files.length === 0) throw new Error(`no .rs files under ${dir}`);

  const tStart = performance.now();
  let result;
  if (workers === 0) {
    result = { mode: 'single-thread', workers: 0, ...(await parseFiles(files)) };
  } else {
    const shares = partition(files, workers);
    const per = await Promise.all(shares.map((s) => runWorker(s)));
    const sum = (k) => per.reduce((acc, r) => acc + r[k], 0);
    const max = (k) => Math.max(...per.map((r) => r[k]));
    result = {
      mode: 'worker-threads',
      workers,
      files: sum('files'),
      lines: sum('lines'),
      bytes: sum('bytes'),
      filesWithErrors: sum('filesWithErrors'),
      // Per-worker phases overlap, so report the slowest worker's and the CPU sum.
      initMs: max('initMs'),
      readMs: max('readMs'),
      parseMs: max('parseMs'),
      parseMsSum: sum('parseMs'),
      perWorker: per.map((r) => ({ files: r.files, bytes: r.bytes, initMs: r.initMs, parseMs: r.parseMs })),
    };
  }
  const end = performance.now();
  result.listMs = listMs;
  result.workMs = end - tStart; // list excluded; init + read + parse (+ worker start-up)
  result.totalMs = end; // since process start
  result.maxRssKb = process.resourceUsage().maxRSS;
  process.stdout.write(JSON.stringify(result) + '\n');
}

if (isMainThread) {
  const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === new URL(import.meta.url).pathname;
  if (invokedDirectly) {
    main(process.argv.slice(2)).catch((err) => {
      process.stderr.write(`parse-baseline: ${err && err.message ? err.message : err}\n`);
      process.exit(2);
    });
  }
} else {
  parseFiles(workerData.files).then(
    (r) => parentPort.postMessage(r),
    (err) => {
      throw err;
    },
  );
}
