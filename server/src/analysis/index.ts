// Engine entry point. Plain data in, plain data out; the only resource is the tree-sitter
// runtime (wasm), owned by the Engine and by each ParsedFile until disposed.

import type { CrateIndex, EngineOptions, FileAnalysis, FileDeclarations, FunctionDecl, FunctionSummary } from './api';
import { collectDeclarations, ItemCache, modulePathForFile, sameRange, shiftDeclarations } from './declarations';
import { analyzeFunctionItem, fileText, needsTree, offsetAt, readBody, summarize, type FileText, type FunctionSite } from './functions';
import { codeMarkingLiterals, LITERAL_FILL } from './lexical';
import { scanDeclarations } from './itemscan';
import { declarationsStillAt, FunctionResultCache, fnv1a, indexHash, inheritDeclarationsHash } from './cache';
import type { Acquisition, Edition, Finding, RuleId, Severity } from './model';
import { ParserHost, type ParsedFile, type ParserHostOptions, type PartialTrees, type TextSpan, type TreeEdit } from './parser';
import { CrateView } from './resolve';
import { FUNCTION_RULES } from './rules';
import { applySuppressions } from './suppress';
import { rangeOf, walk, type Node } from './syntax';

export * from './model';
export * from './api';
export type { ParsedFile, TreeEdit } from './parser';
export { modulePathForFile } from './declarations';
export { RULES, RULE_IDS, ruleInfo } from './rules/catalog';

export interface EngineInit extends ParserHostOptions {
  /**
   * Keep per-function results for the next analysis of the same file (default true). An editor
   * re-analyses files as they change; a one-shot check never asks twice, so it saves the keys.
   */
  reuseResults?: boolean;
}

export async function createEngine(opts: EngineInit): Promise<Engine> {
  return new Engine(await ParserHost.create(opts), opts.reuseResults ?? true);
}

/**
 * A file read for a one-shot analysis without a syntax tree: its declarations come from the
 * text, and `analyzeFile` parses only the functions it has to look into.
 */
export interface ScannedFile {
  readonly text: string;
  /** The text with comments blanked and literals filled (codeMarkingLiterals). */
  readonly code: string;
  readonly declarations: FileDeclarations;
}

function isScanned(f: ParsedFile | ScannedFile): f is ScannedFile {
  return (f as ScannedFile).code !== undefined;
}

/**
 * Where a declared function is; its tree looked up when first needed, so that a scanned file is
 * parsed only where the analysis looks. A class: one is made per function of every file checked.
 */
class LazySite implements FunctionSite {
  private tree: { root: Node; item?: Node } | undefined;

  constructor(
    readonly decl: FunctionDecl,
    readonly bodyStart: number,
    readonly bodyEnd: number,
    private readonly treeFor: (d: FunctionDecl) => { root: Node; item?: Node },
    private readonly itemIn: (root: Node, d: FunctionDecl) => Node | null,
  ) {}

  node(): Node {
    const tree = (this.tree ??= this.treeFor(this.decl));
    return (tree.item ??= this.itemIn(tree.root, this.decl)!);
  }

  get root(): Node {
    return (this.tree ??= this.treeFor(this.decl)).root;
  }
}

/** A scanned function's tree is not the item its text read as (only in broken text). */
class TreeDisagrees extends Error {}

export function buildCrateIndex(edition: Edition, files: FileDeclarations[]): CrateIndex {
  return { edition, files };
}

const views = new WeakMap<CrateIndex, Map<string, CrateView>>();

function viewFor(index: CrateIndex, options: EngineOptions): CrateView {
  const key = (options.lockWrappers ?? []).join(',');
  let byKey = views.get(index);
  if (!byKey) {
    byKey = new Map();
    views.set(index, byKey);
  }
  let v = byKey.get(key);
  if (!v) {
    v = new CrateView(index, options.lockWrappers);
    byKey.set(key, v);
  }
  return v;
}

export class Engine {
  /** Results of unchanged functions are reused across edits (see cache.ts). */
  private readonly functionCache = new FunctionResultCache();
  /** Per file: declarations of its unchanged top-level items, reused when it is collected again. */
  private readonly itemCaches = new Map<string, ItemCache>();

  constructor(
    private readonly host: ParserHost,
    private readonly reuseResults = true,
  ) {}

  parse(text: string, previous?: ParsedFile, edits?: TreeEdit[]): ParsedFile {
    return this.host.parse(text, previous, edits);
  }

