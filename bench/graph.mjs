#!/usr/bin/env node
// Lock graph benchmark (issue 3), in-process against the compiled engine in out/.
//
//   node bench/graph.mjs [options]
//     --crate DIR     workspace to graph (default /usr/share/cargo/registry/tokio-1.24.2)
//     --runs N        full check + graph rounds (default 5; medians reported)
//     --edits N       one-file edits for the incremental update (default 50)
//     --threads N     threads for checkWorkspace (default 1: everything in this thread)
//     --functions N   functions in the synthetic dense call graph (default 5000; also N/5)
//     --dense-edits N one-file edits on each dense crate (default 10)
//     --dense-only    skip the workspace (sections 1 and 2)
//     --out FILE      JSON output (default bench/results/graph-<YYYY-MM-DD>.json)
//
// 1. Whole workspace: checkWorkspace (server/src/workspace/check.ts) then workspaceGraph and
//    workspaceFindings (server/src/workspace/graph.ts); the graph's cost is reported next to
//    the check's, in the same process and round.
// 2. Update after a one-file edit, as the language server does it: an edit is made in a file
//    (a different file each time, spread over the crate); that file is re-parsed, its
//    declarations collected (the crate index is rebuilt only if they changed), it is
//    re-analysed with the crate index (engine.analyzeFile), and the graph is brought up to
//    date the way the language server's refreshGraph does it: a LockGraphBuilder
//    (server/src/lsp/lockGraph.ts) over all files, owned by the workspace, so its
//    LockGraphEngine updates the previous graph; then its findings. Three kinds of edit:
//      type    ` let _t = 1;` typed at the end of an indented statement (no line moves);
//      call    ` let _t = std::mem::size_of::<u8>();` typed there (the function's calls change);
//      newline a line break inserted before that statement (every later function moves).
//    Each edit is undone (another update, not timed) before the next. For comparison, the
//    graph rebuilt from scratch (workspaceGraph + workspaceFindings) after the `type` edit.
// 3. A synthetic dense call graph: N functions in 50 modules, each calling 4 others (one big
//    mutually recursive component), one in 8 calling while holding one of 64 static mutexes.
//    Full build time and memory, then one-file `call` edits through the incremental path.

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
const { LockGraphBuilder, graphEngineOf } = require(path.join(OUT, 'lsp', 'lockGraph.js'));

