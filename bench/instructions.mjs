#!/usr/bin/env node
// Instruction counts of a cold `locklens check` and of the bare tree-sitter parse, under
// valgrind (cachegrind, no cache simulation). Unlike wall time, an instruction count does not
// move with the load of a shared machine, so the ratio between the two is stable from run to
// run. It counts every thread of the process (V8's compiler and GC threads too), which a
// machine with free cores runs in parallel: read it next to bench/engine.mjs, not instead.
//
//   node bench/instructions.mjs [--crate DIR] [--out FILE]
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
const out = flag('--out', path.join(REPO, 'bench', 'results', `instructions-${new Date().toISOString().slice(0, 10)}.json`));

const RUNS = [
  ['node start-up (`node -e 0`)', ['-e', '0']],
  ['bare parse, 1 thread', [path.join(REPO, 'bench', 'parse-baseline.mjs'), crate, '--workers', '0']],
  ['locklens check --threads 1', [path.join(REPO, 'bin', 'locklens.js'), 'check', crate, '--format', 'json', '--fail-on', 'none', '--threads', '1']],
  ['locklens check --threads 1 --full-parse', [path.join(REPO, 'bin', 'locklens.js'), 'check', crate, '--format', 'json', '--fail-on', 'none', '--threads', '1', '--full-parse']],
];

function instructions(nodeArgs) {
  const r = spawnSync('valgrind', ['--tool=cachegrind', '--cache-sim=no', '--smc-check=all-non-file', '--cachegrind-out-file=/dev/null', process.execPath, ...nodeArgs], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw new Error(`valgrind: ${r.error.message}`);
  const m = /I\s+refs:\s+([\d,]+)/.exec(r.stderr);
  if (!m) throw new Error(`no instruction count in valgrind's output:\n${r.stderr.slice(-2000)}`);
  return Number(m[1].replace(/,/g, ''));
}

const results = [];
for (const [label, nodeArgs] of RUNS) {
  process.stderr.write(`[instructions] ${label}…\n`);
  results.push({ label, instructions: instructions(nodeArgs) });
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
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, loadAvg: os.loadavg() },
  gitCommit: spawnSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim(),
  results,
  ratios,
};
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
for (const r of results) console.log(`${r.label.padEnd(42)} ${(r.instructions / 1e9).toFixed(2)} G instructions`);
console.log(`check / bare parse: ${ratios.checkOverParse.toFixed(2)}×  (without Node start-up on both sides: ${ratios.checkOverParseWithoutStartup.toFixed(2)}×)`);
console.log(`check --full-parse / bare parse: ${ratios.fullParseCheckOverParse.toFixed(2)}×`);
console.log(`JSON: ${path.relative(process.cwd(), out)}`);
