// Pure conversions from the engine's plain data (FileAnalysis) to LSP structures:
// diagnostics, hover text, highlights, inlay hints, code lenses, code actions and guard
// regions. No connection, no I/O: everything here is unit-testable on plain values.

import { positionAfterEdit } from '../analysis/declarations';
import { isSuppressed } from '../analysis/suppress';
import {
  CodeAction,
  CodeActionKind,
  Diagnostic,
  DiagnosticRelatedInformation,
  DiagnosticSeverity,
  DiagnosticTag,
  DocumentHighlight,
  DocumentHighlightKind,
  InlayHint,
  InlayHintKind,
  MarkupKind,
  Position,
  Range,
  TextEdit,
} from 'vscode-languageserver';
import type { FileAnalysis } from '../analysis/api';
import type { Acquisition, Finding, Position as EnginePosition, Range as EngineRange, Severity } from '../analysis/model';
import type { GuardRegion } from '../../../common/protocol';
import type { SeveritySetting } from '../../../common/settings';
import type { TreeEditLike } from './host';

export function toPosition(p: EnginePosition): Position {
  return { line: p.line, character: p.column };
}

export function toRange(r: EngineRange): Range {
  return { start: toPosition(r.start), end: toPosition(r.end) };
}

function compare(a: Position, b: Position): number {
  return a.line !== b.line ? a.line - b.line : a.character - b.character;
}

/** Inclusive at both ends, so a cursor just after a word still counts as on it. */
export function rangeContains(range: Range, p: Position): boolean {
  return compare(range.start, p) <= 0 && compare(p, range.end) <= 0;
}

export function rangesIntersect(a: Range, b: Range): boolean {
  return compare(a.start, b.end) <= 0 && compare(b.start, a.end) <= 0;
}

function rangeSize(r: Range): number {
  return (r.end.line - r.start.line) * 100000 + (r.end.character - r.start.character);
}

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

export interface DiagnosticContext {
  /** URI of an engine file key, when it can be resolved. */
  uriOf(file: string): string | undefined;
  /** Documentation link for a rule. */
  docHref(rule: string): string | undefined;
  /** The user's severity setting for a rule (`default` keeps the engine's). */
  severityOf(rule: string): SeveritySetting;
}

/** Splits text into lines without their terminators. */
export function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

/** The engine's rule for allow comments, also applied to findings from the lock graph and runtime. */
export { isSuppressed };

/**
 * Converted diagnostics by finding. The engine hands back the same finding objects for every
 * function it did not re-analyse, so on an edit only the edited function's findings are
 * converted again; the entry also records what else the conversion read (severity, link,
 * related URIs), and is rebuilt when that differs. Findings are never mutated after they are
 * reported, and the diagnostics handed out are shared: callers must not mutate them either.
 */
export class DiagnosticCache {
  private readonly entries = new WeakMap<Finding, { rule: string; severity: string; related: string; diagnostic: Diagnostic | undefined }>();

  /** `ruleKey`: what the context says about the finding's rule (see `ruleKeyOf`). */
  get(finding: Finding, ctx: DiagnosticContext, ruleKey = ruleKeyOf(finding.rule, ctx)): Diagnostic | undefined {
    const related = finding.related && finding.related.length > 0 ? finding.related.map((r) => ctx.uriOf(r.file) ?? '').join('\u0000') : '';
    const hit = this.entries.get(finding);
    if (hit && hit.rule === ruleKey && hit.severity === finding.severity && hit.related === related) return hit.diagnostic;
    const diagnostic = findingToDiagnostic(finding, ctx);
    this.entries.set(finding, { rule: ruleKey, severity: finding.severity, related, diagnostic });
    return diagnostic;
  }
}

/** The severity setting and documentation link of a rule: what a conversion reads of the context besides URIs. */
function ruleKeyOf(rule: string, ctx: DiagnosticContext): string {
  return `${rule}\u0000${ctx.severityOf(rule)}\u0000${ctx.docHref(rule) ?? ''}`;
}

