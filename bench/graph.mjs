#!/usr/bin/env node
// Lock graph benchmark (issue 3), in-process against the compiled engine in out/.
//
//   node bench/graph.mjs [options]
//     --crate DIR     workspace to graph (default /usr/share/cargo/registry/tokio-1.24.2)
//     --runs N        full check + graph rounds (default 5; medians reported)
//     --edits N       one-file edits for the incremental update (default 50)
//     --threads N     threads for checkWorkspace (default 1: everything in this thread)
//     --functions N   functions in the synthetic dense call graph (default 5000)
//     --out FILE      JSON output (default bench/results/graph-<YYYY-MM-DD>.json)
//
// 1. Whole workspace: checkWorkspace (server/src/workspace/check.ts) then workspaceGraph and
//    workspaceFindings (server/src/workspace/graph.ts); the graph's cost is reported next to
//    the check's, in the same process and round.
// 2. Update after a one-file edit, as the language server does it: ` let _t = 1;` is typed at
//    the end of an indented statement of a file (a different file each time, spread over the
//    crate); that file is re-parsed, its declarations collected (the crate index is rebuilt
//    only if they changed), it is re-analysed with the crate index (engine.analyzeFile), and
//    the whole graph is rebuilt from the cached per-file results with the new one swapped in.
// 3. A synthetic dense call graph: N functions in 50 modules, each calling 4 others (one big
//    mutually recursive component), one in 8 calling while holding one of 64 static mutexes.
//    Shows that reach propagation over recursion terminates and how long it takes.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { REPO, loadavg, machine, percentiles } from './lsp-common.mjs';

const require = createRequire(import.meta.url);
const OUT = path.join(REPO, 'out', 'server', 'src');
const { discoverWorkspace } = require(path.join(OUT, 'workspace', 'discover.js'));
const { checkWorkspace, getEngine } = require(path.join(OUT, 'workspace', 'check.js'));
const { workspaceGraph, workspaceFindings } = require(path.join(OUT, 'workspace', 'graph.js'));
const { buildCrateIndex } = require(path.join(OUT, 'analysis', 'index.js'));

function parseArgs(argv) {
  const o = { crate: '/usr/share/cargo/registry/tokio-1.24.2', runs: 5, edits: 50, threads: 1, functions: 5000, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    switch (a) {
      case '--crate': o.crate = path.resolve(v()); break;
      case '--runs': o.runs = Math.max(1, Number(v())); break;
      case '--edits': o.edits = Math.max(1, Number(v())); break;
      case '--threads': o.threads = Math.max(1, Number(v())); break;
      case '--functions': o.functions = Math.max(10, Number(v())); break;
      case '--out': o.out = path.resolve(v()); break;
      default:
        console.error(`unknown option ${a}`);
        process.exit(2);
    }
  }
  return o;
}

const ms = (x) => Math.round(x * 100) / 100;

function graphSize(graph) {
  return { nodes: graph.nodes.length, edges: graph.edges.length, cycles: graph.cycles.length, functions: graph.functions.length, findings: graph.findings.length };
}

async function wholeWorkspace(model, opts) {
  const rounds = [];
  let last;
  for (let r = 0; r < opts.runs + 1; r++) {
    const t0 = performance.now();
    const result = await checkWorkspace(model, { threads: opts.threads });
    const t1 = performance.now();
    const graph = workspaceGraph(result);
    const t2 = performance.now();
    const findings = workspaceFindings(result, graph);
    const t3 = performance.now();
    if (r === 0) continue; // warm-up (JIT, wasm instance)
    rounds.push({ checkMs: t1 - t0, graphMs: t2 - t1, findingsMs: t3 - t2 });
    last = { result, graph, findings };
  }
  const med = (k) => percentiles(rounds.map((x) => x[k])).p50;
  return {
    summary: {
      runs: rounds.length,
      files: last.result.stats.files,
      lines: last.result.stats.lines,
      checkMs: percentiles(rounds.map((x) => x.checkMs)),
      graphMs: percentiles(rounds.map((x) => x.graphMs)),
      findingsMs: percentiles(rounds.map((x) => x.findingsMs)),
      addedOverCheckPct: ms(((med('graphMs') + med('findingsMs')) / med('checkMs')) * 100),
      graph: graphSize(last.graph),
      graphFindings: last.findings.length,
    },
    last,
  };
}

