// `locklens` command line: check, regions, report, graph, run, lsp.
// Exit codes: 0 nothing at/above --fail-on, 1 findings at/above it, 2 usage or I/O errors.

import * as fs from 'fs';
import type { Acquisition, Finding, Severity } from '../analysis/model';
import { editionFlag, oneOf, parseArgs, sizeFlag, UsageError, type ParsedArgs } from './args';
import { findingsJson, findingsSarif, findingsText, regionsJson, regionsText, summaryLine, VERSION } from './output';
import { discoverWorkspace, type WorkspaceModel } from '../workspace/discover';
import { checkWorkspace, type CheckResult } from '../workspace/check';
import * as path from 'path';
import { compareText } from '../analysis/sorted';

const USAGE = `locklens ${VERSION}: see where Rust lock guards are held, and what goes wrong inside.

Usage:
  locklens check PATH... [--format text|json|sarif] [--fail-on error|warning|information|none] [--edition E] [--max-file-size SIZE] [--threads N] [--full-parse] [--timings]
  locklens regions PATH... [--format text|json] [--edition E]
  locklens report PATH [--out FILE] [--edition E]
  locklens graph PATH [--format dot|mermaid|json] [--edition E]
  locklens run [--format text|json] [--record FILE] [--stall-ms N] [--timeout-s N] -- CMD ARGS...
  locklens lsp --stdio

PATH is a .rs file, a crate folder (with Cargo.toml) or a Cargo workspace. check, regions,
report and graph also take --edition, --max-file-size, --threads and --full-parse (parse every
file whole, so syntax errors outside the functions that touch locks are reported too).
Exit status: 0 clean, 1 findings at or above --fail-on (default warning), 2 usage or I/O error.
`;

const SEVERITY_RANK: Record<Severity, number> = { hint: 0, information: 1, warning: 2, error: 3 };

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };

const defaultOut: Out = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};