export function findingToDiagnostic(finding: Finding, ctx: DiagnosticContext): Diagnostic | undefined {
  const setting = ctx.severityOf(finding.rule);
  if (setting === 'off') return undefined;
  const severity = setting === 'default' ? SEVERITY[finding.severity] ?? DiagnosticSeverity.Warning : SEVERITY[setting];
  // No `data`: a code action finds its finding again by rule and range (see diagnosticEntries),
  // so nothing is sent that the server can recompute.
  const diagnostic: Diagnostic = {
    range: toRange(finding.range),
    severity,
    code: finding.rule,
    source: 'locklens',
    message: finding.message,
  };
  const href = ctx.docHref(finding.rule);
  if (href) diagnostic.codeDescription = { href };
  const related: DiagnosticRelatedInformation[] = [];
  for (const r of finding.related ?? []) {
    const uri = ctx.uriOf(r.file);
    if (uri) related.push({ location: { uri, range: toRange(r.range) }, message: r.message });
  }
  if (related.length > 0) diagnostic.relatedInformation = related;
  const tags: DiagnosticTag[] = [];
  if (finding.tags?.includes('unnecessary')) tags.push(DiagnosticTag.Unnecessary);
  if (finding.tags?.includes('deprecated')) tags.push(DiagnosticTag.Deprecated);
  if (tags.length > 0) diagnostic.tags = tags;
  return diagnostic;
}

/**
 * The findings of one file that are not suppressed by an allow comment, each with its
 * diagnostic (`cache`: reuse the conversions of findings seen before).
 */
export function diagnosticEntries(analysis: FileAnalysis, text: string, ctx: DiagnosticContext, extra: readonly Finding[] = [], cache?: DiagnosticCache): Array<{ finding: Finding; diagnostic: Diagnostic }> {
  const out: Array<{ finding: Finding; diagnostic: Diagnostic }> = [];
  eachDiagnostic(analysis, text, ctx, extra, cache, (finding, diagnostic) => out.push({ finding, diagnostic }));
  return out;
}

/** Diagnostics for the findings of one file that are not suppressed by an allow comment. */
export function diagnosticsFor(analysis: FileAnalysis, text: string, ctx: DiagnosticContext, extra: readonly Finding[] = [], cache?: DiagnosticCache): Diagnostic[] {
  const out: Diagnostic[] = [];
  eachDiagnostic(analysis, text, ctx, extra, cache, (_, diagnostic) => out.push(diagnostic));
  return out;
}

function eachDiagnostic(analysis: FileAnalysis, text: string, ctx: DiagnosticContext, extra: readonly Finding[], cache: DiagnosticCache | undefined, emit: (finding: Finding, diagnostic: Diagnostic) => void): void {
  const lines = text.includes('locklens:') ? splitLines(text) : undefined;
  const ruleKeys = new Map<string, string>();
  const add = (finding: Finding) => {
    if (finding.file !== analysis.file) return;
    if (lines && isSuppressed(finding, lines)) return;
    let diagnostic: Diagnostic | undefined;
    if (cache) {
      let ruleKey = ruleKeys.get(finding.rule);
      if (ruleKey === undefined) ruleKeys.set(finding.rule, (ruleKey = ruleKeyOf(finding.rule, ctx)));
      diagnostic = cache.get(finding, ctx, ruleKey);
    } else {
      diagnostic = findingToDiagnostic(finding, ctx);
    }
    if (diagnostic) emit(finding, diagnostic);
  };
  for (const finding of analysis.findings) add(finding);
  for (const finding of extra) add(finding);
}

/** Where a position ends up after tree-sitter edits (one inside a replaced span goes to its start). */
export function positionAfterEdits(p: EnginePosition, edits: readonly TreeEditLike[]): EnginePosition {
  let q = p;
  for (const e of edits) q = positionAfterEdit(q, e);
  return q.line === p.line && q.column === p.column ? p : q;
}

function rangeAfterEdits(r: EngineRange, edits: readonly TreeEditLike[]): EngineRange {
  const start = positionAfterEdits(r.start, edits);
  const end = positionAfterEdits(r.end, edits);
  return start === r.start && end === r.end ? r : { start, end };
}

/**
 * A finding of an earlier text moved with the edits made since (its range and the related
 * locations in the same file), for publishing it with the new text until it is recomputed.
 */
export function findingAfterEdits(f: Finding, edits: readonly TreeEditLike[]): Finding {
  const range = rangeAfterEdits(f.range, edits);
  let moved = range !== f.range;
  const related = (f.related ?? []).map((r) => {
    if (r.file !== f.file) return r;
    const rr = rangeAfterEdits(r.range, edits);
    if (rr === r.range) return r;
    moved = true;
    return { ...r, range: rr };
  });
  return moved ? { ...f, range, related } : f;
}