/** Places to type: after an indented statement ending in `;` (a function body, almost always). */
function editPoint(text) {
  const lines = text.split('\n');
  const candidates = [];
  for (let i = 0; i < lines.length; i++) if (/^ {8,}\S.*;\s*$/.test(lines[i]) && !lines[i].trim().startsWith('//')) candidates.push(i);
  if (candidates.length === 0) return null;
  const line = candidates[Math.floor(candidates.length / 2)];
  lines[line] = lines[line].replace(/\s*$/, '') + ' let _t = 1;';
  return { line, text: lines.join('\n') };
}

async function incremental(result, opts) {
  const engine = await getEngine();
  const t0 = performance.now();
  const indexes = result.crates.map((c) => buildCrateIndex(c.options.edition, c.declarations));
  const indexBuildMs = performance.now() - t0;
  // Files spread over the crate (sorted by path, evenly spaced), each with a place to type.
  const all = result.crates.flatMap((c, ci) => c.files.map((a, fi) => ({ ci, fi, rel: a.file })));
  const picks = [];
  const step = Math.max(1, Math.floor(all.length / opts.edits));
  for (let i = 0; picks.length < opts.edits && i < all.length * 2; i += step) {
    const f = all[i % all.length];
    if (picks.some((p) => p.rel === f.rel)) continue;
    const edit = editPoint(result.crates[f.ci].texts.get(f.rel) ?? '');
    if (edit) picks.push({ ...f, edit });
  }
  const samples = [];
  let indexRebuilds = 0;
  for (const p of picks) {
    const crate = result.crates[p.ci];
    const oldAnalysis = crate.files[p.fi];
    const oldText = crate.texts.get(p.rel);
    const di = crate.declarations.findIndex((d) => d.file === p.rel);
    const oldDecl = crate.declarations[di];
    const t0 = performance.now();
    const parsed = engine.parse(p.edit.text);
    const t1 = performance.now();
    const decl = engine.declarations(parsed, p.rel);
    let index = indexes[p.ci];
    if (JSON.stringify(decl) !== JSON.stringify(oldDecl)) {
      crate.declarations[di] = decl;
      index = indexes[p.ci] = buildCrateIndex(crate.options.edition, crate.declarations);
      indexRebuilds++;
    }
    const t2 = performance.now();
    const analysis = engine.analyzeFile(parsed, p.rel, index, crate.options);
    parsed.dispose();
    const t3 = performance.now();
    crate.files[p.fi] = analysis;
    crate.texts.set(p.rel, p.edit.text);
    const graph = workspaceGraph(result);
    const t4 = performance.now();
    workspaceFindings(result, graph);
    const t5 = performance.now();
    samples.push({ file: p.rel, parseMs: t1 - t0, declarationsMs: t2 - t1, analyzeMs: t3 - t2, graphMs: t4 - t3, findingsMs: t5 - t4, totalMs: t5 - t0 });
    // Restore, so every edit starts from the same workspace.
    crate.files[p.fi] = oldAnalysis;
    crate.texts.set(p.rel, oldText);
    if (crate.declarations[di] !== oldDecl) {
      crate.declarations[di] = oldDecl;
      indexes[p.ci] = buildCrateIndex(crate.options.edition, crate.declarations);
    }
  }
  const col = (k) => percentiles(samples.map((s) => s[k]));
  return {
    edits: samples.length,
    indexBuildOnceMs: ms(indexBuildMs),
    indexRebuilds,
    parseMs: col('parseMs'),
    declarationsMs: col('declarationsMs'),
    analyzeFileMs: col('analyzeMs'),
    graphMs: col('graphMs'),
    findingsMs: col('findingsMs'),
    graphPlusFindingsMs: percentiles(samples.map((s) => s.graphMs + s.findingsMs)),
    totalMs: col('totalMs'),
    slowest: [...samples].sort((a, b) => b.totalMs - a.totalMs).slice(0, 3).map((s) => ({ file: s.file, totalMs: ms(s.totalMs), analyzeMs: ms(s.analyzeMs), graphMs: ms(s.graphMs) })),
  };
}