  /**
   * What the file declares. With `previous`, the declarations of the text before `edits` (the
   * edits `parsed` was re-parsed with), edits that stay inside one function body only move
   * positions, and nothing is collected again.
   */
  declarations(parsed: ParsedFile, file: string, previous?: { declarations: FileDeclarations; edits: readonly TreeEdit[] }): FileDeclarations {
    if (previous && previous.declarations.file === file && previous.edits.length > 0) {
      const shifted = shiftDeclarations(previous.declarations, previous.edits, parsed.tree.rootNode);
      if (shifted) {
        inheritDeclarationsHash(previous.declarations, shifted);
        return shifted;
      }
    }
    return collectDeclarations(parsed.tree.rootNode, file, parsed.text, this.itemCacheFor(file));
  }

  /**
   * The file read without parsing it, for a one-shot `analyzeFile`; undefined when its text is
   * not a plain list of items (then parse it). An editor keeps trees and uses `parse`.
   */
  scan(text: string, file: string): ScannedFile | undefined {
    const code = text.includes(LITERAL_FILL) ? undefined : codeMarkingLiterals(text);
    const declarations = code === undefined ? undefined : scanDeclarations(text, file, code);
    return declarations && { text, code: code!, declarations };
  }

  private itemCacheFor(file: string): ItemCache | undefined {
    if (!this.reuseResults) return undefined;
    let cache = this.itemCaches.get(file);
    if (!cache) {
      cache = new ItemCache();
      this.itemCaches.set(file, cache);
    }
    return cache;
  }

  analyzeFile(source: ParsedFile, file: string, index: CrateIndex, options: EngineOptions): FileAnalysis;
  analyzeFile(source: ParsedFile | ScannedFile, file: string, index: CrateIndex, options: EngineOptions): FileAnalysis;
  analyzeFile(source: ParsedFile | ScannedFile, file: string, index: CrateIndex, options: EngineOptions): FileAnalysis {
    if (!isScanned(source)) return this.analyzeSource(source, undefined, file, index, options);
    const partial = this.host.partial(source.text);
    try {
      return this.analyzeSource(source, partial, file, index, options);
    } catch (e) {
      if (!(e instanceof TreeDisagrees)) throw e;
    } finally {
      partial.dispose();
    }
    // Broken text can read as items one way and parse another: then the whole file, the usual way.
    const parsed = this.host.parse(source.text);
    try {
      const decls = collectDeclarations(parsed.tree.rootNode, file, source.text);
      return this.analyzeSource(parsed, undefined, file, { ...index, files: index.files.map((f) => (f.file === file ? decls : f)) }, options);
    } finally {
      parsed.dispose();
    }
  }

