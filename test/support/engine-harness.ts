// Drives the real engine (tree-sitter wasm) on fixture text, the way the CLI's
// workspace/check.ts does: parse, collect declarations, index the crate, analyse.
// Also: fixture expectations from `//~ rule-id` markers, and a rustc runner for fixes.

import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildCrateIndex, createEngine, type Engine, type EngineOptions, type FileAnalysis, type Finding } from '../../server/src/analysis';
import type { Edition } from '../../server/src/analysis/model';
import { locateWasm } from '../../server/src/workspace/wasm';

/** Search upward for the locklens package.json (from out/test/support, or the cwd). */
export function repoRoot(): string {
  for (const start of [__dirname, process.cwd()]) {
    for (let dir = start; ; ) {
      const pkg = path.join(dir, 'package.json');
      if (fs.existsSync(pkg)) {
        try {
          if (JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'locklens') return dir;
        } catch {
          /* keep looking */
        }
      }
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return path.resolve(__dirname, '../../..');
}

export const ROOT = repoRoot();
export const RULE_FIXTURES = path.join(ROOT, 'test', 'fixtures', 'rules');
export const CLI_FIXTURES = path.join(ROOT, 'test', 'fixtures', 'cli');

let engine: Promise<Engine> | undefined;
export function getTestEngine(): Promise<Engine> {
  engine ??= createEngine(locateWasm());
  return engine;
}

/**
 * An engine that keeps no per-function results, as the CLI's: the one-shot comparison below must
 * compute the scanned file's analysis, not find the parsed file's in the cache.
 */
let oneShotEngine: Promise<Engine> | undefined;
function getOneShotEngine(): Promise<Engine> {
  oneShotEngine ??= createEngine({ ...locateWasm(), reuseResults: false });
  return oneShotEngine;
}

export interface AnalyzeOptions extends Partial<EngineOptions> {
  /** File name reported in findings (default `lib.rs`). */
  file?: string;
  /** Other files of the same crate (declarations only). */
  others?: Array<{ file: string; text: string }>;
}

/** Analyses one file's text as a single-file crate (plus `others`). */
export async function analyze(text: string, opts: AnalyzeOptions = {}): Promise<FileAnalysis> {
  const e = await getTestEngine();
  const file = opts.file ?? 'lib.rs';
  const edition: Edition = opts.edition ?? '2021';
  const parsed = e.parse(text);
  const extra = (opts.others ?? []).map((o) => ({ o, p: e.parse(o.text) }));
  try {
    const decls = [e.declarations(parsed, file), ...extra.map(({ o, p }) => e.declarations(p, o.file))];
    const index = buildCrateIndex(edition, decls);
    const options: EngineOptions = {
      edition,
      severities: opts.severities,
      reentrantClasses: opts.reentrantClasses,
      blockingFunctions: opts.blockingFunctions,
      lockWrappers: opts.lockWrappers,
      dependencies: opts.dependencies,
    };
    const result = e.analyzeFile(parsed, file, index, options);
    // Every analysis in the tests also proves the one-shot path (declarations read from the
    // text, only some functions parsed) gives the same answer as the whole tree.
    const oneShot = await getOneShotEngine();
    const scanned = parsed.syntaxErrors === 0 ? oneShot.scan(text, file) : undefined;
    if (scanned) {
      assert.deepStrictEqual(scanned.declarations, decls[0], 'scanned declarations differ from the tree\'s');
      assert.deepStrictEqual(oneShot.analyzeFile(scanned, file, index, options), result, 'the scanned file\'s analysis differs from the parsed one\'s');
    }
    // The one-shot engine on the whole tree too, compared only once the tree is freed: calls it
    // finds when they are first read must not need the tree.
    const whole = oneShot.parse(text);
    let late: FileAnalysis;
    try {
      late = oneShot.analyzeFile(whole, file, index, options);
    } finally {
      whole.dispose();
    }
    assert.deepStrictEqual(late, result, 'the one-shot engine\'s analysis of the tree differs from the editor engine\'s');
    return result;
  } finally {
    parsed.dispose();
    for (const { p } of extra) p.dispose();
  }
}

/** Every `.rs` file under `dir` (none when it does not exist), skipping `target/` and hidden folders. */
export function rustFiles(dir: string, out: string[] = []): string[] {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'target' && !e.name.startsWith('.')) rustFiles(p, out);
    } else if (e.name.endsWith('.rs')) out.push(p);
  }
  return out;
}

