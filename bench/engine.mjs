#!/usr/bin/env node
// Static-engine benchmark: cold `locklens check` of a large real crate (default: tokio 1.24.2
// from Debian's librust-tokio-dev), compared in the same run with
//   1. the bare tree-sitter parse of the same files, single-threaded and with N worker threads
//      (bench/parse-baseline.mjs), and
//   2. a cold `cargo clippy` with the two lock lints on a copy of the crate.
//
//   node bench/engine.mjs [options]
//     --crate DIR            crate to check (default /usr/share/cargo/registry/tokio-1.24.2)
//     --runs N               timed runs of locklens and of each parse mode (default 5; median reported)
//     --workers N            worker threads for the parallel parse (default: os.availableParallelism())
//     --clippy-runs N        cold clippy runs (default 1; 0 skips clippy)
//     --clippy-features F    cargo features for clippy (default "full")
//     --registry DIR         Debian cargo registry used as a directory source (default /usr/share/cargo/registry)
//     --out FILE             JSON output (default bench/results/engine-<YYYY-MM-DD>.json, plus a
//                            git-ignored copy in bench/results/runs/)
//     --cli FILE             launcher to benchmark instead of bin/locklens.js (same arguments)
//     --max-load X           before each round, wait (up to --max-wait s, default 300) until the
//                            1-minute load average is below X (for shared machines)
//     --max-busy P           ... and/or until whole-machine CPU use over 2 s is below P %
//
// Every measured thing runs as its own fresh process (cold: new Node/V8, new wasm instance,
// fresh CARGO_TARGET_DIR). One untimed warm-up of the Node commands runs first so that every
// timed run sees the same (warm) OS page cache. Wall time is taken by this script around the
// child process; peak memory is the child's max RSS from `/usr/bin/time -v` when available.
//
// Timings go to stdout and to the JSON file only. Nothing here is a test and nothing asserts
// on a timing; the goals are reported as met / not met.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(BENCH_DIR, '..');
const CLI_MAIN = path.join(REPO, 'out', 'server', 'src', 'cli', 'main.js');
const CLI_BIN = path.join(REPO, 'bin', 'locklens.js');
/** Extra check runs besides the default one: result key and CLI flags. */
const VARIANTS = [
  ['locklens1', ['--threads', '1']],
  ['locklensFull', ['--threads', '1', '--full-parse']],
];

const PARSE_SCRIPT = path.join(BENCH_DIR, 'parse-baseline.mjs');
const TIME_BIN = '/usr/bin/time';

const CLIPPY_LINTS = ['-W', 'clippy::await_holding_lock', '-W', 'clippy::significant_drop_in_scrutinee'];

// Goals from the issue.
const GOAL_CHECK_OVER_PARSE_MAX = 1.5;
const GOAL_CLIPPY_OVER_CHECK_MIN = 20;

function parseArgs(argv) {
  const o = {
    crate: '/usr/share/cargo/registry/tokio-1.24.2',
    runs: 5,
    workers: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
    clippyRuns: 1,
    clippyFeatures: 'full',
    registry: '/usr/share/cargo/registry',
    out: null,
    cli: null,
    maxLoad: null,
    maxBusy: null,
    maxWait: 300,
  };
  const num = (v, name) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) usage(`${name} must be an integer >= 0`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--crate': o.crate = path.resolve(v()); break;
      case '--runs': o.runs = Math.max(1, num(v(), a)); break;
      case '--workers': o.workers = Math.max(1, num(v(), a)); break;
      case '--clippy-runs': o.clippyRuns = num(v(), a); break;
      case '--clippy-features': o.clippyFeatures = v(); break;
      case '--registry': o.registry = path.resolve(v()); break;
      case '--out': o.out = path.resolve(v()); break;
      case '--cli': o.cli = path.resolve(v()); break;
      case '--max-load': o.maxLoad = Number(v()); break;
      case '--max-busy': o.maxBusy = Number(v()); break;
      case '--max-wait': o.maxWait = num(v(), a); break;
      case '-h': case '--help': usage(); break;
      default: usage(`unknown argument ${a}`);
    }
  }
  return o;
}

function usage(msg) {
  const text = readFileSync(fileURLToPath(import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('//'))
    .slice(0, 23)
    .map((l) => l.replace(/^\/\/ ?/, ''))
    .join('\n');
  if (msg) process.stderr.write(`bench/engine.mjs: ${msg}\n\n`);
  process.stderr.write(text + '\n');
  process.exit(msg ? 2 : 0);
}

const sh = (cmd, args, opts = {}) => spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
const firstLine = (s) => (s || '').split('\n').find((l) => l.trim()) || '';
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x, d = 3) => (x == null ? null : Math.round(x * 10 ** d) / 10 ** d);