/** The identifier under the cursor, with its range. */
export function wordAt(lines: readonly string[], p: Position): { word: string; range: Range } | undefined {
  const line = lines[p.line];
  if (line === undefined) return undefined;
  const isWord = (ch: string | undefined) => ch !== undefined && /[A-Za-z0-9_]/.test(ch);
  let start = Math.min(p.character, line.length);
  let end = start;
  while (start > 0 && isWord(line[start - 1])) start--;
  while (end < line.length && isWord(line[end])) end++;
  if (start === end) return undefined;
  return { word: line.slice(start, end), range: { start: { line: p.line, character: start }, end: { line: p.line, character: end } } };
}

/**
 * The acquisition the cursor is on: the acquisition expression itself (innermost), the
 * guard binding, or a use of the guard variable inside its held region.
 */
export function acquisitionAt(analysis: FileAnalysis, lines: readonly string[], p: Position): Acquisition | undefined {
  const onExpression = analysis.acquisitions
    .filter((a) => rangeContains(toRange(a.range), p))
    .sort((a, b) => rangeSize(toRange(a.range)) - rangeSize(toRange(b.range)));
  if (onExpression.length > 0) return onExpression[0];
  for (const a of analysis.acquisitions) {
    if ((a.holder.kind === 'binding' || a.holder.kind === 'underscore') && rangeContains(toRange(a.holder.range), p)) return a;
  }
  const word = wordAt(lines, p);
  if (!word) return undefined;
  let best: Acquisition | undefined;
  for (const a of analysis.acquisitions) {
    const name = a.holder.kind === 'binding' ? a.holder.name : a.holder.kind === 'extended' ? a.holder.name : undefined;
    if (name !== word.word) continue;
    if (!a.held.some((h) => rangeContains(toRange(h), p))) continue;
    // Shadowing: the latest binding of that name whose region covers the cursor wins.
    if (!best || compare(toPosition(a.range.start), toPosition(best.range.start)) > 0) best = a;
  }
  return best;
}

const MODE_TEXT: Record<string, string> = {
  mutex: 'exclusive (mutex)',
  read: 'shared (read)',
  write: 'exclusive (write)',
  upgradable: 'upgradable read',
  reentrant: 'reentrant',
};

const KIND_TYPE: Record<string, string> = {
  mutex: 'Mutex',
  rwlock: 'RwLock',
  'reentrant-mutex': 'ReentrantMutex',
  'fair-mutex': 'FairMutex',
  dashmap: 'DashMap',
  condvar: 'Condvar',
};

function lineCol(p: EnginePosition): string {
  return `${p.line + 1}:${p.column + 1}`;
}

/**
 * Escapes what would change the rendering of plain text in Markdown, leaving `code spans`
 * (which the engine uses for identifiers in its explanations) untouched.
 */
