#!/usr/bin/env node
// Print the BENCHMARKS.md section "Static engine: cold check of tokio 1.24.2" from a JSON
// written by bench/engine.mjs, so the published numbers are copied by a program, not by hand.
//
//   node bench/render-md.mjs [--write] [bench/results/engine-<date>.json]   (default: newest in bench/results)
//
// --write replaces that section in ../BENCHMARKS.md (from its heading up to the next `## `
// heading), leaving every other section alone; without it the section goes to stdout.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const write = args.includes('--write');
let file = args.find((a) => !a.startsWith('--'));
if (!file) {
  const dir = path.join(BENCH_DIR, 'results');
  const all = readdirSync(dir).filter((f) => /^engine-.*\.json$/.test(f)).sort();
  if (!all.length) throw new Error('no bench/results/engine-*.json; run node bench/engine.mjs first');
  file = path.join(dir, all.at(-1));
}
const d = JSON.parse(readFileSync(file, 'utf8'));
const m = d.machine;
const s = (x) => (x == null ? 'n/a' : x.toFixed(2));
const row = (label, sum, cmd, note) =>
  sum
    ? `| ${label} | ${sum.runs} | **${s(sum.medianS)}** | ${s(sum.minS)}–${s(sum.maxS)} | ${s(sum.medianCpuS)} | ${sum.peakRssMb ?? '?'} | ${cmd} |`
    : `| ${label} | – | **${note}** | – | – | – | ${cmd} |`;
function quietNote(d) {
  const o = d.options;
  if (o.maxLoad == null && o.maxBusy == null) return '';
  const conds = [];
  if (o.maxLoad != null) conds.push(`the 1-minute load average was below ${o.maxLoad}`);
  if (o.maxBusy != null) conds.push(`whole-machine CPU use over 2 s was below ${o.maxBusy} %`);
  const all = [...(d.quietAtRound || []), ...(d.quietAtClippy || [])].filter(Boolean);
  const out = all.filter((q) => q.waitedOut).length;
  return `; each round (and each clippy run) started only once ${conds.join(' and ')}, waiting at most ${o.maxWait} s` +
    (out ? ` — ${out} of ${all.length} gave up waiting and ran on a busy machine` : ` — all ${all.length} met that condition when they started`);
}