/** A crate with `n` functions in 50 modules, each calling 4 others; one in 8 calls under a static mutex. */
function denseCrate(dir, n) {
  const modules = 50;
  const locks = 64;
  const per = Math.ceil(n / modules);
  mkdirSync(path.join(dir, 'src'), { recursive: true });
  writeFileSync(path.join(dir, 'Cargo.toml'), '[package]\nname = "dense"\nversion = "0.1.0"\nedition = "2021"\n');
  const lib = ['use std::sync::Mutex;', ''];
  for (let m = 0; m < modules; m++) lib.push(`pub mod m${m};`);
  lib.push('');
  for (let k = 0; k < locks; k++) lib.push(`pub static LOCK_${k}: Mutex<u64> = Mutex::new(0);`);
  writeFileSync(path.join(dir, 'src', 'lib.rs'), lib.join('\n') + '\n');
  const where = (i) => `crate::m${Math.floor(i / per)}::f${i}`;
  for (let m = 0; m < modules; m++) {
    const out = [];
    for (let i = m * per; i < Math.min(n, (m + 1) * per); i++) {
      const callees = [(i + 1) % n, (i * 7 + 3) % n, (i * 13 + 5) % n, (i + n - 1) % n];
      out.push(`pub fn f${i}(depth: u32) -> u64 {`);
      out.push('    if depth == 0 { return 1; }');
      if (i % 8 === 0) {
        out.push(`    let mut guard = crate::LOCK_${(i / 8) % locks}.lock().unwrap();`);
        out.push(`    *guard += ${where(callees[0])}(depth - 1);`);
        out.push('    drop(guard);');
      } else {
        out.push(`    let mut s = ${where(callees[0])}(depth - 1);`);
      }
      out.push(`    let mut s = ${where(callees[1])}(depth - 1);`);
      out.push(`    s += ${where(callees[2])}(depth - 1);`);
      out.push(`    s += ${where(callees[3])}(depth - 1);`);
      out.push('    s');
      out.push('}');
      out.push('');
    }
    writeFileSync(path.join(dir, 'src', `m${m}.rs`), out.join('\n'));
  }
  return { modules, locks, callsPerFunction: 4 };
}

async function dense(n) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'locklens-dense-'));
  try {
    const shape = denseCrate(tmp, n);
    const model = discoverWorkspace(tmp);
    const t0 = performance.now();
    const result = await checkWorkspace(model, { threads: 1 });
    const t1 = performance.now();
    const graph = workspaceGraph(result);
    const t2 = performance.now();
    const findings = workspaceFindings(result, graph);
    const t3 = performance.now();
    return { functions: n, ...shape, files: result.stats.files, lines: result.stats.lines, checkMs: ms(t1 - t0), graphMs: ms(t2 - t1), findingsMs: ms(t3 - t2), graph: graphSize(graph), graphFindings: findings.length };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const startedAt = new Date().toISOString();
  const out = { startedAt, command: `node bench/graph.mjs ${process.argv.slice(2).join(' ')}`.trim(), machine: machine(), loadStart: loadavg(), crate: opts.crate, threads: opts.threads };
  console.error(`graph bench: ${startedAt}, load ${out.loadStart.join(' ')}`);
  const model = discoverWorkspace(opts.crate);
  const whole = await wholeWorkspace(model, opts);
  out.workspace = whole.summary;
  console.error(`workspace: ${JSON.stringify(out.workspace)}`);
  out.incremental = await incremental(whole.last.result, opts);
  console.error(`incremental: ${JSON.stringify(out.incremental)}`);
  out.dense = [];
  for (const n of [Math.round(opts.functions / 5), opts.functions]) {
    const d = await dense(n);
    console.error(`dense: ${JSON.stringify(d)}`);
    out.dense.push(d);
  }
  out.peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
  out.loadEnd = loadavg();
  out.finishedAt = new Date().toISOString();
  const file = opts.out ?? path.join(REPO, 'bench', 'results', `graph-${startedAt.slice(0, 10)}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  console.log(JSON.stringify(out, null, 2));
  console.error(`written ${path.relative(process.cwd(), file)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