function escapeMarkdown(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/[\\*_[\]<>|#]/g, (c) => `\\${c}`)))
    .join('');
}

function code(text: string): string {
  const ticks = text.includes('`') ? '``' : '`';
  return `${ticks}${text.replace(/\r?\n\s*/g, ' ')}${ticks}`;
}

function holderText(a: Acquisition): string {
  switch (a.holder.kind) {
    case 'binding':
      return `bound to ${code(a.holder.name)}`;
    case 'underscore':
      return 'bound to `_` (dropped immediately)';
    case 'temporary':
      return 'a temporary';
    case 'extended':
      return a.holder.name ? `a temporary extended to the block of ${code(a.holder.name)}` : 'a lifetime-extended temporary';
    case 'returned':
      return 'returned / moved out of the function';
    case 'discarded':
      return 'discarded within the expression';
  }
}

export interface HoverContext {
  edition: string;
  /** Where the edition comes from, e.g. `Cargo.toml` or `locklens.edition`. */
  editionSource: string;
}

export function hoverMarkdown(a: Acquisition, ctx: HoverContext): string {
  const type = `${a.lockType.flavor === 'unknown' ? '' : `${a.lockType.flavor}::`}${KIND_TYPE[a.lockType.kind] ?? a.lockType.kind}`;
  const out: string[] = [];
  out.push(`**${code(a.lock)}** — ${MODE_TEXT[a.mode] ?? a.mode} guard of a ${code(type)}${a.lockType.async ? ' (async)' : ''}`);
  out.push('');
  const call = a.receiverText ? `${a.receiverText}.${a.method}()` : `${a.method}()`;
  const how = `${code(call)}${a.isTry ? ' (try: may fail without blocking)' : ''}${a.certainty === 'likely' ? ' (a lock inferred from the method name)' : ''}`;
  out.push(`Acquired at ${lineCol(a.range.start)} by ${how} in ${code(a.functionName)}; the guard is ${holderText(a)}.`);
  if (a.scrutinee) {
    out.push('');
    out.push(
      `Created in the head of this ${code(a.scrutinee.construct.replace('-', ' '))}: the guard lives until the end of the whole construct` +
        (a.scrutinee.elseRange ? ', including the `else` branch' : '') +
        '.' +
        (a.scrutinee.edition2024Differs ? ' Edition 2024 would drop it earlier.' : ''),
    );
  }
  if (a.releases.length > 0) {
    out.push('');
    out.push('Released:');
    for (const r of a.releases) out.push(`- ${lineCol(r.position)} — ${escapeMarkdown(r.reason)} (${r.kind})`);
  }
  if (a.held.length > 0) {
    const spans = a.held.map((h) => (h.start.line === h.end.line ? `line ${h.start.line + 1}` : `lines ${h.start.line + 1}–${h.end.line + 1}`));
    out.push('');
    out.push(`Held on ${spans.join(', ')}.`);
  }
  out.push('');
  out.push(`Edition ${ctx.edition} (${escapeMarkdown(ctx.editionSource)}).${a.lockType.poisons ? ' A panic while this guard is held poisons the lock.' : ''}`);
  return out.join('\n');
}

export function hoverFor(a: Acquisition, ctx: HoverContext) {
  return { contents: { kind: MarkupKind.Markdown, value: hoverMarkdown(a, ctx) }, range: toRange(a.range) };
}

/** A one-character range at a release point (zero-width at the end of a line). */
function pointRange(lines: readonly string[], p: EnginePosition): Range {
  const line = lines[p.line] ?? '';
  const end = p.column < line.length ? p.column + 1 : p.column;
  return { start: { line: p.line, character: p.column }, end: { line: p.line, character: end } };
}

export function highlightsFor(a: Acquisition, lines: readonly string[]): DocumentHighlight[] {
  const out: DocumentHighlight[] = [{ range: toRange(a.range), kind: DocumentHighlightKind.Write }];
  if (a.holder.kind === 'binding') {
    out.push({ range: toRange(a.holder.range), kind: DocumentHighlightKind.Text });
    // Uses of the guard variable while it is alive.
    const pattern = new RegExp(`(?<![A-Za-z0-9_])${a.holder.name.replace(/[^A-Za-z0-9_]/g, '')}(?![A-Za-z0-9_])`, 'g');
    const seen = new Set<string>();
    for (const held of a.held) {
      for (let line = held.start.line; line <= held.end.line; line++) {
        const text = lines[line] ?? '';
        for (const m of text.matchAll(pattern)) {
          const start = m.index ?? 0;
          const range: Range = { start: { line, character: start }, end: { line, character: start + m[0].length } };
          if (!rangeContains(toRange(held), range.start)) continue;
          if (rangesIntersect(range, toRange(a.holder.range)) || rangesIntersect(range, toRange(a.range))) continue;
          const key = `${line}:${start}`;
          if (seen.has(key)) continue;
          seen.add(key);
          out.push({ range, kind: DocumentHighlightKind.Read });
        }
      }
    }
  }
  for (const r of a.releases) out.push({ range: pointRange(lines, r.position), kind: DocumentHighlightKind.Text });
  return out;
}

/** Inlay hints at release points: `Catalog.load released`, merged when several guards drop at one point. */
export function inlayHintsFor(analysis: FileAnalysis, range: Range): InlayHint[] {
  const byPosition = new Map<string, { position: Position; labels: string[]; reasons: string[] }>();
  for (const a of analysis.acquisitions) {
    const oneLine = a.held.every((h) => h.start.line === a.range.start.line && h.end.line === a.range.start.line);
    for (const r of a.releases) {
      // A temporary dropped on the line it was created on needs no hint.
      if (oneLine && r.position.line === a.range.start.line) continue;
      const position = toPosition(r.position);
      if (!rangeContains(range, position)) continue;
      const key = `${position.line}:${position.character}`;
      const entry = byPosition.get(key) ?? { position, labels: [], reasons: [] };
      const label = r.kind === 'moved' ? `${a.lock} guard moved` : `${a.lock} released`;
      if (!entry.labels.includes(label)) entry.labels.push(label);
      entry.reasons.push(`${a.lock} (${a.mode}, acquired at ${lineCol(a.range.start)}): ${r.reason}`);
      byPosition.set(key, entry);
    }
  }
  return [...byPosition.values()]
    .sort((x, y) => compare(x.position, y.position))
    .map((e) => ({
      position: e.position,
      label: e.labels.join(', '),
      kind: InlayHintKind.Parameter,
      paddingLeft: true,
      paddingRight: true,
      tooltip: { kind: MarkupKind.Markdown, value: e.reasons.map((r) => `- ${escapeMarkdown(r)}`).join('\n') },
    }));
}

export function guardRegionsOf(analysis: FileAnalysis): GuardRegion[] {
  return analysis.acquisitions.map((a) => ({
    id: a.id,
    lock: a.lock,
    mode: a.mode,
    flavor: a.lockType.flavor,
    kind: a.lockType.kind,
    async: a.lockType.async,
    method: a.method,
    certainty: a.certainty,
    functionName: a.functionName,
    acquisition: toRange(a.range),
    held: a.held.map(toRange),
    releases: a.releases.map((r) => ({ position: toPosition(r.position), kind: r.kind, reason: r.reason })),
    holder: a.holder.kind === 'binding' || a.holder.kind === 'extended' ? { kind: a.holder.kind, name: a.holder.name } : { kind: a.holder.kind },
  }));
}

/** Line terminator used by the given line, falling back to the document's first one. */
export function eolAt(text: string, line: number): string {
  let offset = 0;
  for (let i = 0; i < line; i++) {
    const next = text.indexOf('\n', offset);
    if (next === -1) break;
    offset = next + 1;
  }
  const end = text.indexOf('\n', offset);
  if (end !== -1) return end > 0 && text[end - 1] === '\r' ? '\r\n' : '\n';
  const first = text.indexOf('\n');
  return first > 0 && text[first - 1] === '\r' ? '\r\n' : '\n';
}

/**
 * The edit that silences `rule` on `line`: extends an allow comment directly above, or
 * inserts `// locklens: allow(rule)` above with the line's indentation and line ending.
 */
export function suppressionEdit(text: string, line: number, rule: string): TextEdit {
  const lines = splitLines(text);
  const above = line > 0 ? lines[line - 1] : undefined;
  const existing = above === undefined ? null : /^(\s*\/\/\s*locklens:\s*allow\()([^)]*)(\).*)$/.exec(above);
  if (existing && above !== undefined) {
    const rules = existing[2].split(',').map((s) => s.trim()).filter(Boolean);
    if (!rules.includes(rule)) rules.push(rule);
    return TextEdit.replace(
      { start: { line: line - 1, character: 0 }, end: { line: line - 1, character: above.length } },
      `${existing[1]}${rules.join(', ')}${existing[3]}`,
    );
  }
  const indent = /^\s*/.exec(lines[line] ?? '')?.[0] ?? '';
  return TextEdit.insert({ line, character: 0 }, `${indent}// locklens: allow(${rule})${eolAt(text, line)}`);
}