const lines = [];
lines.push('## Static engine: cold check of tokio 1.24.2');
lines.push('');
lines.push(
  `Measured ${m.date.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')} at commit \`${m.gitCommit}\`` +
    (m.uncommittedEngineFiles ? ` (the CLI in \`out/\` was built from that commit's working tree, which had ${m.uncommittedEngineFiles} uncommitted file(s) under server/, common/, bin/ from work in progress)` : '') +
    ' with',
);
lines.push('');
lines.push('```sh');
lines.push(d.argv ? ['node bench/engine.mjs', ...d.argv.filter((a, i, all) => a !== '--out' && all[i - 1] !== '--out')].join(' ') : [
  'node bench/engine.mjs', '--runs', d.options.runs, '--clippy-runs', d.options.clippyRuns,
  ...(d.options.maxLoad != null ? ['--max-load', d.options.maxLoad] : []),
  ...(d.options.maxBusy != null ? ['--max-busy', d.options.maxBusy, '--max-wait', d.options.maxWait] : []),
].join(' '));
lines.push('```');
lines.push('');
lines.push(
  `- **Machine:** ${m.nproc} vCPUs (${m.cpuModel}), ${m.memTotalGb} GB RAM, ${m.kernel}; Node ${m.node}; ${m.rustc}; ${m.clippy}; ` +
    `web-tree-sitter ${m.webTreeSitter} + tree-sitter-rust ${m.treeSitterRust}. Load average at start/end ${m.loadAvgAtStart[0]} / ${m.loadAvgAtEnd[0]} ` +
    '(the machine was shared with other work, so expect a few tens of percent of run-to-run noise; compare rows within one run).',
);
lines.push(
  `- **Crate:** \`${d.crate.path}\` (Debian \`librust-tokio-dev\`): ${d.crate.files} \`.rs\` files, ${d.crate.lines.toLocaleString('en-US')} lines, ` +
    `${(d.crate.bytes / 1e6).toFixed(2)} MB (src/, tests/, build.rs — every \`.rs\` file under the crate).`,
);
lines.push(
  `- **Runs:** each row is a fresh process per run (cold Node/V8 + wasm, or cold \`CARGO_TARGET_DIR\`); median of ${d.options.runs} interleaved runs ` +
    `after one untimed warm-up (warm OS page cache); clippy ${d.options.clippyRuns}×` +
    quietNote(d) +
    `. CPU time is user+sys of the process tree from \`/usr/bin/time -v\`. Peak memory is max RSS from \`/usr/bin/time -v\` ` +
    '(for cargo: the largest single process, i.e. one rustc).',
);
lines.push('');
lines.push('| | runs | median wall s | range s | median CPU s (user+sys) | peak RSS MB | command |');
lines.push('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
lines.push(row('`locklens check` (cold)', d.locklens.summary, '`node bin/locklens.js check <crate> --format json --fail-on none`', 'not yet measured'));
if (d.locklens1) lines.push(row('`locklens check --threads 1` (cold)', d.locklens1.summary, '`… --threads 1`', 'not measured'));
if (d.locklensFull) lines.push(row('`locklens check --threads 1 --full-parse` (cold)', d.locklensFull.summary, '`… --threads 1 --full-parse` (every file parsed whole)', 'not measured'));
lines.push(row('bare parse, 1 thread', d.parseSingle.summary, '`node bench/parse-baseline.mjs <crate> --workers 0`'));
lines.push(row(`bare parse, ${d.options.workers} worker threads`, d.parseParallel.summary, `\`node bench/parse-baseline.mjs <crate> --workers ${d.options.workers}\``));
lines.push(
  row(
    `\`cargo clippy --features ${d.options.clippyFeatures}\` (cold)`,
    d.clippy.summary,
    '`cargo clippy --offline --features full -- --cap-lints warn -W clippy::await_holding_lock -W clippy::significant_drop_in_scrutinee` (Debian registry as directory source)',
    d.clippy.error ? 'failed' : 'not measured',
  ),
);
lines.push('');
if (d.locklens1?.summary) {
  // The CLI's default (server/src/workspace/check.ts): one thread up to two cores, else cores - 1, at most 4.
  const defaultThreads = m.nproc <= 2 ? 1 : Math.min(4, m.nproc - 1);
  lines.push(
    `\`locklens check\` runs with its default thread count (one thread on machines with up to two cores, otherwise cores − 1, at most 4: ${defaultThreads} here); ` +
      `\`--threads 1\` is the same check on one thread, the like-for-like comparison with the single-threaded parse` +
      (defaultThreads === 1
        ? ': here both rows run the same configuration and differ only by noise.'
        : d.ratios.checkParallelSpeedup == null
          ? '.'
          : d.ratios.checkParallelSpeedup >= 1
            ? `. Default threads vs one thread: ${s(d.ratios.checkParallelSpeedup)}× faster.`
            : `. On this machine the default was slower than one thread (${s(d.ratios.checkParallelSpeedup)}× the speed), and used more CPU and memory.`),
  );
  lines.push('');
}
const ps = d.parseSingle.inProcess;
const pp = d.parseParallel.inProcess;
if (ps) {
  lines.push(
    `Inside the 1-thread parse process (medians): wasm + grammar init ${ps.initMs} ms, reading files ${ps.readMs} ms, ` +
      `\`parser.parse\` ${ps.parseMs} ms; the rest of the process wall time is Node start-up and exit.`,
  );
  lines.push('');
}
if (pp) {
  lines.push(
    `With ${d.options.workers} worker threads (one Parser each, files split by size) the slowest worker parses for ${pp.parseMs} ms; ` +
      `speed-up of the whole process over single-threaded: ${s(d.ratios.parallelSpeedup)}× (worker start-up and a second wasm instance eat part of the gain, ` +
      'and on a 2-core machine shared with other work the second core is not always free; peak RSS grows by the second instance).',
  );
}
lines.push('');
const r = d.ratios;
const g = d.goals;
const verdict = (met) => (met == null ? 'not yet measured' : met ? 'goal met' : '**goal not met**');
lines.push('| ratio | value | goal |');
lines.push('| --- | ---: | --- |');
lines.push(`| check / bare parse (1 thread, process wall vs process wall) | ${r.checkOverParse == null ? 'not yet measured' : r.checkOverParse.toFixed(2) + '×'} | ≤ ${g.checkOverParseMax}× — ${verdict(g.checkOverParseMet)} |`);
if (r.check1OverParse != null) lines.push(`| check \`--threads 1\` / bare parse (1 thread), wall — like for like | ${r.check1OverParse.toFixed(2)}× | (for reference) |`);
if (r.checkOverParseParallel != null) lines.push(`| check / bare parse (${d.options.workers} worker threads), wall | ${r.checkOverParseParallel.toFixed(2)}× | (for reference) |`);
if (r.checkOverParseInProcess != null) {
  lines.push(`| check wall / in-process \`parser.parse\` time only (stricter) | ${r.checkOverParseInProcess.toFixed(2)}× | (for reference) |`);
}
const rc = d.ratiosCpu || {};
if (rc.checkOverParse != null) lines.push(`| check / bare parse (1 thread), CPU time | ${rc.checkOverParse.toFixed(2)}× | (check's CPU summed over its threads) |`);
if (rc.check1OverParse != null) lines.push(`| check \`--threads 1\` / bare parse (1 thread), CPU time | ${rc.check1OverParse.toFixed(2)}× | (least sensitive to other load) |`);
lines.push(`| clippy / check | ${r.clippyOverCheck == null ? 'not yet measured' : r.clippyOverCheck.toFixed(1) + '×'} | ≥ ${g.clippyOverCheckMin}× — ${verdict(g.clippyOverCheckMet)} |`);
if (rc.clippyOverCheck != null) lines.push(`| clippy / check, CPU time | ${rc.clippyOverCheck.toFixed(1)}× | (CPU of all processes and threads on both sides) |`);
lines.push(`| clippy / bare parse (1 thread) | ${r.clippyOverParse == null ? 'n/a' : r.clippyOverParse.toFixed(1) + '×'} | (for reference) |`);
lines.push('');
if (d.clippy.resolution?.resolves) {
  const pk = d.clippy.resolution.packages.filter((p) => !/^tokio v/.test(p));
  lines.push(
    `Clippy ran with tokio's complete \`${d.options.clippyFeatures}\` feature set: every dependency it needs resolves offline from Debian's registry ` +
      `(${pk.length} packages for all targets — the winapi crates are resolved but not compiled on Linux: ${pk.map((p) => p.replace(' v', ' ')).join(', ')}). Its time includes compiling those dependencies, ` +
      "as a first `cargo clippy` on a checkout does. The copy's `[dev-dependencies]` tables were removed (not all of them are packaged, and linting the library does not need them).",
  );
  lines.push('');
}
if (d.clippy.messages) {
  const bl = d.clippy.messages.byLint;
  lines.push(
    `Clippy reported ${d.clippy.messages.warnings} warnings on tokio itself, of which \`await_holding_lock\`: ${bl['clippy::await_holding_lock'] ?? 0}, ` +
      `\`significant_drop_in_scrutinee\`: ${bl['clippy::significant_drop_in_scrutinee'] ?? 0} (${bl.unexpected_cfgs ?? 0} are \`unexpected_cfgs\` from the newer toolchain).`,
  );
  lines.push('');
}
if (d.locklens.report?.findings != null) {
  lines.push(`\`locklens check\` reported ${d.locklens.report.findings} findings (${Object.entries(d.locklens.report.findingsByRule || {}).map(([k, v]) => `${k}: ${v}`).join(', ')}).`);
  lines.push('');
}
if (d.clippy.summary && d.parseSingle.summary) {
  const need = d.clippy.summary.medianS / g.clippyOverCheckMin;
  lines.push(
    `Headroom: the ≥ ${g.clippyOverCheckMin}× goal needs a check of at most ${s(need)} s against this clippy time (${s(d.clippy.summary.medianS)} s); ` +
      `the single-threaded bare parse alone takes ${s(d.parseSingle.summary.medianS)} s, the ${d.options.workers}-worker parse ${s(d.parseParallel.summary?.medianS)} s. ` +
      `The ≤ ${g.checkOverParseMax}× goal means a check of at most ${s(d.parseSingle.summary.medianS * g.checkOverParseMax)} s in this run.`,
  );
  lines.push('');
}
if (!d.locklens.summary) {
  lines.push('');
  lines.push(`**locklens row not yet measured:** ${d.locklens.error ?? 'no samples'} Re-run \`node bench/engine.mjs\` once the CLI builds.`);
}
// Repeat runs of the same day (bench/results/runs/, git-ignored), to show the spread.
const runsDir = path.join(BENCH_DIR, 'results', 'runs');
const day = m.date.slice(0, 10);
const repeats = existsSync(runsDir)
  ? readdirSync(runsDir)
      .filter((f) => f.startsWith(`engine-${day}`) && f.endsWith('.json'))
      .sort()
      .map((f) => JSON.parse(readFileSync(path.join(runsDir, f), 'utf8')))
      .filter((x) => x.crate?.path === d.crate.path && x.locklens?.summary && x.options.runs >= 3)
  : [];
if (repeats.length > 1) {
  if (lines.at(-1) !== '') lines.push('');
  lines.push(`All full runs of this benchmark on ${day} (medians, wall s; commit is HEAD at run time and \`out/\` was built from the shared working tree, so the engine changed between some runs; \`+wip\` marks runs known to include uncommitted engine edits):`);
  lines.push('');
  lines.push(`| time UTC | commit | check | check \`--threads 1\` | parse 1 thread | parse ${d.options.workers} workers | clippy | check / parse | clippy / check |`);
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const x of repeats) {
    const med = (k) => s(x[k]?.summary?.medianS);
    const rr = x.ratios;
    lines.push(
      `| ${x.machine.date.slice(11, 16)} | \`${x.machine.gitCommit}\`${x.machine.uncommittedEngineFiles ? '+wip' : ''} | ${med('locklens')} | ${med('locklens1')} | ${med('parseSingle')} | ${med('parseParallel')} | ${med('clippy')} | ` +
        `${rr.checkOverParse == null ? 'n/a' : rr.checkOverParse.toFixed(2) + '×'} | ${rr.clippyOverCheck == null ? 'n/a' : rr.clippyOverCheck.toFixed(1) + '×'} |`,
    );
  }
  lines.push('');
}
if (lines.at(-1) !== '') lines.push('');
// Instruction counts of the same day (bench/instructions.mjs), when measured: they do not move
// with the machine's load.
const instrFiles = [`instructions-${day}.json`, `instructions-single-threaded-${day}.json`].map((f) => path.join(BENCH_DIR, 'results', f)).filter((f) => existsSync(f));
const instr = instrFiles.map((f) => JSON.parse(readFileSync(f, 'utf8')));
if (instr.length > 0) {
  const mode = (ins) => (ins.v8Flags?.includes('--single-threaded') ? '`--single-threaded` (V8 compiles and collects on the main thread)' : 'every thread counted');
  const count = (ins, label) => {
    const r = ins.results.find((x) => x.label === label);
    if (!r) return 'n/a';
    const runs = r.runs ?? [r.instructions];
    const g = (n) => (n / 1e9).toFixed(2);
    return runs.length > 1 ? `${g(r.instructions)} G (${g(Math.min(...runs))}–${g(Math.max(...runs))})` : `${g(r.instructions)} G`;
  };
  lines.push(
    `Instruction counts (\`node bench/instructions.mjs\`, valgrind; ${instr.map((ins) => `${ins.date.slice(11, 16)} UTC at \`${ins.gitCommit}\``).join(', ')}; median of each command's runs, range in parentheses):`,
    '',
    `| | ${instr.map(mode).join(' | ')} |`,
    `| --- |${instr.map(() => ' ---: |').join('')}`,
  );
  for (const [label, title] of [
    ['node start-up (`node -e 0`)', 'Node start-up alone'],
    ['bare parse, 1 thread', 'bare parse, 1 thread'],
    ['locklens check --threads 1', '`check --threads 1`'],
    ['locklens check --threads 1 --full-parse', '`check --threads 1 --full-parse`'],
  ]) {
    lines.push(`| ${title} | ${instr.map((ins) => count(ins, label)).join(' | ')} |`);
  }
  lines.push(`| check / bare parse | ${instr.map((ins) => `**${ins.ratios.checkOverParse.toFixed(2)}×**`).join(' | ')} |`);
  lines.push(
    '',
    'A count weighs V8\'s background compiler and GC threads like the main thread; with a free core they run alongside it, and on this shared two-vCPU machine they compete with it, which is likely why the wall-time and CPU-time ratios sit above the count ratio. Counts move by a few percent from run to run, since V8 decides partly by time when to optimise and when to collect; in single-threaded mode the spread is about 2 %.',
    '',
  );
}
lines.push(`Raw data: ${[file, ...instrFiles].map((f) => `\`${path.relative(path.resolve(BENCH_DIR, '..'), path.resolve(f))}\``).join(', ')}.`);
const section = lines.join('\n') + '\n';
if (!write) {
  process.stdout.write(section);
} else {
  const md = path.resolve(BENCH_DIR, '..', 'BENCHMARKS.md');
  const heading = lines[0];
  let text = existsSync(md) ? readFileSync(md, 'utf8') : '# LockLens benchmarks\n\n';
  const start = text.indexOf(heading + '\n');
  if (start === -1) {
    text = text.replace(/\n*$/, '\n\n') + section;
  } else {
    const next = text.indexOf('\n## ', start + heading.length);
    text = text.slice(0, start) + section + (next === -1 ? '' : text.slice(next));
  }
  writeFileSync(md, text);
  process.stderr.write(`updated ${path.relative(process.cwd(), md)}\n`);
}