  private analyzeSource(parsed: ParsedFile | ScannedFile, partial: PartialTrees | undefined, file: string, index: CrateIndex, options: EngineOptions): FileAnalysis {
    const wholeRoot = partial ? undefined : (parsed as ParsedFile).tree.rootNode;
    const decls = index.files.find((f) => f.file === file) ?? (isScanned(parsed) ? parsed.declarations : collectDeclarations(wholeRoot!, file, parsed.text));
    const viewIndex = index.files.includes(decls) ? index : { ...index, files: [...index.files, decls] };
    const view = viewFor(viewIndex, options);
    const eol = parsed.text.includes('\r\n') ? '\r\n' : '\n';
    const ft = fileText(parsed.text, (source) => this.host.parse(source));
    // An editor's results are kept and moved with their functions: their calls are found at once.
    ft.lazyCalls = !this.reuseResults;
    const spanOf = (d: FunctionDecl): TextSpan => ({
      startIndex: offsetAt(ft, d.range.start.line, d.range.start.column),
      endIndex: offsetAt(ft, d.range.end.line, d.range.end.column),
      startPosition: { row: d.range.start.line, column: d.range.start.column },
      endPosition: { row: d.range.end.line, column: d.range.end.column },
    });
    if (partial && isScanned(parsed)) {
      ft.code = parsed.code.replaceAll(LITERAL_FILL, ' ');
      ft.markedCode = parsed.code;
      const bodies = (ft.bodies = new Map());
      const wantsTree = (d: FunctionDecl) => {
        const from = offsetAt(ft, d.bodyRange!.start.line, d.bodyRange!.start.column);
        const to = offsetAt(ft, d.bodyRange!.end.line, d.bodyRange!.end.column);
        const body = readBody(ft.code!.slice(from, to), view, d, parsed.code.slice(from, to), from);
        bodies.set(from, body);
        return needsTree(body);
      };
      partial.prepare(decls.functions.filter((d) => d.bodyRange && wantsTree(d)).map(spanOf));
    }
    const itemIn = (root: Node, d: FunctionDecl) => root.descendantForPosition({ row: d.range.start.line, column: d.range.start.column }, { row: d.range.end.line, column: d.range.end.column });
    /** The tree holding `d`, and for a scanned file its node, checked: it must parse as the item the text said it was, body and all. */
    const treeFor = (d: FunctionDecl): { root: Node; item?: Node } => {
      if (!partial) return { root: wholeRoot! };
      const root = partial.rootFor(spanOf(d));
      const item = itemIn(root, d);
      const body = item?.type === 'function_item' ? item.childForFieldName('body') : null;
      if (!item || !body || !sameRange(rangeOf(item), d.range) || !d.bodyRange || !sameRange(rangeOf(body), d.bodyRange)) throw new TreeDisagrees();
      return { root, item };
    };
    // Everything a function's result depends on besides its own text and place.
    const context = this.reuseResults ? `${file}|${indexHash(index)}|${fnv1a(JSON.stringify(options))}|${eol.length}` : undefined;
    const acquisitions: Acquisition[] = [];
    const summaries: FunctionSummary[] = [];
    let findings: Finding[] = [];
    for (const d of decls.functions) {
      const key = context === undefined ? undefined : resultKey(context, d, ft);
      let result = key === undefined ? undefined : this.functionCache.get(key, d.range.start.line, file);
      if (result && !declarationsStillAt(result, viewIndex)) result = undefined;
      if (!result) {
        if (!d.bodyRange) continue;
        const site = new LazySite(d, offsetAt(ft, d.bodyRange.start.line, d.bodyRange.start.column), offsetAt(ft, d.bodyRange.end.line, d.bodyRange.end.column), treeFor, itemIn);
        result = { acquisitions: [], findings: [], summaries: [] };
        for (const fn of analyzeFunctionItem(site, decls, view, options.edition, ft)) {
          result.acquisitions.push(...fn.acquisitions);
          result.summaries.push(summarize(fn, file));
          // Every rule looks at guards: a function that takes none has nothing to report.
          if (fn.acquisitions.length === 0) continue;
          for (const rule of FUNCTION_RULES) {
            const sev = severityFor(rule.id, rule.defaultSeverity, options);
            if (sev === 'off') continue;
            for (const f of rule.check({ file, text: parsed.text, eol, options, fn, root: site.root })) {
              // A rule may pick a lower severity for a weaker form (read-read); overrides replace both.
              f.severity = options.severities?.[rule.id] && options.severities[rule.id] !== 'off' ? (options.severities[rule.id] as Severity) : f.severity;
              result.findings.push(f);
            }
          }
        }
        if (key !== undefined) this.functionCache.set(key, d.range.start.line, result);
      }
      acquisitions.push(...result.acquisitions);
      summaries.push(...result.summaries);
      findings.push(...result.findings);
    }
    findings = applySuppressions(dedupe(findings), parsed.text);
    let firstSyntaxError: FileAnalysis['firstSyntaxError'];
    const syntaxErrors = partial ? partial.syntaxErrors : (parsed as ParsedFile).syntaxErrors;
    if (syntaxErrors > 0) {
      for (const r of partial ? partial.roots() : [wholeRoot!]) {
        walk(r, (n) => {
          if (firstSyntaxError) return false;
          if (n.type === 'ERROR' || n.isMissing) {
            firstSyntaxError = rangeOf(n);
            return false;
          }
          return n.hasError ? undefined : false;
        });
      }
    }
    return {
      file,
      acquisitions,
      findings,
      functions: summaries,
      syntaxErrors,
      firstSyntaxError,
    };
  }

  dispose(): void {
    this.host.dispose();
  }
}

export function severityFor(rule: RuleId, fallback: Severity, options: EngineOptions): Severity | 'off' {
  return options.severities?.[rule] ?? fallback;
}

/** A function's cache key: its own text covers its signature; where it sits (impl, trait) is in the names. */
function resultKey(context: string, d: FunctionDecl, ft: FileText): string {
  const start = offsetAt(ft, d.range.start.line, d.range.start.column);
  const end = offsetAt(ft, d.range.end.line, d.range.end.column);
  return `${context}|${d.qualifiedName}|${d.selfType ?? ''}|${d.traitName ?? ''}|${d.range.start.column}|${fnv1a(ft.text.slice(start, end))}|${end - start}`;
}

/** The same finding reported twice (a rule reaching it from two acquisitions): keep the first. */
function dedupe(findings: Finding[]): Finding[] {
  // Keyed by place first: messages are long, and most places have one finding.
  const seen = new Map<string, string[]>();
  return findings.filter((f) => {
    const k = `${f.rule}|${f.range.start.line}:${f.range.start.column}`;
    const messages = seen.get(k);
    if (!messages) {
      seen.set(k, [f.message]);
      return true;
    }
    if (messages.includes(f.message)) return false;
    messages.push(f.message);
    return true;
  });
}

export { collectDeclarations };
export { modulePathForFile as modulePath };
