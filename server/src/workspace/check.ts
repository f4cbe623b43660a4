// Runs the engine over every crate of a workspace: read, parse, collect declarations, index,
// analyse. Shared by the CLI and the language server's initial indexing.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildCrateIndex, createEngine, type Engine, type EngineOptions, type FileAnalysis, type FileDeclarations, type ParsedFile, type ScannedFile } from '../analysis';
import { WorkerShard } from './pool';
import type { Edition, Finding } from '../analysis/model';
import type { CrateInfo, WorkspaceModel } from './discover';
import { readSource } from './source';
import { locateWasm } from './wasm';
import { compareText } from '../analysis/sorted';

export interface CheckOptions {
  edition?: Edition;
  maxFileBytes?: number;
  /** Called after each file is analysed (progress reporting). */
  onFile?: (done: number, total: number) => void;
  /** Worker threads for parsing and analysis; default: the machine's cores, at most 4. */
  threads?: number;
  /**
   * The process exits right after this check (the CLI): syntax trees are left for the exit to
   * reclaim instead of being freed one by one.
   */
  oneShot?: boolean;
  /**
   * Parse every file whole (`--full-parse`). By default a file's declarations are read from its
   * text and only the functions the analysis looks into are parsed; the results are the same,
   * but syntax errors are then found only inside those functions.
   */
  fullParse?: boolean;
}

export interface CrateResult {
  crate: CrateInfo;
  files: FileAnalysis[];
  declarations: FileDeclarations[];
  options: EngineOptions;
  /** Source text of each analysed file (by relative path), for suppressions and snippets. */
  texts: Map<string, string>;
}

export interface CheckResult {
  /** Folder that reported paths are relative to. */
  base: string;
  crates: CrateResult[];
  messages: string[];
  /** All findings, file paths relative to the workspace base. */
  findings: Finding[];
  stats: { files: number; lines: number; bytes: number };
  /** Wall time of each phase in ms (`locklens check --timings`). */
  timings: { start: number; read_parse_declare: number; index: number; analyze: number };
}

let sharedEngine: Promise<Engine> | undefined;

/** One engine (one wasm runtime) per process. */
export function getEngine(): Promise<Engine> {
  // A check analyses each file once: no per-function results are kept for a next time.
  sharedEngine ??= createEngine({ ...locateWasm(), reuseResults: false });
  return sharedEngine;
}

export function relativeFile(base: string, file: string): string {
  const rel = path.relative(base, file);
  return (rel === '' ? path.basename(file) : rel).split(path.sep).join('/');
}

export function engineOptionsFor(crate: CrateInfo, edition: Edition): EngineOptions {
  return {
    edition,
    severities: crate.config.severities,
    reentrantClasses: crate.config.reentrant,
    blockingFunctions: crate.config.blocking,
    lockWrappers: crate.config.wrappers,
    dependencies: crate.dependencies,
  };
}

