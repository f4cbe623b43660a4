// A scripted test double of the engine and workspace discovery, to test the language
// server's plumbing (sync, caching, publication, conversions, requests) independently of
// the real tree-sitter engine. It recognises only the textual shape
//   [let [mut] NAME =] self.FIELD.(lock|read|write)()[.unwrap()]
// inside `impl TYPE { fn NAME(..) { .. } }` and reports:
//   - poison-unwrap on `.unwrap()` (fix: `.unwrap_or_else(|e| e.into_inner())`),
//   - double-lock when a class is locked again while a guard of it is alive in the function;
// releases are at the closing `}` of the binding's block (or the `;` for temporaries).
// It also records every parse so tests can check incremental edits and tree disposal.

import * as fs from 'fs';
import * as path from 'path';
import { parse as parseToml } from 'smol-toml';
import type { CrateIndex, EngineOptions, FileAnalysis, FileDeclarations, FunctionSummary, CallSite } from '../../server/src/analysis/api';
import type { Acquisition, Edition, Finding, Position, Range } from '../../server/src/analysis/model';
import type { CrateInfo, EngineLike, ParsedFileLike, ServerHost, TreeEditLike, WorkspaceInfo } from '../../server/src/lsp/host';

export interface ParseRecord {
  incremental: boolean;
  edits: TreeEditLike[];
  previousText?: string;
  text: string;
}

export class FakeEngine implements EngineLike {
  readonly parses: ParseRecord[] = [];
  live = 0;
  analyses: Array<{ file: string; options: EngineOptions; index: CrateIndex }> = [];

  parse(text: string, previous?: ParsedFileLike, edits?: TreeEditLike[]): ParsedFileLike {
    this.parses.push({ incremental: !!previous && !!edits && edits.length > 0, edits: edits ?? [], previousText: previous?.text, text });
    this.live++;
    let disposed = false;
    return {
      text,
      tree: { kind: 'fake-tree' },
      syntaxErrors: 0,
      dispose: () => {
        if (disposed) throw new Error('tree disposed twice');
        disposed = true;
        this.live--;
      },
    };
  }

  declarations(parsed: ParsedFileLike, file: string): FileDeclarations {
    const functions = scanFunctions(parsed.text).map((f) => ({
      qualifiedName: f.qualifiedName,
      name: f.name,
      selfType: f.selfType,
      params: [],
      isAsync: false,
      file,
      range: f.range,
      nameRange: f.nameRange,
      modulePath: 'crate',
      lockPath: undefined,
    }));
    return { file, structs: [], statics: [], functions, imports: {}, modulePath: 'crate' };
  }

  analyzeFile(parsed: ParsedFileLike, file: string, index: CrateIndex, options: EngineOptions): FileAnalysis {
    this.analyses.push({ file, options, index });
    return analyze(parsed.text, file, options);
  }
}

class Lines {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') this.starts.push(i + 1);
  }
  at(offset: number): Position {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, column: offset - this.starts[lo] };
  }
  range(start: number, end: number): Range {
    return { start: this.at(start), end: this.at(end) };
  }
}

function matchingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return i;
  }
  return text.length;
}

/** The `}` closing the innermost block that contains `offset`. */
function enclosingClose(text: string, offset: number): number {
  let depth = 0;
  for (let i = offset; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}') {
      if (depth === 0) return i;
      depth--;
    }
  }
  return text.length;
}

interface ScannedFunction {
  name: string;
  qualifiedName: string;
  selfType?: string;
  start: number;
  bodyStart: number;
  bodyEnd: number;
  range: Range;
  nameRange: Range;
}

