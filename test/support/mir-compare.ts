// Compares `locklens regions` with rustc's MIR (test/support/mir.ts), one function at a time:
// shared by the fixture corpus (regions-mir.test.ts) and the generated functions
// (regions-fuzz.test.ts).

import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describeMirGuard, type Edition, functionAt, type MirGuard, type MirRelease, type SourceFn, sourceFunctions } from './mir';
import { ROOT } from './engine-harness';

// LOCKLENS_CLI=/path/to/other/locklens.js compares another build (or a stub) instead.
export const CLI = process.env.LOCKLENS_CLI ? path.resolve(process.env.LOCKLENS_CLI) : path.join(ROOT, 'bin', 'locklens.js');

function probeRustc(): { version?: string; reason?: string } {
  const rustc = process.env.RUSTC || 'rustc';
  try {
    const v = execFileSync(rustc, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    return { version: v };
  } catch (e) {
    return { reason: `rustc not available (${rustc} --version failed: ${(e as Error).message.split('\n')[0]}); install a Rust toolchain (>= 1.85 for edition 2024) to run the MIR oracle` };
  }
}
const RUSTC = probeRustc();
export const SKIP_RUSTC: string | false = RUSTC.version ? false : RUSTC.reason!;

/* ------------------------------------------------------ concurrency pool */

const POOL_SIZE = 4;
let running = 0;
const queue: Array<() => void> = [];
export function pooled<T>(job: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const start = () => {
      running++;
      job()
        .then(resolve, reject)
        .finally(() => {
          running--;
          const next = queue.shift();
          if (next) next();
        });
    };
    if (running < POOL_SIZE) start();
    else queue.push(start);
  });
}

/** Never rejects: results are inspected by the test that needs them. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };
export function settle<T>(p: Promise<T>): Promise<Outcome<T>> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (e: unknown) => ({ ok: false as const, error: e instanceof Error ? e.message : String(e) }),
  );
}

/* ------------------------------------------------------------- CLI side */

interface CliPos {
  line: number;
  column: number;
  endLine?: number;
  endColumn?: number;
}
interface CliRelease {
  line: number;
  column: number;
  kind: string;
}
export interface CliGuard {
  file?: string;
  lock?: string;
  mode?: string;
  acquire: CliPos;
  releases: CliRelease[];
}

export function runCli(file: string, edition: Edition, cli: string = CLI): Promise<CliGuard[]> {
  const rel = path.relative(ROOT, file);
  const args = [cli, 'regions', rel, '--edition', edition, '--format', 'json'];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      const cmd = `node ${path.relative(ROOT, cli)} regions ${rel} --edition ${edition} --format json`;
      if (err) {
        reject(new Error(`\`${cmd}\` failed (${(err as NodeJS.ErrnoException).code ?? err.message}):\n${String(stderr).trim() || String(stdout).trim()}`));
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(String(stdout));
      } catch (e) {
        reject(new Error(`\`${cmd}\` did not print JSON (${(e as Error).message}); stdout starts: ${String(stdout).slice(0, 300)}`));
        return;
      }
      const obj = parsed as { version?: number; guards?: unknown };
      if (!obj || !Array.isArray(obj.guards)) {
        reject(new Error(`\`${cmd}\` printed JSON without a "guards" array: ${String(stdout).slice(0, 300)}`));
        return;
      }
      const guards = (obj.guards as CliGuard[]).filter((g) => {
        if (!g.file) return true;
        const abs = path.resolve(ROOT, g.file);
        return abs === path.resolve(file) || path.basename(g.file) === path.basename(file);
      });
      for (const g of guards) {
        if (!g.acquire || typeof g.acquire.line !== 'number' || !Array.isArray(g.releases)) {
          reject(new Error(`\`${cmd}\`: malformed guard ${JSON.stringify(g)}`));
          return;
        }
      }
      resolve(guards);
    });
  });
}

/* ----------------------------------------------------------- comparison */

export const pos = (p: { line: number; column: number }) => `${p.line}:${p.column}`;
const byPos = (a: { line: number; column: number }, b: { line: number; column: number }) => a.line - b.line || a.column - b.column;

function sourceLine(lines: string[], line: number): string {
  return lines[line - 1] ?? '';
}