export async function main(argv: string[], out: Out = defaultOut): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'check':
        return await check(rest, out);
      case 'regions':
        return await regions(rest, out);
      case 'report':
      case 'graph': {
        const mod = await import('./graph-commands');
        return await (command === 'report' ? mod.reportCommand(rest, out) : mod.graphCommand(rest, out));
      }
      case 'run': { const mod = await import('./run'); return await mod.runCommand(rest, out); }
      case 'lsp': {
        const mod = await import('../lsp/main');
        mod.startStdio();
        return await new Promise<number>(() => undefined);
      }
      case '--version':
      case '-V':
        out.stdout(`locklens ${VERSION}\n`);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out.stdout(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      out.stderr(`locklens: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    const err = e as Error;
    out.stderr(`locklens: internal error: ${err && err.message ? err.message : String(e)}\n`);
    if (process.env.LOCKLENS_DEBUG) out.stderr(`${err?.stack ?? ''}\n`);
    return 2;
  }
}

/** The flags of every command that analyses PATHs (see loadAndCheck); true: takes a value. */
export const ANALYSIS_FLAGS = { edition: true, 'max-file-size': true, threads: true, 'full-parse': false };

/** Discovers and checks every PATH; prints discovery messages to stderr. */
export async function loadAndCheck(args: ParsedArgs, out: Out): Promise<{ models: WorkspaceModel[]; results: CheckResult[]; ioError: boolean }> {
  if (args.positionals.length === 0) throw new UsageError('missing PATH');
  const edition = editionFlag(args);
  const maxFileBytes = sizeFlag(args, 'max-file-size');
  const threadsFlag = args.flags.get('threads');
  const threads = threadsFlag === undefined ? undefined : Number(threadsFlag);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > 64)) throw new UsageError('--threads must be a whole number from 1 to 64');
  const models: WorkspaceModel[] = [];
  const results: CheckResult[] = [];
  let ioError = false;
  for (const p of args.positionals) {
    const model = discoverWorkspace(p, { edition });
    // With several PATHs, report every file relative to the current folder so paths from
    // different PATHs never collide (and one SARIF %SRCROOT% covers them all).
    if (args.positionals.length > 1) model.base = model.root = process.cwd();
    models.push(model);
    const result = await checkWorkspace(model, { edition, maxFileBytes, threads, oneShot: true, fullParse: args.flags.has('full-parse') });
    if (model.crates.length === 0) ioError = true;
    for (const m of result.messages) out.stderr(`${m}\n`);
    results.push(result);
  }
  return { models, results, ioError };
}

async function check(argv: string[], out: Out): Promise<number> {
  const args = parseArgs(argv, { ...ANALYSIS_FLAGS, format: true, 'fail-on': true, timings: false });
  const format = oneOf(args, 'format', ['text', 'json', 'sarif'] as const, 'text');
  const started = performance.now();
  const failOn = oneOf(args, 'fail-on', ['error', 'warning', 'information', 'hint', 'none'] as const, 'warning');
  const { models, results, ioError } = await loadAndCheck(args, out);
  const graph = await import('../workspace/graph');
  const findings: Finding[] = [];
  const acqs = new Map<string, Acquisition>();
  const linesCache = new Map<string, string[] | undefined>();
  const fileBase = new Map<string, string>();
  let graphMs = 0;
  results.forEach((r, i) => {
    const graphStart = performance.now();
    findings.push(...r.findings, ...graph.workspaceFindings(r));
    graphMs += performance.now() - graphStart;
    for (const m of graph.unreadCallWarnings(r)) out.stderr(`${m}\n`);
    for (const c of r.crates) for (const f of c.files) {
      fileBase.set(f.file, models[i].base);
      for (const a of f.acquisitions) acqs.set(a.id, a);
    }
  });
  sortFindings(findings);
  if (format === 'json') out.stdout(findingsJson(findings) + '\n');
  else if (format === 'sarif') out.stdout(findingsSarif(findings, models[0]?.base) + '\n');
  else {
    const text = findingsText(
      findings,
      {
        lines(file) {
          if (!linesCache.has(file)) {
            const base = fileBase.get(file);
            try {
              linesCache.set(file, base ? fs.readFileSync(path.join(base, file), 'utf8').split(/\r?\n/) : undefined);
            } catch {
              linesCache.set(file, undefined);
            }
          }
          return linesCache.get(file);
        },
      },
      acqs,
    );
    out.stdout(text);
    const stats = results.reduce((s, r) => ({ files: s.files + r.stats.files, lines: s.lines + r.stats.lines }), { files: 0, lines: 0 });
    // Nothing was checked (a missing path, an empty folder): the error on stderr says it all.
    if (stats.files > 0 || !ioError) out.stdout(`${summaryLine(findings)} in ${stats.files} file${stats.files === 1 ? '' : 's'} (${stats.lines} lines)\n`);
  }
  if (args.flags.has('timings')) out.stderr(timingsLine(results, graphMs, performance.now() - started));
  if (ioError) return 2;
  if (failOn === 'none') return 0;
  const threshold = SEVERITY_RANK[failOn];
  return findings.some((f) => SEVERITY_RANK[f.severity] >= threshold) ? 1 : 0;
}

async function regions(argv: string[], out: Out): Promise<number> {
  const args = parseArgs(argv, { ...ANALYSIS_FLAGS, format: true });
  const format = oneOf(args, 'format', ['text', 'json'] as const, 'text');
  const { results, ioError } = await loadAndCheck(args, out);
  const acqs: Acquisition[] = [];
  for (const r of results) for (const c of r.crates) for (const f of c.files) acqs.push(...f.acquisitions);
  out.stdout(format === 'json' ? regionsJson(acqs) + '\n' : regionsText(acqs));
  return ioError ? 2 : 0;
}

/** `--timings`: where the time went, in ms (the check phases summed over PATHs). */
function timingsLine(results: CheckResult[], graphMs: number, totalMs: number): string {
  const phases = new Map<string, number>();
  for (const r of results) for (const [k, v] of Object.entries(r.timings)) phases.set(k, (phases.get(k) ?? 0) + v);
  phases.set('graph', graphMs);
  const parts = [...phases].map(([k, v]) => `${k.replace(/_/g, '+')} ${v.toFixed(0)}`);
  return `timings (ms): ${parts.join(', ')}; check total ${totalMs.toFixed(0)}, since process start ${performance.now().toFixed(0)}\n`;
}

export function sortFindings(findings: Finding[]): void {
  findings.sort((a, b) => compareText(a.file, b.file) || a.range.start.line - b.range.start.line || a.range.start.column - b.range.start.column || compareText(a.rule, b.rule));
}

/**
 * `locklens regions . | head`: once the reader closes the pipe, the rest of the output is dropped
 * quietly and the exit status stays the command's own (Node reports a closed pipe as an 'error'
 * event on stdout, which would otherwise end the process with a stack trace).
 */
function dropOutputOnClosedPipe(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

/** Commands that analyse and print, then have nothing left to wait for. */
const ONE_SHOT_COMMANDS = new Set(['check', 'regions', 'report', 'graph']);

/**
 * Runs the CLI as a process (bin/locklens.js, or this module run directly) and sets its exit
 * status. A one-shot command ends the process once its output is flushed, without waiting for
 * V8's background work to wind down (about 10 ms); `run` and `lsp` end when their work does.
 */
export function runAsProcess(argv: string[]): void {
  dropOutputOnClosedPipe();
  main(argv).then((code) => {
    if (!ONE_SHOT_COMMANDS.has(argv[0])) {
      process.exitCode = code;
      return;
    }
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  });
}

if (require.main === module) runAsProcess(process.argv.slice(2));