export async function checkWorkspace(model: WorkspaceModel, opts: CheckOptions = {}): Promise<CheckResult> {
  const result: CheckResult = {
    base: model.base,
    crates: [],
    messages: [...model.messages],
    findings: [],
    stats: { files: 0, lines: 0, bytes: 0 },
    timings: { start: 0, read_parse_declare: 0, index: 0, analyze: 0 },
  };
  let clock = performance.now();
  const lap = (phase: keyof CheckResult['timings']) => {
    const now = performance.now();
    result.timings[phase] = now - clock;
    clock = now;
  };
  const jobs: FileJob[] = [];
  model.crates.forEach((crate, crateIdx) => {
    for (const abs of crate.files) jobs.push({ abs, rel: relativeFile(model.base, abs), crateIdx });
  });
  const total = jobs.length;
  let done = 0;
  const shards = await openShards(jobs, opts);
  lap('start');
  try {
    // Phase 1, in parallel: read, parse and collect declarations; trees stay in their shard.
    const declared = (await inParallel(shards, (s) => s.shard.declare(s.jobs, { maxFileBytes: opts.maxFileBytes, fullParse: opts.fullParse }))).flat();
    lap('read_parse_declare');
    const byCrate = model.crates.map(() => ({ declarations: [] as FileDeclarations[], texts: new Map<string, string>() }));
    for (const d of declared) {
      if (!d.ok) {
        result.messages.push(`warning: ${d.rel}: ${d.reason}`);
        opts.onFile?.(++done, total);
        continue;
      }
      result.stats.files++;
      result.stats.bytes += d.text!.length;
      result.stats.lines += d.lines;
      byCrate[d.crateIdx].declarations.push(d.declarations!);
      byCrate[d.crateIdx].texts.set(d.rel, d.text!);
    }
    // Phase 2, in parallel: analyse every file against its crate's merged index.
    const crateJobs = model.crates.map((crate, crateIdx) => {
      const edition = opts.edition ?? crate.edition;
      return { crateIdx, index: buildCrateIndex(edition, byCrate[crateIdx].declarations), options: engineOptionsFor(crate, edition) };
    });
    lap('index');
    const analysed = (await inParallel(shards, (s) => s.shard.analyze(crateJobs))).flat();
    const filesByCrate = model.crates.map(() => [] as FileAnalysis[]);
    for (const { crateIdx, analysis, error } of analysed) {
      if (error) result.messages.push(`warning: ${analysis.file}: not analysed: internal error (${error}); please report it with the file`);
      if (analysis.syntaxErrors > 0) {
        const at = analysis.firstSyntaxError ? `:${analysis.firstSyntaxError.start.line + 1}:${analysis.firstSyntaxError.start.column + 1}` : '';
        result.messages.push(`note: ${analysis.file}${at}: the file has ${analysis.syntaxErrors} syntax error${analysis.syntaxErrors > 1 ? 's' : ''}; analysed the parts that parse`);
      }
      filesByCrate[crateIdx].push(analysis);
      result.findings.push(...analysis.findings);
      opts.onFile?.(++done, total);
    }
    model.crates.forEach((crate, crateIdx) => {
      const files = filesByCrate[crateIdx].sort((a, b) => compareText(a.file, b.file));
      result.crates.push({ crate, files, declarations: byCrate[crateIdx].declarations, options: crateJobs[crateIdx].options, texts: byCrate[crateIdx].texts });
    });
    lap('analyze');
  } finally {
    await Promise.all(shards.map((s) => s.shard.close()));
  }
  return result;
}

/**
 * Runs one step on every shard. The in-process shard works synchronously, so the workers get
 * their requests first: started after it, they would sit idle until it finished.
 */
function inParallel<S extends { shard: Shard }, T>(shards: S[], step: (s: S) => Promise<T>): Promise<T[]> {
  const pending: Array<Promise<T>> = new Array(shards.length);
  for (let i = shards.length - 1; i >= 0; i--) pending[i] = step(shards[i]);
  return Promise.all(pending);
}

export interface FileJob {
  abs: string;
  rel: string;
  crateIdx: number;
}

export interface Declared {
  rel: string;
  crateIdx: number;
  ok: boolean;
  reason?: string;
  declarations?: FileDeclarations;
  text?: string;
  lines: number;
}

export interface CrateJob {
  crateIdx: number;
  index: ReturnType<typeof buildCrateIndex>;
  options: EngineOptions;
}

export interface DeclareOptions {
  maxFileBytes?: number;
  fullParse?: boolean;
}

/** One file's analysis; `error` when the engine failed on it (the analysis is then empty). */
export interface AnalysedFile {
  crateIdx: number;
  analysis: FileAnalysis;
  error?: string;
}

/** A set of files parsed and analysed together, in this thread or in a worker. */
export interface Shard {
  declare(jobs: FileJob[], options: DeclareOptions): Promise<Declared[]>;
  analyze(crates: CrateJob[]): Promise<AnalysedFile[]>;
  close(): Promise<void>;
}