/** Env for measured Node children: no on-disk V8 compile cache, no inherited options. */
function coldNodeEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  delete env.NODE_COMPILE_CACHE;
  delete env.NODE_OPTIONS;
  return env;
}

const haveTime = existsSync(TIME_BIN) && sh(TIME_BIN, ['-v', 'true']).status === 0;

/**
 * Run one command as a child process; wall seconds measured here, max RSS from /usr/bin/time -v
 * (for a process tree such as cargo this is the largest single process, not the sum).
 */
function measure(cmd, args, opts = {}) {
  let runCmd = cmd;
  let runArgs = args;
  let timeFile = null;
  if (haveTime) {
    timeFile = path.join(os.tmpdir(), `locklens-bench-time-${process.pid}-${Date.now()}.txt`);
    runCmd = TIME_BIN;
    runArgs = ['-v', '-o', timeFile, cmd, ...args];
  }
  const loadAtStart = os.loadavg()[0];
  const t0 = process.hrtime.bigint();
  const r = sh(runCmd, runArgs, opts);
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  let maxRssKb = null;
  let cpuS = null;
  if (timeFile) {
    try {
      const t = readFileSync(timeFile, 'utf8');
      const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(t);
      if (m) maxRssKb = Number(m[1]);
      const u = /User time \(seconds\): ([\d.]+)/.exec(t);
      const sy = /System time \(seconds\): ([\d.]+)/.exec(t);
      if (u && sy) cpuS = Number(u[1]) + Number(sy[1]);
    } catch {
      /* time output missing: leave null */
    }
    rmSync(timeFile, { force: true });
  }
  if (r.error) throw r.error;
  return { wallS, cpuS, maxRssKb, loadAtStart, status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

function machineInfo() {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo);
  const meminfo = existsSync('/proc/meminfo') ? readFileSync('/proc/meminfo', 'utf8') : '';
  const memKb = /^MemTotal:\s*(\d+)/m.exec(meminfo);
  const ver = (cmd, args) => {
    const r = sh(cmd, args);
    return r.status === 0 ? firstLine(r.stdout) : null;
  };
  const pkgVersion = (name) => {
    try {
      return JSON.parse(readFileSync(path.join(REPO, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return null;
    }
  };
  return {
    date: new Date().toISOString(),
    nproc: Number(firstLine(sh('nproc', []).stdout)) || os.cpus().length,
    cpuModel: model ? model[1].trim() : os.cpus()[0]?.model ?? null,
    memTotalGb: memKb ? round(Number(memKb[1]) / 1024 / 1024, 1) : round(os.totalmem() / 2 ** 30, 1),
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    rustc: ver('rustc', ['-V']),
    cargo: ver('cargo', ['-V']),
    clippy: ver('cargo', ['clippy', '-V']),
    webTreeSitter: pkgVersion('web-tree-sitter'),
    treeSitterRust: pkgVersion('tree-sitter-rust'),
    gitCommit: firstLine(sh('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']).stdout) || null,
    // The CLI runs from out/, built from the working tree, which may differ from the commit.
    uncommittedEngineFiles: sh('git', ['-C', REPO, 'status', '--porcelain', '--', 'server', 'common', 'bin'])
      .stdout.split('\n')
      .filter(Boolean).length,
    outBuiltAt: existsSync(CLI_MAIN) ? new Date(statSync(CLI_MAIN).mtimeMs).toISOString() : null,
    loadAvgAtStart: os.loadavg().map((x) => round(x, 2)),
    peakMemorySource: haveTime ? '/usr/bin/time -v (max RSS)' : 'child self-report only (install the `time` package)',
  };
}

// ---------------------------------------------------------------------------------------------
// locklens check

let cliBin = CLI_BIN;

function cliState() {
  if (cliBin !== CLI_BIN) {
    return existsSync(cliBin) ? { ok: true } : { ok: false, reason: `--cli ${cliBin} does not exist.` };
  }
  if (!existsSync(CLI_MAIN)) {
    return {
      ok: false,
      reason: `locklens CLI is not built: ${path.relative(REPO, CLI_MAIN)} is missing. Run \`npm run build\` in ${REPO} first.`,
    };
  }
  return { ok: true };
}

function checkArgs(crate, extra = []) {
  return [cliBin, 'check', crate, '--format', 'json', '--fail-on', 'none', ...extra];
}

/** Best-effort summary of the CLI's JSON report (the format belongs to the CLI, not to us). */
function summariseReport(stdout) {
  let report;
  try {
    report = JSON.parse(stdout);
  } catch {
    return { parsed: false };
  }
  const s = { parsed: true };
  const findings = Array.isArray(report) ? report : Array.isArray(report?.findings) ? report.findings : null;
  if (findings) {
    s.findings = findings.length;
    const byRule = {};
    for (const f of findings) {
      const k = f?.rule ?? f?.ruleId ?? f?.code ?? 'unknown';
      byRule[k] = (byRule[k] || 0) + 1;
    }
    s.findingsByRule = byRule;
  }
  if (report && !Array.isArray(report)) {
    for (const k of ['files', 'filesChecked', 'fileCount', 'summary', 'stats', 'syntaxErrors', 'version']) {
      if (report[k] == null) continue;
      const v = report[k];
      s[k] = Array.isArray(v) ? v.length : typeof v === 'object' ? v : v;
    }
  }
  return s;
}

function runCheck(crate, extra = []) {
  const r = measure(process.execPath, checkArgs(crate, extra), { cwd: REPO, env: coldNodeEnv() });
  if (r.status !== 0) {
    const why = r.signal ? `signal ${r.signal}` : `exit code ${r.status}`;
    throw new Error(`locklens check failed (${why}): ${firstLine(r.stderr) || firstLine(r.stdout)}`);
  }
  return { wallS: r.wallS, cpuS: r.cpuS, maxRssKb: r.maxRssKb, loadAtStart: r.loadAtStart, report: summariseReport(r.stdout) };
}

// ---------------------------------------------------------------------------------------------
// bare parse

function runParse(crate, workers) {
  const r = measure(process.execPath, [PARSE_SCRIPT, crate, '--workers', String(workers)], {
    cwd: REPO,
    env: coldNodeEnv(),
  });
  if (r.status !== 0) throw new Error(`parse baseline failed: ${firstLine(r.stderr)}`);
  const self = JSON.parse(r.stdout);
  return { wallS: r.wallS, cpuS: r.cpuS, maxRssKb: r.maxRssKb ?? self.maxRssKb, loadAtStart: r.loadAtStart, self };
}

// ---------------------------------------------------------------------------------------------
// clippy

/** Drop `[dev-dependencies]` and `[target.'…'.dev-dependencies]` tables (and their sub-tables). */
function stripDevDependencies(toml) {
  const parts = toml.split(/^(?=\[)/m);
  const isDev = (p) => /^\[\s*(target\.(?:"[^"]*"|'[^']*'|[^.\]]+)\.)?dev-dependencies\s*(\.|\])/.test(p);
  return parts.filter((p) => !isDev(p)).join('');
}

/** Copy the crate to a temp dir in a state cargo accepts as a standalone package. */
function prepareCrateCopy(crate) {
  const base = mkdtempSync(path.join(os.tmpdir(), 'locklens-bench-clippy-'));
  const copy = path.join(base, path.basename(crate));
  cpSync(crate, copy, { recursive: true });
  for (const f of ['Cargo.toml.orig', '.cargo_vcs_info.json', '.cargo-checksum.json', 'Cargo.lock']) {
    rmSync(path.join(copy, f), { force: true });
  }
  const tomlPath = path.join(copy, 'Cargo.toml');
  writeFileSync(tomlPath, stripDevDependencies(readFileSync(tomlPath, 'utf8')));
  return { base, copy, targetDir: path.join(base, 'target') };
}

function cargoConfigArgs(registry) {
  return [
    '--offline',
    '--config', 'source.crates-io.replace-with="debian"',
    '--config', `source.debian.directory="${registry}"`,
  ];
}

function cargoEnv(targetDir) {
  const env = { ...process.env, CARGO_TARGET_DIR: targetDir, CARGO_TERM_COLOR: 'never' };
  // No compiler caches or wrappers: the run must be cold.
  for (const k of ['RUSTC_WRAPPER', 'RUSTC_WORKSPACE_WRAPPER', 'SCCACHE_DIR', 'CARGO_BUILD_RUSTC_WRAPPER', 'CARGO_INCREMENTAL']) {
    delete env[k];
  }
  return env;
}

/**
 * Does every dependency the requested features pull in exist in the registry? Resolves on a
 * throw-away copy (untimed), lists the normal+build dependency tree of the package for those
 * features, and reports what is missing if resolution fails.
 */
function checkClippyResolution(o) {
  const { base, copy, targetDir } = prepareCrateCopy(o.crate);
  try {
    const common = { cwd: copy, env: cargoEnv(targetDir) };
    const lock = sh('cargo', ['generate-lockfile', ...cargoConfigArgs(o.registry)], common);
    if (lock.status !== 0) {
      return { resolves: false, error: lock.stderr.trim().split('\n').slice(0, 6).join('\n') };
    }
    const tree = sh(
      'cargo',
      ['tree', ...cargoConfigArgs(o.registry), '--features', o.clippyFeatures, '-e', 'normal,build', '--prefix', 'none', '--no-dedupe', '--target', 'all'],
      common,
    );
    if (tree.status !== 0) {
      return { resolves: false, error: tree.stderr.trim().split('\n').slice(0, 6).join('\n') };
    }
    const pkgs = [...new Set(tree.stdout.split('\n').map((l) => l.replace(/\s*\(.*\)\s*$/, '').trim()).filter(Boolean))].sort();
    return { resolves: true, packages: pkgs };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

function countClippyMessages(stdout) {
  const byLint = {};
  let warnings = 0;
  let errors = 0;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    let m;
    try {
      m = JSON.parse(line);
    } catch {
      continue;
    }
    if (m.reason !== 'compiler-message' || !m.message) continue;
    // Only the crate under test (a path package); dependencies come from the registry source.
    if (!String(m.package_id || '').startsWith('path+file://')) continue;
    const lvl = m.message.level;
    if (lvl === 'warning') warnings++;
    else if (lvl === 'error') errors++;
    else continue;
    const code = m.message.code?.code ?? '(no code)';
    byLint[code] = (byLint[code] || 0) + 1;
  }
  return { warnings, errors, byLint };
}

function runClippy(o) {
  const { base, copy, targetDir } = prepareCrateCopy(o.crate);
  try {
    const args = [
      'clippy',
      ...cargoConfigArgs(o.registry),
      '--features', o.clippyFeatures,
      '--message-format', 'json',
      '--', '--cap-lints', 'warn', ...CLIPPY_LINTS,
    ];
    const r = measure('cargo', args, { cwd: copy, env: cargoEnv(targetDir) });
    if (r.status !== 0) {
      const err = r.stderr.split('\n').filter((l) => /error/.test(l)).slice(0, 4).join('\n');
      throw new Error(`cargo clippy failed (exit ${r.status}):\n${err}`);
    }
    const finished = /Finished .* in ([\d.]+)s/.exec(r.stderr);
    const msgs = countClippyMessages(r.stdout);
    return { wallS: r.wallS, cpuS: r.cpuS, maxRssKb: r.maxRssKb, loadAtStart: r.loadAtStart, cargoReportedS: finished ? Number(finished[1]) : null, messages: msgs };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

const sleepMs = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Whole-machine CPU busy % over `ms` (from /proc/stat; this script is idle meanwhile), or null. */
function cpuBusyPercent(ms = 2000) {
  const read = () => {
    try {
      const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
      const idle = f[3] + (f[4] || 0);
      return { idle, total: f.reduce((a, b) => a + b, 0) };
    } catch {
      return null;
    }
  };
  const a = read();
  sleepMs(ms);
  const b = read();
  if (!a || !b || b.total === a.total) return null;
  return 100 * (1 - (b.idle - a.idle) / (b.total - a.total));
}

/**
 * On a shared machine: before a round, wait (up to --max-wait s) until the machine is quiet —
 * the 1-minute load average below --max-load and/or CPU busy over 2 s below --max-busy %.
 * Returns what was seen when the round started (stored with each sample).
 */
function waitForQuiet(o, log) {
  if (o.maxLoad == null && o.maxBusy == null) return null;
  const deadline = Date.now() + o.maxWait * 1000;
  let said = false;
  let busy = null;
  for (;;) {
    busy = o.maxBusy != null ? cpuBusyPercent() : null;
    const load = os.loadavg()[0];
    const quiet = (o.maxLoad == null || load < o.maxLoad) && (o.maxBusy == null || busy == null || busy < o.maxBusy);
    if (quiet || Date.now() >= deadline) {
      if (said) log(`${quiet ? 'quiet' : 'still busy, giving up waiting'}: load ${load.toFixed(2)}, CPU busy ${busy == null ? '?' : busy.toFixed(0)}%`);
      return { load: round(load, 2), busyPercent: busy == null ? null : round(busy, 0), waitedOut: !quiet };
    }
    if (!said) log(`machine busy (load ${load.toFixed(2)}, CPU busy ${busy == null ? '?' : busy.toFixed(0)}%); waiting up to ${o.maxWait} s…`);
    said = true;
    if (o.maxBusy == null) sleepMs(2000);
  }
}

function summarise(samples) {
  if (!samples.length) return null;
  const walls = samples.map((s) => s.wallS);
  const rss = samples.map((s) => s.maxRssKb).filter((x) => x != null);
  const cpus = samples.map((s) => s.cpuS).filter((x) => x != null);
  return {
    runs: samples.length,
    medianS: round(median(walls)),
    medianCpuS: cpus.length ? round(median(cpus)) : null,
    minS: round(Math.min(...walls)),
    maxS: round(Math.max(...walls)),
    samplesS: walls.map((w) => round(w)),
    peakRssMb: rss.length ? round(Math.max(...rss) / 1024, 1) : null,
  };
}

function fmtRow(cells, widths) {
  return cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
}

function printTable(res) {
  const rows = [['', 'runs', 'median s', 'min s', 'max s', 'median CPU s', 'peak RSS MB']];
  const add = (label, s, note) => {
    if (s) rows.push([label, s.runs, s.medianS.toFixed(3), s.minS.toFixed(3), s.maxS.toFixed(3), s.medianCpuS?.toFixed(3) ?? '?', s.peakRssMb ?? '?']);
    else rows.push([label, '-', note || 'not measured', '', '', '', '']);
  };
  add('locklens check (cold process)', res.locklens.summary, res.locklens.error ? 'not measured' : undefined);
  add('locklens check --threads 1', res.locklens1.summary, 'not measured');
  add('locklens check --threads 1 --full-parse', res.locklensFull.summary, 'not measured');
  add('bare parse, 1 thread (process)', res.parseSingle.summary);
  add(`bare parse, ${res.options.workers} workers (process)`, res.parseParallel.summary);
  add(`cargo clippy --features ${res.options.clippyFeatures} (cold)`, res.clippy.summary, res.clippy.error ? 'failed' : 'skipped');
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const out = [];
  out.push(`crate: ${res.crate.path}  (${res.crate.files} .rs files, ${res.crate.lines} lines, ${round(res.crate.bytes / 1e6, 2)} MB)`);
  out.push(`machine: ${res.machine.nproc} × ${res.machine.cpuModel}, ${res.machine.memTotalGb} GB, node ${res.machine.node}, ${res.machine.rustc}; load avg ${res.machine.loadAvgAtStart[0]} → ${res.machine.loadAvgAtEnd[0]}`);
  out.push('');
  out.push(fmtRow(rows[0], widths));
  for (const r of rows.slice(1)) out.push(fmtRow(r, widths));
  out.push('');
  const ps = res.parseSingle.inProcess;
  const pp = res.parseParallel.inProcess;
  if (ps) out.push(`bare parse in-process (median): 1 thread: init ${ps.initMs} ms, read ${ps.readMs} ms, parse ${ps.parseMs} ms`);
  if (pp) out.push(`                                ${res.options.workers} workers: slowest worker parse ${pp.parseMs} ms, all-in work ${pp.workMs} ms`);
  const r = res.ratios;
  out.push('');
  const verdict = (v, ok) => (v == null ? 'n/a (locklens not measured)' : `${v.toFixed(2)}× — ${ok ? 'goal met' : 'goal NOT met'}`);
  out.push(`check / bare parse (1 thread, process wall): ${verdict(r.checkOverParse, r.checkOverParse != null && r.checkOverParse <= GOAL_CHECK_OVER_PARSE_MAX)} (goal ≤ ${GOAL_CHECK_OVER_PARSE_MAX}×)`);
  if (r.check1OverParse != null) out.push(`check --threads 1 / bare parse (1 thread, process wall): ${r.check1OverParse.toFixed(2)}× (like for like)`);
  if (r.fullParseOverCheck1 != null) out.push(`check --threads 1 --full-parse / check --threads 1: ${r.fullParseOverCheck1.toFixed(2)}× (what parsing only the functions that matter saves)`);
  if (r.checkOverParseParallel != null) out.push(`check / bare parse (${res.options.workers} workers, process wall): ${r.checkOverParseParallel.toFixed(2)}×`);
  if (r.checkOverParseInProcess != null) out.push(`check / bare parse (1 thread, parse-only ms):  ${r.checkOverParseInProcess.toFixed(2)}× (stricter view)`);
  const rc = res.ratiosCpu;
  if (rc.checkOverParse != null) out.push(`check / bare parse (1 thread, CPU user+sys):  ${rc.checkOverParse.toFixed(2)}× (check's CPU summed over its threads)`);
  if (rc.check1OverParse != null) out.push(`check --threads 1 / bare parse (1 thread, CPU user+sys):  ${rc.check1OverParse.toFixed(2)}× (least sensitive to other load)`);
  if (res.clippy.summary) {
    if (rc.clippyOverCheck != null) out.push(`clippy / check (CPU user+sys): ${rc.clippyOverCheck.toFixed(1)}×`);
    out.push(`clippy / check: ${r.clippyOverCheck == null ? 'n/a (locklens not measured)' : `${r.clippyOverCheck.toFixed(1)}× — ${r.clippyOverCheck >= GOAL_CLIPPY_OVER_CHECK_MIN ? 'goal met' : 'goal NOT met'}`} (goal ≥ ${GOAL_CLIPPY_OVER_CHECK_MIN}×)`);
  }
  if (res.locklens.error) out.push(`\nlocklens: ${res.locklens.error}`);
  if (res.clippy.error) out.push(`\nclippy: ${res.clippy.error}`);
  process.stdout.write(out.join('\n') + '\n');
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(path.join(o.crate, 'Cargo.toml'))) {
    process.stderr.write(
      `bench/engine.mjs: no crate at ${o.crate}.\n` +
        'Install it with: apt-get update && apt-get install -y librust-tokio-dev librust-parking-lot-dev librust-dashmap-dev\n',
    );
    process.exit(2);
  }
  const date = new Date().toISOString().slice(0, 10);
  const outFile = o.out ?? path.join(BENCH_DIR, 'results', `engine-${date}.json`);
  const log = (m) => process.stderr.write(`[bench] ${m}\n`);

  const machine = machineInfo();
  log(`machine: ${machine.nproc} cpus, ${machine.cpuModel}, node ${machine.node}`);

  // The crate as the parse baseline sees it (same file walk for every measurement).
  const { listRustFiles } = await import(PARSE_SCRIPT);
  const files = listRustFiles(o.crate);
  let lines = 0;
  let bytes = 0;
  for (const f of files) {
    const t = readFileSync(f, 'utf8');
    bytes += Buffer.byteLength(t);
    lines += t.length === 0 ? 0 : t.split('\n').length - (t.endsWith('\n') ? 1 : 0);
  }
  const crateInfo = { path: o.crate, files: files.length, lines, bytes };
  log(`crate: ${files.length} .rs files, ${lines} lines`);

  if (o.cli) cliBin = o.cli;
  const cli = cliState();
  const res = {
    benchmark: 'static-engine-cold-check',
    argv: process.argv.slice(2),
    machine,
    crate: crateInfo,
    options: { runs: o.runs, workers: o.workers, clippyRuns: o.clippyRuns, clippyFeatures: o.clippyFeatures, registry: o.registry, maxLoad: o.maxLoad, maxBusy: o.maxBusy, maxWait: o.maxWait },
    commands: {
      locklens: `node ${path.relative(REPO, cliBin)} check ${o.crate} --format json --fail-on none`,
      locklens1: `node ${path.relative(REPO, cliBin)} check ${o.crate} --format json --fail-on none --threads 1`,
      locklensFull: `node ${path.relative(REPO, cliBin)} check ${o.crate} --format json --fail-on none --threads 1 --full-parse`,
      parseSingle: `node bench/parse-baseline.mjs ${o.crate} --workers 0`,
      parseParallel: `node bench/parse-baseline.mjs ${o.crate} --workers ${o.workers}`,
      clippy: `cargo clippy --offline --config 'source.crates-io.replace-with="debian"' --config 'source.debian.directory="${o.registry}"' --features ${o.clippyFeatures} --message-format json -- --cap-lints warn ${CLIPPY_LINTS.join(' ')}`,
    },
    locklens: { samples: [], summary: null, error: cli.ok ? null : cli.reason },
    // The same check pinned to one thread (`--threads 1`), when the CLI has that option: the
    // like-for-like comparison with the single-threaded bare parse.
    locklens1: { samples: [], summary: null, error: cli.ok ? null : cli.reason },
    // One thread, every file parsed whole (`--full-parse`): what parsing only the functions the
    // analysis looks into saves.
    locklensFull: { samples: [], summary: null, error: cli.ok ? null : cli.reason },
    parseSingle: { samples: [], summary: null },
    parseParallel: { samples: [], summary: null },
    clippy: { samples: [], summary: null, error: null, resolution: null },
    ratios: {},
    quietAtRound: [],
    quietAtClippy: [],
  };
  if (!cli.ok) {
    process.stderr.write(`\n*** ${cli.reason}\n*** Continuing with the baselines only; the locklens row will be "not measured".\n\n`);
  }

  // Untimed warm-up: page cache, and a first sanity check that each command works.
  log('warm-up (untimed)');
  if (cli.ok) {
    try {
      const w = runCheck(o.crate);
      res.locklens.report = w.report;
    } catch (err) {
      res.locklens.error = err.message;
      for (const [k] of VARIANTS) res[k].error = err.message;
      process.stderr.write(`\n*** ${err.message}\n*** Continuing with the baselines only.\n\n`);
    }
    for (const [k, flags] of VARIANTS) {
      if (res[k].error) continue;
      try {
        res[k].report = runCheck(o.crate, flags).report;
      } catch (err) {
        res[k].error = `${flags.join(' ')} not usable: ${err.message}`;
      }
    }
  }
  runParse(o.crate, 0);
  runParse(o.crate, o.workers);

  // Interleave the node measurements so that drift on a shared machine hits all of them alike.
  for (let i = 0; i < o.runs; i++) {
    const quiet = waitForQuiet(o, log);
    res.quietAtRound.push(quiet);
    if (!res.locklens.error) {
      try {
        res.locklens.samples.push(runCheck(o.crate));
      } catch (err) {
        res.locklens.error = err.message;
      }
    }
    for (const [k, flags] of VARIANTS) {
      if (res[k].error) continue;
      try {
        res[k].samples.push(runCheck(o.crate, flags));
      } catch (err) {
        res[k].error = err.message;
      }
    }
    res.parseSingle.samples.push(runParse(o.crate, 0));
    res.parseParallel.samples.push(runParse(o.crate, o.workers));
    const last = (k) => res[k].samples.at(-1)?.wallS?.toFixed(3) ?? '-';
    log(`run ${i + 1}/${o.runs}: check ${last('locklens')} s, check --threads 1 ${last('locklens1')} s, --full-parse ${last('locklensFull')} s, parse×1 ${last('parseSingle')} s, parse×${o.workers} ${last('parseParallel')} s`);
  }

  if (o.clippyRuns > 0) {
    log(`clippy: checking that features "${o.clippyFeatures}" resolve against ${o.registry} (untimed)`);
    res.clippy.resolution = checkClippyResolution(o);
    if (!res.clippy.resolution.resolves) {
      res.clippy.error =
        `features "${o.clippyFeatures}" do not resolve offline against ${o.registry}:\n${res.clippy.resolution.error}\n` +
        'Pass --clippy-features with the largest subset that resolves.';
    } else {
      for (let i = 0; i < o.clippyRuns; i++) {
        res.quietAtClippy.push(waitForQuiet(o, log));
        log(`clippy run ${i + 1}/${o.clippyRuns} (cold target dir)…`);
        try {
          const s = runClippy(o);
          res.clippy.samples.push(s);
          log(`clippy: ${s.wallS.toFixed(2)} s, ${s.messages.warnings} warnings`);
        } catch (err) {
          res.clippy.error = err.message;
          break;
        }
      }
    }
  }

  for (const k of ['locklens', 'locklens1', 'locklensFull', 'parseSingle', 'parseParallel', 'clippy']) res[k].summary = summarise(res[k].samples);
  for (const k of ['locklens', 'locklens1', 'locklensFull']) if (res[k].error && res[k].samples.length < o.runs) res[k].summary = null;
  for (const k of ['parseSingle', 'parseParallel']) {
    const s = res[k].samples.map((x) => x.self);
    if (!s.length) continue;
    const med = (key) => round(median(s.map((x) => x[key]).filter((x) => x != null)), 1);
    res[k].inProcess = { initMs: med('initMs'), readMs: med('readMs'), parseMs: med('parseMs'), workMs: med('workMs'), totalMs: med('totalMs') };
    res[k].files = s[0].files;
    res[k].lines = s[0].lines;
    res[k].filesWithSyntaxErrors = s[0].filesWithErrors;
  }
  if (res.clippy.samples.length) {
    res.clippy.messages = res.clippy.samples.at(-1).messages;
    res.clippy.cargoReportedS = res.clippy.samples.map((s) => s.cargoReportedS);
  }
  const check = res.locklens.summary?.medianS ?? null;
  const parse1 = res.parseSingle.summary?.medianS ?? null;
  const clippy = res.clippy.summary?.medianS ?? null;
  res.ratios = {
    checkOverParse: check != null && parse1 ? round(check / parse1, 2) : null,
    checkOverParseInProcess: check != null && res.parseSingle.inProcess ? round((check * 1000) / res.parseSingle.inProcess.parseMs, 2) : null,
    parallelSpeedup: parse1 && res.parseParallel.summary ? round(parse1 / res.parseParallel.summary.medianS, 2) : null,
    clippyOverCheck: check != null && clippy != null ? round(clippy / check, 1) : null,
    clippyOverParse: parse1 && clippy != null ? round(clippy / parse1, 1) : null,
    check1OverParse: res.locklens1.summary && parse1 ? round(res.locklens1.summary.medianS / parse1, 2) : null,
    checkOverParseParallel: check != null && res.parseParallel.summary ? round(check / res.parseParallel.summary.medianS, 2) : null,
    checkParallelSpeedup: check != null && res.locklens1.summary ? round(res.locklens1.summary.medianS / check, 2) : null,
    fullParseOverCheck1: res.locklensFull.summary && res.locklens1.summary ? round(res.locklensFull.summary.medianS / res.locklens1.summary.medianS, 2) : null,
  };
  const cpu = (k) => res[k].summary?.medianCpuS ?? null;
  res.ratiosCpu = {
    checkOverParse: cpu('locklens') != null && cpu('parseSingle') ? round(cpu('locklens') / cpu('parseSingle'), 2) : null,
    check1OverParse: cpu('locklens1') != null && cpu('parseSingle') ? round(cpu('locklens1') / cpu('parseSingle'), 2) : null,
    clippyOverCheck: cpu('locklens') && cpu('clippy') != null ? round(cpu('clippy') / cpu('locklens'), 1) : null,
  };
  res.goals = {
    checkOverParseMax: GOAL_CHECK_OVER_PARSE_MAX,
    clippyOverCheckMin: GOAL_CLIPPY_OVER_CHECK_MIN,
    checkOverParseMet: res.ratios.checkOverParse == null ? null : res.ratios.checkOverParse <= GOAL_CHECK_OVER_PARSE_MAX,
    clippyOverCheckMet: res.ratios.clippyOverCheck == null ? null : res.ratios.clippyOverCheck >= GOAL_CLIPPY_OVER_CHECK_MIN,
  };
  // Keep the JSON small: drop raw per-run self-reports of the parse children.
  const slim = (x) => ({ wallS: round(x.wallS), cpuS: round(x.cpuS, 2), maxRssKb: x.maxRssKb, loadAtStart: round(x.loadAtStart, 2) });
  for (const k of ['parseSingle', 'parseParallel', 'locklens', 'locklens1', 'locklensFull']) res[k].samples = res[k].samples.map(slim);
  res.clippy.samples = res.clippy.samples.map((x) => ({ ...slim(x), cargoReportedS: x.cargoReportedS }));

  res.machine.loadAvgAtEnd = os.loadavg().map((x) => round(x, 2));
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, JSON.stringify(res, null, 2) + '\n');
  // Every run is also kept (git-ignored) under results/runs/, so repeat runs can be compared.
  if (!o.out) {
    const runsDir = path.join(BENCH_DIR, 'results', 'runs');
    mkdirSync(runsDir, { recursive: true });
    const stamp = res.machine.date.replace(/:/g, '').replace(/\.\d+Z$/, 'Z');
    writeFileSync(path.join(runsDir, `engine-${stamp}.json`), JSON.stringify(res, null, 2) + '\n');
  }
  process.stdout.write('\n');
  printTable(res);
  process.stdout.write(`\nJSON: ${path.relative(process.cwd(), outFile)}\n`);
  // Non-zero when the headline number is missing, so nobody mistakes a partial run for a full one.
  if (!res.locklens.summary) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`bench/engine.mjs: ${err && err.stack ? err.stack : err}\n`);
  process.exit(2);
});