export interface CodeActionContextData {
  uri: string;
  text: string;
  uriOf(file: string): string | undefined;
}

/** Quick fixes for one finding: the engine's fixes first, then the allow comment. */
export function codeActionsFor(finding: Finding, diagnostic: Diagnostic | undefined, ctx: CodeActionContextData): CodeAction[] {
  const out: CodeAction[] = [];
  for (const fix of finding.fixes ?? []) {
    const changes: Record<string, TextEdit[]> = {};
    let ok = true;
    for (const edit of fix.edits) {
      const uri = ctx.uriOf(edit.file);
      if (!uri) {
        ok = false;
        break;
      }
      (changes[uri] ??= []).push(TextEdit.replace(toRange(edit.range), edit.newText));
    }
    if (!ok || fix.edits.length === 0) continue;
    out.push({
      title: fix.title,
      kind: CodeActionKind.QuickFix,
      isPreferred: fix.isPreferred,
      diagnostics: diagnostic ? [diagnostic] : undefined,
      edit: { changes },
    });
  }
  out.push({
    title: `Allow ${finding.rule} here (// locklens: allow(${finding.rule}))`,
    kind: CodeActionKind.QuickFix,
    isPreferred: false,
    diagnostics: diagnostic ? [diagnostic] : undefined,
    edit: { changes: { [ctx.uri]: [suppressionEdit(ctx.text, finding.range.start.line, finding.rule)] } },
  });
  return out;
}