/** `  34 |     }` with a caret under the column. */
function showAt(lines: string[], p: { line: number; column: number }, label: string): string {
  const text = sourceLine(lines, p.line).replace(/\t/g, ' ');
  const gutter = String(p.line).padStart(4);
  return `      ${label} ${pos(p)}\n      ${gutter} | ${text}\n      ${' '.repeat(gutter.length)} | ${' '.repeat(Math.max(0, p.column - 1))}^`;
}

function snippet(lines: string[], g: MirGuard): string {
  // the creating statement (`x.lock().unwrap()`) when it starts at the acquire position, else the lock call
  const c = g.createSpan;
  const s = c && c.line === g.acquire.line && c.column === g.acquire.column ? c : g.acquireSpan;
  if (s.line !== s.endLine) return sourceLine(lines, s.line).slice(s.column - 1).trim() + ' …';
  return sourceLine(lines, s.line).slice(s.column - 1, s.endColumn - 1);
}

function fmtMirRels(rs: MirRelease[]): string {
  return rs.length ? rs.map((r) => `${pos(r)} ${r.kind}`).join(', ') : '(none)';
}
function fmtCliRels(rs: CliRelease[]): string {
  return rs.length ? rs.map((r) => `${pos(r)} ${r.kind}`).join(', ') : '(none)';
}

/** Compare one rustc guard with the CLI guard at the same acquire position; returns problems. */
function compareGuard(m: MirGuard, c: CliGuard, lines: string[], fixtureBase: string): string[] {
  const problems: string[] = [];
  const foreign = m.releases.filter((r) => path.basename(r.file) !== fixtureBase);
  if (foreign.length) {
    problems.push(`oracle limitation: rustc drops this guard inside a macro expansion (${foreign.map((r) => `${r.file}:${pos(r)}`).join(', ')}); rewrite the fixture without the macro`);
  }
  const mirRels = m.releases.filter((r) => r.kind !== 'returned' && path.basename(r.file) === fixtureBase);
  let cliRels = c.releases.filter((r) => r.kind !== 'early-exit').slice().sort(byPos);
  if (m.releases.some((r) => r.kind === 'returned')) {
    // rustc: the guard escapes to the caller. The CLI must say so with a `moved` release.
    const mirLines = new Set(mirRels.map((r) => r.line));
    const movedIdx = [...cliRels.keys()].reverse().find((i) => cliRels[i].kind === 'moved' && !mirLines.has(cliRels[i].line))
      ?? [...cliRels.keys()].reverse().find((i) => cliRels[i].kind === 'moved');
    if (movedIdx === undefined) {
      problems.push(`rustc returns this guard to the caller (moved into the return place), but the CLI has no \`moved\` release (CLI: ${fmtCliRels(c.releases)})`);
    } else {
      cliRels = cliRels.filter((_, i) => i !== movedIdx);
    }
  }
  const expLines = [...new Set(mirRels.map((r) => r.line))].sort((a, b) => a - b);
  const actLines = [...new Set(cliRels.map((r) => r.line))].sort((a, b) => a - b);
  const missing = expLines.filter((l) => !actLines.includes(l));
  const extra = actLines.filter((l) => !expLines.includes(l));
  if (missing.length || extra.length) {
    let msg = `release lines differ: expected {${expLines.join(', ')}}, CLI {${actLines.join(', ')}}`;
    for (const l of missing) {
      const r = mirRels.find((x) => x.line === l)!;
      msg += `\n${showAt(lines, r, `missing (rustc ${r.kind} of ${r.local}) at`)}`;
    }
    for (const l of extra) {
      const r = cliRels.find((x) => x.line === l)!;
      msg += `\n${showAt(lines, r, `unexpected (CLI ${r.kind}) at`)}`;
    }
    problems.push(msg);
  }
  const expLast = mirRels.slice().sort(byPos).pop();
  const actLast = cliRels.slice().sort(byPos).pop();
  if (expLast && actLast && (expLast.line !== actLast.line || expLast.column !== actLast.column)) {
    problems.push(
      `last release differs: expected ${pos(expLast)} (rustc ${expLast.kind}), CLI ${pos(actLast)} (${actLast.kind})\n` +
        `${showAt(lines, expLast, 'expected')}\n${showAt(lines, actLast, 'CLI     ')}`,
    );
  } else if (expLast && !actLast) {
    problems.push(`CLI reports no release (besides early-exit); expected last release ${pos(expLast)} (rustc ${expLast.kind})\n${showAt(lines, expLast, 'expected')}`);
  } else if (!expLast && actLast && !m.releases.some((r) => r.kind === 'returned')) {
    problems.push(`rustc has no release for this guard on non-unwinding paths, CLI says ${fmtCliRels(cliRels)}`);
  }
  return problems;
}

