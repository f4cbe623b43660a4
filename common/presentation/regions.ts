// What the guard-region decorations should show, computed from `locklens/guardRegions`
// results as plain data (the extension turns it into VS Code decorations).

import type { GuardRegion } from '../protocol';
import type { DecorationStyle } from '../settings';

export interface PlainPosition {
  line: number;
  character: number;
}

export interface PlainRange {
  start: PlainPosition;
  end: PlainPosition;
}

export interface DecorationPlan {
  /** Held ranges per lock class (background tint), overlapping ranges of one class merged. */
  tint: Map<string, PlainRange[]>;
  /** One zero-width range per held line and class (gutter bar). */
  gutter: Map<string, PlainRange[]>;
  /** The held ranges of the region under the cursor, by class (stronger highlight). */
  active: Map<string, PlainRange[]>;
}

function cmp(a: PlainPosition, b: PlainPosition): number {
  return a.line !== b.line ? a.line - b.line : a.character - b.character;
}

function contains(r: PlainRange, p: PlainPosition): boolean {
  return cmp(r.start, p) <= 0 && cmp(p, r.end) <= 0;
}

function span(r: GuardRegion): number {
  return r.held.reduce((n, h) => n + (h.end.line - h.start.line) * 10000 + (h.end.character - h.start.character), 0);
}

/** Sorts and merges overlapping or touching ranges. */
export function mergeRanges(ranges: readonly PlainRange[]): PlainRange[] {
  const sorted = [...ranges].sort((a, b) => cmp(a.start, b.start) || cmp(a.end, b.end));
  const out: PlainRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && cmp(r.start, last.end) <= 0) {
      if (cmp(r.end, last.end) > 0) last.end = { ...r.end };
    } else {
      out.push({ start: { ...r.start }, end: { ...r.end } });
    }
  }
  return out;
}

/** The innermost region whose acquisition or held range contains the cursor. */
export function activeRegion(regions: readonly GuardRegion[], cursor: PlainPosition | undefined): GuardRegion | undefined {
  if (!cursor) return undefined;
  let best: GuardRegion | undefined;
  for (const r of regions) {
    if (!contains(r.acquisition, cursor) && !r.held.some((h) => contains(h, cursor))) continue;
    if (!best || span(r) < span(best)) best = r;
  }
  return best;
}

export function planDecorations(regions: readonly GuardRegion[], cursor: PlainPosition | undefined, style: DecorationStyle): DecorationPlan {
  const plan: DecorationPlan = { tint: new Map(), gutter: new Map(), active: new Map() };
  if (style === 'off') return plan;
  const byClass = new Map<string, PlainRange[]>();
  for (const r of regions) {
    const list = byClass.get(r.lock) ?? [];
    list.push(...r.held.filter((h) => cmp(h.start, h.end) < 0));
    byClass.set(r.lock, list);
  }
  for (const [lock, ranges] of byClass) {
    const merged = mergeRanges(ranges);
    if (merged.length === 0) continue;
    if (style === 'tint+gutter' || style === 'tint') plan.tint.set(lock, merged);
    if (style === 'tint+gutter' || style === 'gutter') {
      const lines = new Set<number>();
      for (const r of merged) for (let l = r.start.line; l <= r.end.line; l++) lines.add(l);
      plan.gutter.set(
        lock,
        [...lines].sort((a, b) => a - b).map((line) => ({ start: { line, character: 0 }, end: { line, character: 0 } })),
      );
    }
  }
  const active = activeRegion(regions, cursor);
  if (active) plan.active.set(active.lock, mergeRanges(active.held));
  return plan;
}
