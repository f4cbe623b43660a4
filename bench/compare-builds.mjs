#!/usr/bin/env node
// Wall time of two builds of the CLI on one crate, run alternately as cold processes so that load
// from other processes on a shared machine hits both alike. Prints each build's median and B/A.
//
//   node bench/compare-builds.mjs <A/bin/locklens.js> <B/bin/locklens.js> [--runs N] [--crate PATH] [-- extra CLI args]
//
// A build of another commit: `git worktree add /tmp/base <commit>`, link node_modules into it,
// `npx tsc -b tsconfig.json` there.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const own = dash >= 0 ? argv.slice(0, dash) : argv;
const extra = dash >= 0 ? argv.slice(dash + 1) : [];
const flag = (name, fallback) => {
  const i = own.indexOf(name);
  return i >= 0 ? own.splice(i, 2)[1] : fallback;
};
const runs = Number(flag('--runs', '10'));
const crate = flag('--crate', '/usr/share/cargo/registry/tokio-1.24.2');
const [a, b] = own;
if (!a || !b || !Number.isInteger(runs) || runs < 1) {
  console.error('usage: node bench/compare-builds.mjs <A/bin/locklens.js> <B/bin/locklens.js> [--runs N] [--crate PATH] [-- extra CLI args]');
  process.exit(2);
}
for (const cli of [a, b, crate]) {
  if (!fs.existsSync(cli)) {
    console.error(`compare-builds: ${cli} does not exist`);
    process.exit(2);
  }
}

const args = ['check', crate, '--format', 'json', '--fail-on', 'none', ...extra];
const once = (cli) => {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) {
    console.error(`compare-builds: ${cli} exited with ${r.status}: ${String(r.stderr).split('\n')[0]}`);
    process.exit(1);
  }
  return Number(process.hrtime.bigint() - start) / 1e6;
};
// One untimed run of each: the OS page cache is warm for every timed run.
once(a);
once(b);
const times = { a: [], b: [] };
for (let i = 0; i < runs; i++) {
  // Alternate which build goes first, so neither always runs right after the other.
  const order = i % 2 === 0 ? ['a', 'b'] : ['b', 'a'];
  for (const k of order) times[k].push(once(k === 'a' ? a : b));
}
const median = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
const ma = median(times.a);
const mb = median(times.b);
console.log(`check ${args.slice(2).join(' ')} on ${crate}, ${runs} runs each`);
console.log(`A ${a}: median ${ma.toFixed(0)} ms`);
console.log(`B ${b}: median ${mb.toFixed(0)} ms`);
console.log(`B/A ${(mb / ma).toFixed(3)}`);
