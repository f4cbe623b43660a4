#!/usr/bin/env node
// Instruction counts of a cold `locklens check` and of the bare tree-sitter parse, under
// valgrind (cachegrind, no cache simulation). Unlike wall time, an instruction count does not
// move with the load of a shared machine, so the ratio between the two is stable from run to
// run. It counts every thread of the process (V8's compiler and GC threads too), which a
// machine with free cores runs in parallel: read it next to bench/engine.mjs, not instead.
//
//   node bench/instructions.mjs [--crate DIR] [--out FILE] [--repeat N] [--single-threaded]
//
// Counts still move by a few percent from run to run: V8 decides when to optimise a function,
// and when to collect garbage, partly by time. --repeat N (default 3) reports each median.
// --single-threaded runs Node with V8's --single-threaded (compiler and GC on the main thread,
// no background threads): the spread then drops to about 2 %, which makes it the mode for
// telling whether an engine change helped.
//
// A benchmark helper, not a test: it asserts nothing. Needs valgrind (Debian: `valgrind`).

import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const crate = flag('--crate', '/usr/share/cargo/registry/tokio-1.24.2');
const repeat = Math.max(1, Number(flag('--repeat', '3')));
const v8Flags = args.includes('--single-threaded') ? ['--single-threaded'] : [];
const out = flag('--out', path.join(REPO, 'bench', 'results', `instructions-${new Date().toISOString().slice(0, 10)}.json`));

const RUNS = [
  ['node start-up (`node -e 0`)', ['-e', '0']],
  ['bare parse, 1 thread', [path.join(REPO, 'bench', 'parse-baseline.mjs'), crate, '--workers', '0']],
  ['locklens check --threads 1', [path.join(REPO, 'bin', 'locklens.js'), 'check', crate, '--format', 'json', '--fail-on', 'none', '--threads', '1']],
  ['locklens check --threads 1 --full-parse', [path.join(REPO, 'bin', 'locklens.js'), 'check', crate, '--format', 'json', '--fail-on', 'none', '--threads', '1', '--full-parse']],
];

function instructions(nodeArgs) {
  const r = spawnSync('valgrind', ['--tool=cachegrind', '--cache-sim=no', '--smc-check=all-non-file', '--cachegrind-out-file=/dev/null', process.execPath, ...v8Flags, ...nodeArgs], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw new Error(`valgrind: ${r.error.message}`);
  const m = /I\s+refs:\s+([\d,]+)/.exec(r.stderr);
  if (!m) throw new Error(`no instruction count in valgrind's output:\n${r.stderr.slice(-2000)}`);
  return Number(m[1].replace(/,/g, ''));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = [];
for (const [label, nodeArgs] of RUNS) {
  process.stderr.write(`[instructions] ${label}…\n`);
  const counts = [];
  for (let i = 0; i < repeat; i++) counts.push(instructions(nodeArgs));
  results.push({ label, instructions: median(counts), runs: counts });
}
const by = (label) => results.find((r) => r.label === label).instructions;
const parse = by('bare parse, 1 thread');
const boot = by('node start-up (`node -e 0`)');
const ratios = {
  checkOverParse: by('locklens check --threads 1') / parse,
  checkOverParseWithoutStartup: (by('locklens check --threads 1') - boot) / (parse - boot),
  fullParseCheckOverParse: by('locklens check --threads 1 --full-parse') / parse,
};
const report = {
  date: new Date().toISOString(),
  crate,
  v8Flags,
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, loadAvg: os.loadavg() },
  gitCommit: spawnSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim(),
  results,
  ratios,
};
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
const spread = (r) => `${(Math.min(...r.runs) / 1e9).toFixed(2)}–${(Math.max(...r.runs) / 1e9).toFixed(2)}`;
for (const r of results) console.log(`${r.label.padEnd(42)} ${(r.instructions / 1e9).toFixed(2)} G instructions (median of ${r.runs.length}: ${spread(r)})`);
console.log(`check / bare parse: ${ratios.checkOverParse.toFixed(2)}×  (without Node start-up on both sides: ${ratios.checkOverParseWithoutStartup.toFixed(2)}×)`);
console.log(`check --full-parse / bare parse: ${ratios.fullParseCheckOverParse.toFixed(2)}×`);
console.log(`JSON: ${path.relative(process.cwd(), out)}`);