function parseArgs(argv) {
  const o = { crate: '/usr/share/cargo/registry/tokio-1.24.2', runs: 5, edits: 50, threads: 1, functions: 5000, denseEdits: 10, denseOnly: false, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    switch (a) {
      case '--crate': o.crate = path.resolve(v()); break;
      case '--runs': o.runs = Math.max(1, Number(v())); break;
      case '--edits': o.edits = Math.max(1, Number(v())); break;
      case '--threads': o.threads = Math.max(1, Number(v())); break;
      case '--functions': o.functions = Math.max(10, Number(v())); break;
      case '--dense-edits': o.denseEdits = Math.max(1, Number(v())); break;
      case '--dense-only': o.denseOnly = true; break;
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

const EDITS = {
  type: (lines, i) => lines.splice(i, 1, lines[i].replace(/\s*$/, '') + ' let _t = 1;'),
  call: (lines, i) => lines.splice(i, 1, lines[i].replace(/\s*$/, '') + ' let _t = std::mem::size_of::<u8>();'),
  newline: (lines, i) => lines.splice(i, 0, ''),
};

/** Places to type: after an indented statement ending in `;` (a function body, almost always). */
function editPoint(text, kind) {
  const lines = text.split('\n');
  const candidates = [];
  for (const indent of [8, 4]) {
    // Prefer statements nested in a block; the dense crate's functions have flat bodies.
    const re = new RegExp(`^ {${indent},}\\S.*;\\s*$`);
    for (let i = 0; i < lines.length; i++) if (re.test(lines[i]) && !lines[i].trim().startsWith('//')) candidates.push(i);
    if (candidates.length > 0) break;
  }
  if (candidates.length === 0) return null;
  const line = candidates[Math.floor(candidates.length / 2)];
  EDITS[kind](lines, line);
  return { line, text: lines.join('\n') };
}

/** The files the language server hands to the graph (server.ts graphBuilder), built the same way on every refresh. */
function serverFiles(result) {
  return result.crates.flatMap((c) => {
    const byFile = new Map(c.declarations.map((d) => [d.file, d]));
    return c.files.map((analysis) => ({ crate: c.crate.name, analysis, declarations: byFile.get(analysis.file) }));
  });
}

function serverConfig(result) {
  const withOrder = result.crates.find((c) => c.crate.config.order.length > 0);
  return { order: withOrder?.crate.config.order, reentrant: [...new Set(result.crates.flatMap((c) => c.crate.config.reentrant))] };
}

/** One-file edits of `kind` in `picks`; the graph updated through `owner`'s engine. */
async function edits(result, picks, kind, owner, opts = {}) {
  const engine = await getEngine();
  const indexes = result.crates.map((c) => buildCrateIndex(c.options.edition, c.declarations));
  const config = serverConfig(result);
  const samples = [];
  let indexRebuilds = 0;
  const apply = (p, text) => {
    const crate = result.crates[p.ci];
    const t0 = performance.now();
    const parsed = engine.parse(text);
    const t1 = performance.now();
    const decl = engine.declarations(parsed, p.rel);
    const di = crate.declarations.findIndex((d) => d.file === p.rel);
    if (JSON.stringify(decl) !== JSON.stringify(crate.declarations[di])) {
      crate.declarations[di] = decl;
      indexes[p.ci] = buildCrateIndex(crate.options.edition, crate.declarations);
      indexRebuilds++;
    }
    const t2 = performance.now();
    crate.files[p.fi] = engine.analyzeFile(parsed, p.rel, indexes[p.ci], crate.options);
    parsed.dispose();
    crate.texts.set(p.rel, text);
    const t3 = performance.now();
    const builder = new LockGraphBuilder(serverFiles(result), config, owner);
    builder.get();
    const t4 = performance.now();
    builder.findings();
    const stats = { ...graphEngineOf(owner)?.lastStats };
    return { parseMs: t1 - t0, declarationsMs: t2 - t1, analyzeMs: t3 - t2, graphMs: t4 - t3, totalMs: t4 - t0, stats };
  };
  for (const p of picks) {
    const crate = result.crates[p.ci];
    const oldText = crate.texts.get(p.rel);
    const edit = editPoint(oldText, kind);
    if (!edit) continue;
    const s = apply(p, edit.text);
    let rebuildMs;
    if (opts.rebuild) {
      // The same graph built from scratch instead (the cost per edit before the engine kept state).
      const r0 = performance.now();
      workspaceFindings(result, workspaceGraph(result));
      rebuildMs = performance.now() - r0;
    }
    samples.push({ file: p.rel, ...s, rebuildMs });
    apply(p, oldText); // undo: the next edit starts from the same workspace
  }
  const col = (k) => percentiles(samples.map((x) => x[k]));
  return {
    kind,
    edits: samples.length,
    indexRebuilds,
    parseMs: col('parseMs'),
    declarationsMs: col('declarationsMs'),
    analyzeFileMs: col('analyzeMs'),
    graphUpdateMs: col('graphMs'),
    totalMs: col('totalMs'),
    ...(opts.rebuild ? { graphRebuildMs: col('rebuildMs') } : {}),
    recomputed:
      samples[0]?.stats?.reach !== undefined
        ? {
            resolvedP50: percentiles(samples.map((x) => x.stats.resolved)).p50,
            resolvedMax: percentiles(samples.map((x) => x.stats.resolved)).max,
            reachP50: percentiles(samples.map((x) => x.stats.reach)).p50,
            reachMax: percentiles(samples.map((x) => x.stats.reach)).max,
            resets: samples.filter((x) => x.stats.reset).length,
          }
        : undefined,
    slowest: [...samples].sort((a, b) => b.graphMs - a.graphMs).slice(0, 3).map((x) => ({ file: x.file, graphMs: ms(x.graphMs), totalMs: ms(x.totalMs), resolved: x.stats?.resolved, reach: x.stats?.reach })),
  };
}

async function incremental(result, opts) {
  // Files spread over the crate (sorted by path, evenly spaced), each with a place to type.
  const all = result.crates.flatMap((c, ci) => c.files.map((a, fi) => ({ ci, fi, rel: a.file })));
  const picks = [];
  const step = Math.max(1, Math.floor(all.length / opts.edits));
  for (let i = 0; picks.length < opts.edits && i < all.length * 2; i += step) {
    const f = all[i % all.length];
    if (picks.some((p) => p.rel === f.rel)) continue;
    if (editPoint(result.crates[f.ci].texts.get(f.rel) ?? '', 'type')) picks.push(f);
  }
  const owner = {};
  // The language server's first graph of the workspace (at the end of indexing): a full build.
  const t0 = performance.now();
  new LockGraphBuilder(serverFiles(result), serverConfig(result), owner).findings();
  const firstBuildMs = performance.now() - t0;
  const out = { firstBuildMs: ms(firstBuildMs), kinds: [] };
  for (const kind of Object.keys(EDITS)) {
    const r = await edits(result, picks, kind, owner);
    console.error(`incremental ${kind}: graph p50 ${r.graphUpdateMs.p50} p95 ${r.graphUpdateMs.p95} max ${r.graphUpdateMs.max}; total p50 ${r.totalMs.p50} p95 ${r.totalMs.p95} max ${r.totalMs.max}`);
    out.kinds.push(r);
  }
  // Separately (its garbage would land in the incremental timings): the same `type` edits with
  // the graph also rebuilt from scratch, as every edit did before.
  const r = await edits(result, picks, 'type', owner, { rebuild: true });
  out.rebuildPerEditMs = r.graphRebuildMs;
  console.error(`rebuild per edit: p50 ${r.graphRebuildMs.p50} p95 ${r.graphRebuildMs.p95} max ${r.graphRebuildMs.max}`);
  return out;
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

async function dense(n, edits) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'locklens-dense-'));
  try {
    const shape = denseCrate(tmp, n);
    const model = discoverWorkspace(tmp);
    const t0 = performance.now();
    const result = await checkWorkspace(model, { threads: 1 });
    const t1 = performance.now();
    globalThis.gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    const t2 = performance.now();
    const graph = workspaceGraph(result);
    const t3 = performance.now();
    const findings = workspaceFindings(result, graph);
    const t4 = performance.now();
    const heapWithGraph = process.memoryUsage().heapUsed;
    globalThis.gc?.();
    const heapKept = process.memoryUsage().heapUsed;
    // One-file edits through the language server's incremental path (the whole component is
    // within reach of every function, so each update recomputes most of it).
    const all = result.crates.flatMap((c, ci) => c.files.map((a, fi) => ({ ci, fi, rel: a.file }))).filter((f) => f.rel !== 'src/lib.rs');
    const picks = [];
    for (let i = 0; i < edits && i < all.length; i++) picks.push(all[Math.floor((i * all.length) / edits)]);
    const owner = {};
    new LockGraphBuilder(serverFiles(result), serverConfig(result), owner).findings();
    const inc = await edits_(result, picks, owner);
    return {
      functions: n,
      ...shape,
      files: result.stats.files,
      lines: result.stats.lines,
      checkMs: ms(t1 - t0),
      graphMs: ms(t3 - t2),
      findingsMs: ms(t4 - t3),
      heapMB: { beforeGraph: mb(heap0), withGraph: mb(heapWithGraph), graphKept: mb(heapKept - heap0), gcExposed: typeof globalThis.gc === 'function' },
      graph: graphSize(graph),
      graphFindings: findings.length,
      incremental: { edits: inc.edits, graphUpdateMs: inc.graphUpdateMs, totalMs: inc.totalMs, recomputed: inc.recomputed },
      rssMB: mb(process.memoryUsage().rss),
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const mb = (bytes) => Math.round(bytes / 2 ** 20);
const edits_ = (result, picks, owner) => edits(result, picks, 'call', owner);

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const startedAt = new Date().toISOString();
  const out = { startedAt, command: `node bench/graph.mjs ${process.argv.slice(2).join(' ')}`.trim(), machine: machine(), loadStart: loadavg(), crate: opts.crate, threads: opts.threads };
  console.error(`graph bench: ${startedAt}, load ${out.loadStart.join(' ')}`);
  if (!opts.denseOnly) {
    const model = discoverWorkspace(opts.crate);
    const whole = await wholeWorkspace(model, opts);
    out.workspace = whole.summary;
    console.error(`workspace: ${JSON.stringify(out.workspace)}`);
    out.incremental = await incremental(whole.last.result, opts);
    console.error(`incremental: ${JSON.stringify(out.incremental)}`);
  }
  out.dense = [];
  for (const n of [Math.round(opts.functions / 5), opts.functions]) {
    const d = await dense(n, opts.denseEdits);
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