export function readRuleFixture(name: string): string {
  return fs.readFileSync(path.join(RULE_FIXTURES, name), 'utf8');
}

/** 1-based line of the first line containing `needle` (after the first line containing `after`). */
export function lineOf(text: string, needle: string, after?: string): number {
  const from = after === undefined ? 0 : text.indexOf(after);
  if (from < 0) throw new Error(`anchor not found: ${after}`);
  const at = text.indexOf(needle, from);
  if (at < 0) throw new Error(`not found: ${needle}`);
  return text.slice(0, at).split('\n').length;
}

/**
 * Expected findings from markers: `//~ rule-id` (or `//~ rule-id:severity`, `//~ rule-id@2021` for
 * one edition only, several separated by spaces) at the end of the line where the finding starts.
 * Returns `line rule[:severity]` keys.
 */
export function expectedMarkers(text: string, rules: readonly string[], edition?: string): string[] {
  const out: string[] = [];
  text.split(/\r?\n/).forEach((l, i) => {
    const m = /\/\/~\s*(.*)$/.exec(l);
    if (!m) return;
    for (const raw of m[1].trim().split(/\s+/)) {
      // `rule@2021`: expected only in that edition.
      const [tok, only] = raw.split('@');
      if (only && edition && only !== edition) continue;
      const rule = tok.split(':')[0];
      if (rules.includes(rule)) out.push(`${i + 1} ${tok}`);
    }
  });
  return out.sort(keyOrder);
}

/** Actual findings of `rules` as `line rule` keys (with `:severity` where the marker asks for it). */
export function actualKeys(findings: Finding[], rules: readonly string[], text: string, edition?: string): string[] {
  const withSev = new Set<string>();
  for (const k of expectedMarkers(text, rules, edition)) {
    const [line, tok] = k.split(' ');
    if (tok.includes(':')) withSev.add(`${line} ${tok.split(':')[0]}`);
  }
  return findings
    .filter((f) => rules.includes(f.rule))
    .map((f) => {
      const k = `${f.range.start.line + 1} ${f.rule}`;
      return withSev.has(k) ? `${k}:${f.severity}` : k;
    })
    .sort(keyOrder);
}

function keyOrder(a: string, b: string): number {
  return parseInt(a, 10) - parseInt(b, 10) || a.localeCompare(b);
}

export function findingAt(findings: Finding[], rule: string, line: number): Finding {
  const f = findings.find((x) => x.rule === rule && x.range.start.line + 1 === line);
  if (!f) throw new Error(`no ${rule} finding at line ${line}; have: ${findings.map((x) => `${x.range.start.line + 1} ${x.rule}`).join(', ')}`);
  return f;
}

// ---- rustc ----

export interface RustcResult {
  ok: boolean;
  stderr: string;
}

let rustcProbe: string | undefined | null = null;
/** `rustc --version`, or undefined when rustc is not installed. */
export function rustcVersion(): Promise<string | undefined> {
  if (rustcProbe !== null) return Promise.resolve(rustcProbe);
  return new Promise((resolve) => {
    execFile(process.env.RUSTC || 'rustc', ['--version'], (err, stdout) => {
      rustcProbe = err ? undefined : stdout.trim();
      resolve(rustcProbe);
    });
  });
}

const MAX_RUSTC = Math.max(2, Math.min(4, os.cpus().length));
let running = 0;
const queue: Array<() => void> = [];

async function slot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_RUSTC) await new Promise<void>((r) => queue.push(r));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    queue.shift()?.();
  }
}

/** Type-checks `text` as a std-only library crate (`--emit=metadata`, warnings allowed). */
export function rustcCheck(text: string, edition: Edition = '2021'): Promise<RustcResult> {
  return slot(
    () =>
      new Promise<RustcResult>((resolve) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'locklens-fix-'));
        const src = path.join(dir, 'x.rs');
        fs.writeFileSync(src, text);
        execFile(
          process.env.RUSTC || 'rustc',
          ['--edition', edition, '--crate-type', 'lib', '--crate-name', 'x', '--emit=metadata', '-A', 'warnings', '-o', path.join(dir, 'x.rmeta'), src],
          { timeout: 60_000 },
          (err, _stdout, stderr) => {
            fs.rmSync(dir, { recursive: true, force: true });
            resolve({ ok: !err, stderr: String(stderr) });
          },
        );
      }),
  );
}