function scanFunctions(text: string): ScannedFunction[] {
  const lines = new Lines(text);
  const impls: Array<{ type: string; start: number; end: number }> = [];
  for (const m of text.matchAll(/impl\s+(\w+)\s*\{/g)) {
    const open = (m.index ?? 0) + m[0].length - 1;
    impls.push({ type: m[1], start: open, end: matchingBrace(text, open) });
  }
  const out: ScannedFunction[] = [];
  for (const m of text.matchAll(/fn\s+(\w+)\s*\(/g)) {
    const start = m.index ?? 0;
    const nameStart = start + m[0].indexOf(m[1]);
    const bodyStart = text.indexOf('{', start);
    if (bodyStart === -1) continue;
    const bodyEnd = matchingBrace(text, bodyStart);
    const impl = impls.find((i) => i.start < start && start < i.end);
    out.push({
      name: m[1],
      qualifiedName: impl ? `${impl.type}::${m[1]}` : m[1],
      selfType: impl?.type,
      start,
      bodyStart,
      bodyEnd,
      range: lines.range(start, bodyEnd + 1),
      nameRange: lines.range(nameStart, nameStart + m[1].length),
    });
  }
  return out;
}

function analyze(text: string, file: string, options: EngineOptions): FileAnalysis {
  const lines = new Lines(text);
  const functions = scanFunctions(text);
  const acquisitions: Acquisition[] = [];
  const findings: Finding[] = [];
  const severity = (rule: Finding['rule'], fallback: Finding['severity']) => {
    const s = options.severities?.[rule];
    return s === undefined ? fallback : s;
  };
  const pattern = /(let\s+(mut\s+)?(\w+)\s*=\s*)?self\.(\w+)\.(lock|read|write)\(\)(\.unwrap\(\))?/g;
  for (const m of text.matchAll(pattern)) {
    const start = m.index ?? 0;
    const exprStart = start + (m[1]?.length ?? 0);
    const callEnd = exprStart + `self.${m[4]}.${m[5]}()`.length;
    const exprEnd = start + m[0].length;
    const fn = functions.find((f) => f.bodyStart < start && start < f.bodyEnd);
    if (!fn) continue;
    const bound = m[3] !== undefined;
    const releaseAt = bound ? enclosingClose(text, exprEnd) : text.indexOf(';', exprEnd);
    const pos = lines.at(exprStart);
    const a: Acquisition = {
      id: `${file}:${pos.line + 1}:${pos.column + 1}`,
      file,
      lock: `${fn.selfType ?? 'crate'}.${m[4]}`,
      lockType: { flavor: 'std', kind: m[5] === 'lock' ? 'mutex' : 'rwlock', async: false, poisons: true },
      mode: m[5] === 'lock' ? 'mutex' : m[5] === 'read' ? 'read' : 'write',
      method: m[5],
      isTry: false,
      certainty: 'certain',
      range: lines.range(exprStart, exprEnd),
      callRange: lines.range(exprStart, callEnd),
      receiverText: `self.${m[4]}`,
      functionName: fn.qualifiedName,
      holder: bound
        ? { kind: 'binding', name: m[3], range: lines.range(start + m[1].indexOf(m[3]), start + m[1].indexOf(m[3]) + m[3].length), mutable: !!m[2] }
        : { kind: 'temporary' },
      releases: [
        {
          position: lines.at(releaseAt),
          kind: bound ? 'scope-end' : 'statement-end',
          reason: bound ? `\`${m[3]}\` goes out of scope at the end of its block` : 'the temporary guard is dropped at the end of the statement',
        },
      ],
      held: [lines.range(exprStart, releaseAt)],
      ...(m[6] ? { unwrap: { method: 'unwrap' as const, range: lines.range(callEnd, exprEnd) } } : {}),
    };
    acquisitions.push(a);
    if (m[6]) {
      const s = severity('poison-unwrap', 'warning');
      if (s !== 'off') {
        findings.push({
          rule: 'poison-unwrap',
          severity: s,
          file,
          range: lines.range(callEnd + 1, exprEnd),
          message: `\`unwrap()\` panics if \`${a.lock}\` is poisoned`,
          related: [],
          fixes: [
            {
              title: 'Recover the guard from a poisoned lock',
              isPreferred: true,
              edits: [{ file, range: lines.range(callEnd, exprEnd), newText: '.unwrap_or_else(|e| e.into_inner())' }],
            },
          ],
          acquisitions: [a.id],
        });
      }
    }
  }
  // double-lock: a class re-acquired while one of its guards is alive in the same function.
  for (const b of acquisitions) {
    const first = acquisitions.find(
      (a) => a !== b && a.lock === b.lock && a.functionName === b.functionName && before(a.range.start, b.range.start) && inside(a.held[0], b.range.start),
    );
    const s = severity('double-lock', 'error');
    if (first && s !== 'off') {
      findings.push({
        rule: 'double-lock',
        severity: s,
        file,
        range: b.callRange,
        message: `\`${b.lock}\` is locked again while the guard from line ${first.range.start.line + 1} is alive: this deadlocks`,
        related: [{ file, range: first.range, message: `\`${first.lock}\` first acquired here` }],
        fixes: [],
        acquisitions: [first.id, b.id],
      });
    }
  }
  const summaries: FunctionSummary[] = functions.map((fn) => {
    const own = acquisitions.filter((a) => a.functionName === fn.qualifiedName);
    const calls: CallSite[] = [];
    for (const m of text.slice(fn.bodyStart, fn.bodyEnd).matchAll(/self\.(\w+)\(/g)) {
      const at = fn.bodyStart + (m.index ?? 0);
      const range = lines.range(at, at + m[0].length);
      calls.push({
        calleeText: `self.${m[1]}`,
        name: m[1],
        receiverText: 'self',
        range,
        heldGuards: own.filter((a) => before(a.range.start, range.start) && inside(a.held[0], range.start)).map((a) => a.id),
      });
    }
    return { qualifiedName: fn.qualifiedName, file, range: fn.range, nameRange: fn.nameRange, acquisitions: own.map((a) => a.id), calls };
  });
  return { file, acquisitions, findings, functions: summaries, syntaxErrors: 0 };
}

function before(a: Position, b: Position): boolean {
  return a.line < b.line || (a.line === b.line && a.column < b.column);
}

function inside(r: Range, p: Position): boolean {
  return !before(p, r.start) && !before(r.end, p);
}

function rustFiles(dir: string): string[] {
  const out: string[] = [];
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...rustFiles(p));
    else if (entry.name.endsWith('.rs')) out.push(p);
  }
  return out.sort();
}

/** Cargo.toml-based discovery: every directory with a `[package]` Cargo.toml is a crate. */
export async function fakeDiscoverWorkspace(root: string): Promise<WorkspaceInfo> {
  const crates: CrateInfo[] = [];
  const messages: string[] = [];
  const walk = (dir: string) => {
    const manifest = path.join(dir, 'Cargo.toml');
    if (fs.existsSync(manifest)) {
      try {
        const toml = parseToml(fs.readFileSync(manifest, 'utf8')) as Record<string, any>;
        if (toml.package) {
          crates.push({
            name: String(toml.package.name),
            root: dir,
            edition: (toml.package.edition ?? '2015') as Edition,
            files: rustFiles(path.join(dir, 'src')),
            dependencies: Object.keys(toml.dependencies ?? {}),
            config: toml.package.metadata?.locklens ?? {},
          });
        }
      } catch (err) {
        messages.push(`${manifest}: ${(err as Error).message}`);
      }
    }
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory() && entry.name !== 'target' && entry.name !== 'node_modules' && !entry.name.startsWith('.')) walk(path.join(dir, entry.name));
    }
  };
  walk(root);
  return { root, crates, messages };
}

export function fakeHost(engine = new FakeEngine(), overrides: Partial<ServerHost> = {}): ServerHost & { engine: FakeEngine } {
  return {
    engine,
    createEngine: async () => engine,
    discoverWorkspace: (root) => fakeDiscoverWorkspace(root),
    buildCrateIndex: (edition, files) => ({ edition, files }),
    readFile: (p) => fs.promises.readFile(p, 'utf8'),
    ...overrides,
  };
}
