// Runs the engine over every crate of a workspace: read, parse, collect declarations, index,
// analyse. Shared by the CLI and the language server's initial indexing.

import * as path from 'path';
import { buildCrateIndex, createEngine, type Engine, type EngineOptions, type FileAnalysis, type FileDeclarations, type ParsedFile } from '../analysis';
import type { Edition, Finding } from '../analysis/model';
import type { CrateInfo, WorkspaceModel } from './discover';
import { readSource } from './source';
import { locateWasm } from './wasm';

export interface CheckOptions {
  edition?: Edition;
  maxFileBytes?: number;
  /** Called after each file is analysed (progress reporting). */
  onFile?: (done: number, total: number) => void;
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
}

let sharedEngine: Promise<Engine> | undefined;

/** One engine (one wasm runtime) per process. */
export function getEngine(): Promise<Engine> {
  sharedEngine ??= createEngine(locateWasm());
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
  const engine = await getEngine();
  const result: CheckResult = { base: model.base, crates: [], messages: [...model.messages], findings: [], stats: { files: 0, lines: 0, bytes: 0 } };
  const total = model.crates.reduce((n, c) => n + c.files.length, 0);
  let done = 0;
  for (const crate of model.crates) {
    const edition = opts.edition ?? crate.edition;
    const parsed: Array<{ rel: string; parsed: ParsedFile }> = [];
    const declarations: FileDeclarations[] = [];
    const texts = new Map<string, string>();
    try {
      for (const file of crate.files) {
        const rel = relativeFile(model.base, file);
        const src = readSource(file, opts.maxFileBytes);
        if (!src.ok) {
          result.messages.push(`warning: ${rel}: ${src.reason}`);
          opts.onFile?.(++done, total);
          continue;
        }
        result.stats.files++;
        result.stats.bytes += src.text.length;
        result.stats.lines += countLines(src.text);
        texts.set(rel, src.text);
        const p = engine.parse(src.text);
        parsed.push({ rel, parsed: p });
        declarations.push(engine.declarations(p, rel));
      }
      const index = buildCrateIndex(edition, declarations);
      const options = engineOptionsFor(crate, edition);
      const files: FileAnalysis[] = [];
      for (const { rel, parsed: p } of parsed) {
        const analysis = engine.analyzeFile(p, rel, index, options);
        if (analysis.syntaxErrors > 0) {
          const at = analysis.firstSyntaxError ? `:${analysis.firstSyntaxError.start.line + 1}:${analysis.firstSyntaxError.start.column + 1}` : '';
          result.messages.push(`note: ${rel}${at}: the file has ${analysis.syntaxErrors} syntax error${analysis.syntaxErrors > 1 ? 's' : ''}; analysed the parts that parse`);
        }
        files.push(analysis);
        result.findings.push(...analysis.findings);
        opts.onFile?.(++done, total);
      }
      result.crates.push({ crate, files, declarations, options, texts });
    } finally {
      for (const p of parsed) p.parsed.dispose();
    }
  }
  return result;
}

function countLines(text: string): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
