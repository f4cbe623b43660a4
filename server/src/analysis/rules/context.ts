// What every rule receives: the facts of one function plus file-level context, all read-only.

import type { EngineOptions } from '../api';
import type { FunctionFacts } from '../functions';
import { lastRelease } from '../regions';
import type { Acquisition, Finding, Position, Range, RuleId, Severity } from '../model';
import type { Node } from '../syntax';

export interface RuleContext {
  file: string;
  text: string;
  /** Line terminator used by the file, so fixes keep it. */
  eol: '\n' | '\r\n';
  options: EngineOptions;
  fn: FunctionFacts;
  root: Node;
}

export interface Rule {
  id: RuleId;
  defaultSeverity: Severity;
  check(ctx: RuleContext): Finding[];
}

/** `Catalog.load (read)` */
export function lockLabel(a: Acquisition): string {
  const flavor = a.lockType.flavor === 'std' || a.lockType.flavor === 'unknown' ? '' : `${a.lockType.flavor} `;
  const mode = a.mode === 'mutex' ? `${flavor}${a.lockType.kind === 'dashmap' ? 'DashMap shard' : 'mutex'}` : `${flavor}${a.mode}`;
  return `\`${a.lock}\` (${mode.trim()})`;
}

export function lineOf(p: Position): number {
  return p.line + 1;
}

/** How a message names a place. A cached result that moved rewrites these (cache.ts shiftResult). */
export function at(p: Position): string {
  return `line ${p.line + 1}`;
}

/** What `at` writes, found in a message. Global: use with `replace`. */
export const QUOTED_LINE = /\bline (\d+)\b/g;

/** The last release rustc performs on the normal path (not an early exit). */
export function finalRelease(a: Acquisition) {
  return lastRelease(a.releases) ?? a.releases[0];
}

export function describeRelease(a: Acquisition): string {
  const r = finalRelease(a);
  if (!r) return 'never released in this function';
  return `released at ${at(r.position)} (${r.reason})`;
}

export function indentOfLine(text: string, line: number): string {
  const start = lineStart(text, line);
  const m = /^[ \t]*/.exec(text.slice(start));
  return m ? m[0] : '';
}

export function lineStart(text: string, line: number): number {
  let idx = 0;
  for (let l = 0; l < line; l++) {
    const nl = text.indexOf('\n', idx);
    if (nl < 0) return text.length;
    idx = nl + 1;
  }
  return idx;
}

export function rangeText(text: string, r: Range): string {
  return text.slice(offsetOf(text, r.start), offsetOf(text, r.end));
}

export function offsetOf(text: string, p: Position): number {
  return lineStart(text, p.line) + p.column;
}

export function makeFinding(rule: RuleId, severity: Severity, file: string, range: Range, message: string, extra: Partial<Finding> = {}): Finding {
  return { rule, severity, file, range, message, related: [], fixes: [], acquisitions: [], ...extra };
}