/** In-process shard: the engine of this thread. */
export class LocalShard implements Shard {
  private readonly parsed: Array<{ job: FileJob; parsed: ParsedFile | ScannedFile }> = [];

  /** `freeTrees` false: the owner of this thread ends it soon, which frees the trees at once. */
  constructor(
    private readonly engine: Engine,
    private readonly freeTrees = true,
  ) {}

  async declare(jobs: FileJob[], options: DeclareOptions): Promise<Declared[]> {
    const out: Declared[] = [];
    for (const job of jobs) {
      const src = readSource(job.abs, options.maxFileBytes);
      if (!src.ok) {
        out.push({ rel: job.rel, crateIdx: job.crateIdx, ok: false, reason: src.reason, lines: 0 });
        continue;
      }
      const scanned = options.fullParse ? undefined : this.engine.scan(src.text, job.rel);
      const p = scanned ?? this.engine.parse(src.text);
      this.parsed.push({ job, parsed: p });
      const declarations = scanned ? scanned.declarations : this.engine.declarations(p as ParsedFile, job.rel);
      out.push({ rel: job.rel, crateIdx: job.crateIdx, ok: true, declarations, text: src.text, lines: countLines(src.text) });
    }
    return out;
  }

  async analyze(crates: CrateJob[]): Promise<AnalysedFile[]> {
    const out: AnalysedFile[] = [];
    for (const { job, parsed } of this.parsed) {
      const c = crates.find((x) => x.crateIdx === job.crateIdx)!;
      // One file the engine fails on must not stop the check of the others.
      try {
        out.push({ crateIdx: job.crateIdx, analysis: this.engine.analyzeFile(parsed, job.rel, c.index, c.options) });
      } catch (e) {
        const analysis: FileAnalysis = { file: job.rel, acquisitions: [], findings: [], functions: [], syntaxErrors: 0 };
        out.push({ crateIdx: job.crateIdx, analysis, error: e instanceof Error ? e.message : String(e) });
      }
      if (this.freeTrees && 'dispose' in parsed) parsed.dispose();
    }
    this.parsed.length = 0;
    return out;
  }

  async close(): Promise<void> {
    for (const p of this.parsed) if ('dispose' in p.parsed) p.parsed.dispose();
    this.parsed.length = 0;
  }
}

/** Below this many files, worker start-up costs more than it saves. */
const PARALLEL_MIN_FILES = 48;

async function openShards(jobs: FileJob[], opts: CheckOptions): Promise<Array<{ shard: Shard; jobs: FileJob[] }>> {
  // Each worker starts its own tree-sitter runtime and receives the crate index: on two cores
  // that costs more than the second core gives back (BENCHMARKS.md), so parallelism starts at three.
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  const threads = opts.threads ?? (cores <= 2 ? 1 : Math.min(4, cores - 1));
  if (threads <= 1 || jobs.length < PARALLEL_MIN_FILES || !WorkerShard.available()) {
    return [{ shard: new LocalShard(await getEngine(), !opts.oneShot), jobs }];
  }
  // Balance by size: largest files first, each to the least loaded shard.
  const sizes = jobs.map((j) => {
    try {
      return fs.statSync(j.abs).size;
    } catch {
      return 0;
    }
  });
  const order = jobs.map((_, i) => i).sort((a, b) => sizes[b] - sizes[a]);
  const buckets = Array.from({ length: threads }, () => ({ jobs: [] as FileJob[], load: 0 }));
  for (const i of order) {
    const b = buckets.reduce((min, x) => (x.load < min.load ? x : min));
    b.jobs.push(jobs[i]);
    b.load += sizes[i] + 2048;
  }
  // This thread takes the first share itself: one tree-sitter runtime fewer to start, and no
  // thread sits idle waiting for the others.
  const local = new LocalShard(await getEngine(), !opts.oneShot);
  return buckets.filter((b) => b.jobs.length > 0).map((b, i) => ({ shard: i === 0 ? local : new WorkerShard(), jobs: b.jobs }));
}

export function countLines(text: string): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