export interface FnReport {
  fn: SourceFn;
  mir: MirGuard[];
  cli: CliGuard[];
}

export function groupByFunction(src: string, mir: MirGuard[], cli: CliGuard[]): FnReport[] {
  const fns = sourceFunctions(src);
  const top: SourceFn = { name: '(top level)', startLine: 1, endLine: Number.MAX_SAFE_INTEGER };
  const groups = new Map<SourceFn, FnReport>();
  const get = (line: number) => {
    const f = functionAt(fns, line) ?? top;
    let r = groups.get(f);
    if (!r) groups.set(f, (r = { fn: f, mir: [], cli: [] }));
    return r;
  };
  for (const g of mir) get(g.acquire.line).mir.push(g);
  for (const g of cli) get(g.acquire.line).cli.push(g);
  return [...groups.values()].sort((a, b) => a.fn.startLine - b.fn.startLine);
}

export function checkFunction(r: FnReport, lines: string[], edition: Edition, fixtureBase: string): void {
  const problems: string[] = [];
  const cliAt = new Map<string, CliGuard>();
  for (const c of r.cli) cliAt.set(pos(c.acquire), c);
  const matched = new Set<CliGuard>();
  for (const m of r.mir) {
    const c = cliAt.get(pos(m.acquire));
    if (m.fromParam) {
      // e.g. `|e| e.into_inner()` in `lock().unwrap_or_else(..)`: the caller acquired the lock.
      if (c) matched.add(c);
      continue;
    }
    const what = `${m.guardType} \`${snippet(lines, m)}\`${m.binding ? ` (binding \`${m.binding}\`)` : ''} acquired at ${pos(m.acquire)}`;
    if (!c) {
      const near = r.cli.filter((x) => x.acquire.line === m.acquire.line).map((x) => `${pos(x.acquire)} ${x.lock ?? '?'}`);
      problems.push(
        `MISSING GUARD: rustc has ${what}; CLI reports no guard starting there` +
          (near.length ? ` (CLI guards on that line start at: ${near.join(', ')})` : '') +
          `\n      rustc releases: ${fmtMirRels(m.releases)}\n${showAt(lines, m.acquire, 'acquire')}`,
      );
      continue;
    }
    matched.add(c);
    const ps = compareGuard(m, c, lines, fixtureBase);
    if (ps.length) {
      problems.push(
        `${what} — CLI lock ${c.lock ?? '?'}${c.mode ? ` (${c.mode})` : ''}\n` +
          `      rustc releases: ${fmtMirRels(m.releases)}\n      CLI releases:   ${fmtCliRels(c.releases)}\n` +
          ps.map((p) => `    - ${p}`).join('\n'),
      );
    }
  }
  for (const c of r.cli) {
    if (matched.has(c)) continue;
    problems.push(
      `EXTRA GUARD: CLI reports lock ${c.lock ?? '?'}${c.mode ? ` (${c.mode})` : ''} acquired at ${pos(c.acquire)}, but rustc creates no guard value there` +
        `\n      CLI releases: ${fmtCliRels(c.releases)}\n${showAt(lines, c.acquire, 'acquire')}` +
        (r.mir.length ? `\n      rustc guards in this function: ${r.mir.map((m) => pos(m.acquire)).join(', ')}` : ''),
    );
  }
  if (problems.length) {
    const where = r.fn.endLine === Number.MAX_SAFE_INTEGER ? 'outside any fn' : `lines ${r.fn.startLine}-${r.fn.endLine}`;
    assert.fail(
      `${fixtureBase} --edition ${edition}: ${r.fn.name} (${where})\n` +
        problems.map((p) => `  * ${p}`).join('\n') +
        `\n  rustc (oracle):\n${r.mir.map((m) => `    ${describeMirGuard(m)}`).join('\n') || '    (none)'}`,
    );
  }
}
